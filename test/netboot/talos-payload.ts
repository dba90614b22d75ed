/**
 * The QEMU payload of the zero-touch config test, built once into .cache/netboot-payload-talos/:
 * Debian's cloud kernel with its virtio-net modules and a busybox initramfs whose /init brings the
 * NIC up (udhcpc), fetches the talos.config URL from its kernel command line twice and prints what
 * it got (`CONFIG-SHA256 <hex>` for a served config); a machine without talos.config= tries its own
 * MAC and the MAC named by hearth.e2e.claim=. Also a disk image whose boot sector prints
 * LOCAL_DISK_MARKER on the serial port and ends QEMU (isa-debug-exit), to show a local boot.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { copyKernel, extractKernelPackage, newInitRoot, packInitrd } from './payload.js';

export const TALOS_PAYLOAD_DIR = path.join(ROOT, '.cache', 'netboot-payload-talos');
export const DONE_MARKER = 'HEARTH-CONFIG-TEST-DONE';
export const LOCAL_DISK_MARKER = 'HEARTH-LOCAL-DISK-OK';
/** The isa-debug-exit port the boot sector writes to (QEMU then exits with status 1). */
export const DEBUG_EXIT_PORT = 0xf4;

/** Loaded in this order: the cloud kernel has virtio and virtio-net as modules. */
const MODULES = ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'failover', 'net_failover', 'virtio_net'];

const UDHCPC_SCRIPT = `#!/bin/busybox sh
B=/bin/busybox
case "$1" in
  bound|renew)
    $B ifconfig "$interface" "$ip" netmask "\${subnet:-255.255.255.0}" up
    ;;
esac
`;

const INIT = `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mkdir -p /tmp
for m in ${MODULES.join(' ')}; do $B insmod /lib/modules/$m.ko || echo "INSMOD-FAILED $m"; done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do $B sleep 0.2; i=$((i+1)); done
$B ifconfig lo 127.0.0.1 up
$B ifconfig eth0 up
$B udhcpc -i eth0 -n -q -t 10 -T 2 -s /udhcpc.script >/dev/null 2>&1 || echo "UDHCPC-FAILED"
MAC=$($B cat /sys/class/net/eth0/address)
URL=""; SRV=""; CLAIM=""
for w in $($B cat /proc/cmdline); do
  case "$w" in
    talos.config=*) URL="\${w#talos.config=}" ;;
    hearth.e2e.server=*) SRV="\${w#hearth.e2e.server=}" ;;
    hearth.e2e.claim=*) CLAIM="\${w#hearth.e2e.claim=}" ;;
  esac
done
# fetch NAME URL: prints "NAME ok <sha256>" or "NAME refused <wget's error>"
fetch() {
  $B rm -f /tmp/c
  if $B wget -q -O /tmp/c "$2" 2>/tmp/err; then
    echo "$1 ok $($B sha256sum /tmp/c | $B cut -d' ' -f1)"
  else
    echo "$1 refused $($B tr '\\n' ' ' </tmp/err)"
  fi
}
echo "CMDLINE $($B cat /proc/cmdline)"
echo "PAYLOAD mac=$MAC ip=$($B ifconfig eth0 | $B grep -o 'inet addr:[0-9.]*')"
if [ -n "$URL" ]; then
  $B rm -f /tmp/c
  $B wget -q -O /tmp/c "$URL" 2>/tmp/err && echo "CONFIG-SHA256 $($B sha256sum /tmp/c | $B cut -d' ' -f1)"
  fetch CONFIG-FETCH-1-AGAIN "$URL"
else
  echo "NO-TALOS-CONFIG"
  fetch CONFIG-OWN "$SRV/talos/config?mac=$MAC"
  fetch CONFIG-CLAIM "$SRV/talos/config?mac=$CLAIM"
fi
echo "${DONE_MARKER}"
$B poweroff -f
`;

