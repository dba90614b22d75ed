/**
 * The QEMU boot payload, built once into the git-ignored cache .cache/netboot-payload/:
 * Debian's cloud kernel (apt-get download + dpkg-deb -x) and a tiny busybox-static initramfs
 * whose /init prints a marker with /proc/cmdline and powers off.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { run, which } from '../helpers/netns.js';

export const PAYLOAD_DIR = path.join(ROOT, '.cache', 'netboot-payload');
export const MARKER = 'HEARTH-NETBOOT-OK';

const INIT = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys 2>/dev/null
FW=BIOS; [ -d /sys/firmware/efi ] && FW=UEFI
echo "${MARKER} fw=$FW cmdline: $(/bin/busybox cat /proc/cmdline)"
/bin/busybox poweroff -f
`;

/** Why the payload cannot be built here, or undefined. */
export function payloadUnavailable(): string | undefined {
  for (const b of ['apt-get', 'apt-cache', 'dpkg-deb', 'cpio', 'gzip']) if (!which(b)) return `${b} is not installed`;
  if (!existsSync('/bin/busybox')) return 'busybox-static is not installed (/bin/busybox)';
  return undefined;
}

/**
 * Downloads Debian's current cloud kernel package (apt-get download) and unpacks it into `work`;
 * returns the unpacked tree (boot/vmlinuz-*, lib/modules/*).
 */
export async function extractKernelPackage(work: string): Promise<string> {
  const dep = await run(['apt-cache', 'depends', 'linux-image-cloud-amd64']);
  const pkg = /Depends: (linux-image-[0-9][^\s]*-cloud-amd64)\b/.exec(dep.stdout)?.[1];
  if (!pkg) throw new Error(`cannot find Debian's cloud kernel package (apt-cache depends linux-image-cloud-amd64): ${dep.stderr || dep.stdout}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const dl = await run(['sh', '-c', `cd '${work}' && apt-get download ${pkg}`], { timeoutMs: 300_000 });
  if (dl.code !== 0) throw new Error(`apt-get download ${pkg}: ${dl.stderr}`);
  const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
  const x = await run(['dpkg-deb', '-x', path.join(work, deb), path.join(work, 'x')], { timeoutMs: 120_000 });
  if (x.code !== 0) throw new Error(`dpkg-deb -x: ${x.stderr}`);
  return path.join(work, 'x');
}

/** Copies the unpacked package's kernel to `kernel` (atomically). */
export async function copyKernel(unpacked: string, kernel: string): Promise<void> {
  const boot = path.join(unpacked, 'boot');
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error('no vmlinuz in the kernel package');
  copyFileSync(path.join(boot, vmlinuz), `${kernel}.tmp`);
  renameSync(`${kernel}.tmp`, kernel);
}

/** A fresh initramfs tree at `root`: busybox-static as /bin/busybox and `init` as /init. */
export function newInitRoot(root: string, init: string): void {
  rmSync(root, { recursive: true, force: true });
  for (const d of ['bin', 'proc', 'sys', 'dev']) mkdirSync(path.join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
  chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  writeFileSync(path.join(root, 'init'), init, { mode: 0o755 });
}

/** Packs `root` into a gzip'ed newc cpio at `initrd` (atomically), then removes `root`. */
export async function packInitrd(root: string, initrd: string): Promise<void> {
  const c = await run(['sh', '-c', `cd '${root}' && find . | cpio -o -H newc --quiet | gzip -9 > '${initrd}.tmp' && mv '${initrd}.tmp' '${initrd}'`], { timeoutMs: 60_000 });
  if (c.code !== 0) throw new Error(`building the initramfs: ${c.stderr}`);
  rmSync(root, { recursive: true, force: true });
}

/** Builds (or reuses) the payload; returns the directory with vmlinuz and initrd. */
export async function buildPayload(): Promise<{ dir: string; kernel: string; initrd: string }> {
  const dir = PAYLOAD_DIR;
  const kernel = path.join(dir, 'vmlinuz');
  const initrd = path.join(dir, 'initrd');
  if (existsSync(kernel) && existsSync(initrd)) return { dir, kernel, initrd };
  mkdirSync(dir, { recursive: true });
  if (!existsSync(kernel)) {
    const work = path.join(dir, 'deb.tmp');
    const x = await extractKernelPackage(work);
    await copyKernel(x, kernel);
    rmSync(work, { recursive: true, force: true });
  }
  const root = path.join(dir, 'initroot');
  newInitRoot(root, INIT);
  await packInitrd(root, initrd);
  return { dir, kernel, initrd };
}