/**
 * A 512-byte MBR (16-bit real mode, position independent): sets the UART at 0x3f8 to 8N1 with
 * DLAB clear, writes the marker to it, then writes 0 to the isa-debug-exit port.
 */
function bootSector(): Buffer {
  const msg = Buffer.from(`\r\n${LOCAL_DISK_MARKER}\r\n\0`, 'latin1');
  const code = [
    0xfa, // cli
    0xfc, // cld
    0x0e, 0x1f, // push cs; pop ds
    0xba, 0xfb, 0x03, 0xb0, 0x03, 0xee, // mov dx,0x3fb; mov al,3; out dx,al  (LCR: 8N1, DLAB=0)
    0xe8, 0x00, 0x00, // call next
    0x5e, // next: pop si
    0x83, 0xc6, 0x00, // add si, msg-next (patched below)
    0xba, 0xf8, 0x03, // mov dx,0x3f8
    0xac, // loop: lodsb
    0x84, 0xc0, // test al,al
    0x74, 0x03, // jz done
    0xee, // out dx,al
    0xeb, 0xf8, // jmp loop
    0xb0, 0x00, // done: mov al,0
    0xe6, DEBUG_EXIT_PORT, // out 0xf4,al
    0xf4, // halt: hlt
    0xeb, 0xfd, // jmp halt
  ];
  const next = code.indexOf(0x5e);
  code[next + 3] = code.length - next;
  const sector = Buffer.alloc(512);
  Buffer.from(code).copy(sector, 0);
  msg.copy(sector, code.length);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** Builds (or reuses) the payload: vmlinuz, initrd and disk.img (1 MiB, the boot sector above). */
export async function buildTalosPayload(): Promise<{ dir: string; disk: string }> {
  const dir = TALOS_PAYLOAD_DIR;
  const kernel = path.join(dir, 'vmlinuz');
  const initrd = path.join(dir, 'initrd');
  const modules = path.join(dir, 'modules');
  const stampFile = path.join(dir, 'initrd.sha256');
  mkdirSync(dir, { recursive: true });
  if (!existsSync(kernel) || !existsSync(path.join(modules, 'virtio_net.ko'))) {
    // The kernel and its modules come from one package: they must match.
    const work = path.join(dir, 'deb.tmp');
    const x = await extractKernelPackage(work);
    rmSync(modules, { recursive: true, force: true });
    mkdirSync(modules);
    const [ver] = readdirSync(path.join(x, 'lib', 'modules'));
    const found = new Map<string, string>();
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name.endsWith('.ko')) found.set(e.name.slice(0, -3), path.join(d, e.name));
      }
    };
    walk(path.join(x, 'lib', 'modules', ver!, 'kernel'));
    for (const m of MODULES) {
      const f = found.get(m);
      if (f) copyFileSync(f, path.join(modules, `${m}.ko`));
    }
    if (!existsSync(path.join(modules, 'virtio_net.ko'))) throw new Error('virtio_net.ko is not in the kernel package');
    await copyKernel(x, kernel);
    rmSync(work, { recursive: true, force: true });
    rmSync(stampFile, { force: true });
  }
  const stamp = createHash('sha256').update(INIT).update(UDHCPC_SCRIPT).update(readdirSync(modules).sort().join(',')).digest('hex');
  if (!existsSync(initrd) || !existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    const root = path.join(dir, 'initroot');
    newInitRoot(root, INIT);
    writeFileSync(path.join(root, 'udhcpc.script'), UDHCPC_SCRIPT, { mode: 0o755 });
    mkdirSync(path.join(root, 'lib', 'modules'), { recursive: true });
    for (const f of readdirSync(modules)) copyFileSync(path.join(modules, f), path.join(root, 'lib', 'modules', f));
    await packInitrd(root, initrd);
    writeFileSync(stampFile, stamp);
  }
  const disk = path.join(dir, 'disk.img');
  const image = Buffer.alloc(1024 * 1024);
  bootSector().copy(image, 0);
  writeFileSync(disk, image);
  return { dir, disk };
}
