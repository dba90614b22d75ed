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

/** Builds (or reuses) the payload; returns the directory with vmlinuz and initrd. */
export async function buildPayload(): Promise<{ dir: string; kernel: string; initrd: string }> {
  const dir = PAYLOAD_DIR;
  const kernel = path.join(dir, 'vmlinuz');
  const initrd = path.join(dir, 'initrd');
  if (existsSync(kernel) && existsSync(initrd)) return { dir, kernel, initrd };
  mkdirSync(dir, { recursive: true });
  if (!existsSync(kernel)) {
    const dep = await run(['apt-cache', 'depends', 'linux-image-cloud-amd64']);
    const pkg = /Depends: (linux-image-[0-9][^\s]*-cloud-amd64)\b/.exec(dep.stdout)?.[1];
    if (!pkg) throw new Error(`cannot find Debian's cloud kernel package (apt-cache depends linux-image-cloud-amd64): ${dep.stderr || dep.stdout}`);
    const work = path.join(dir, 'deb.tmp');
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    const dl = await run(['sh', '-c', `cd '${work}' && apt-get download ${pkg}`], { timeoutMs: 300_000 });
    if (dl.code !== 0) throw new Error(`apt-get download ${pkg}: ${dl.stderr}`);
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
    const x = await run(['dpkg-deb', '-x', path.join(work, deb), path.join(work, 'x')], { timeoutMs: 120_000 });
    if (x.code !== 0) throw new Error(`dpkg-deb -x: ${x.stderr}`);
    const boot = path.join(work, 'x', 'boot');
    const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error('no vmlinuz in the kernel package');
    copyFileSync(path.join(boot, vmlinuz), `${kernel}.tmp`);
    renameSync(`${kernel}.tmp`, kernel);
    rmSync(work, { recursive: true, force: true });
  }
  const root = path.join(dir, 'initroot');
  rmSync(root, { recursive: true, force: true });
  for (const d of ['bin', 'proc', 'sys', 'dev']) mkdirSync(path.join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
  chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  writeFileSync(path.join(root, 'init'), INIT, { mode: 0o755 });
  const c = await run(['sh', '-c', `cd '${root}' && find . | cpio -o -H newc --quiet | gzip -9 > '${initrd}.tmp' && mv '${initrd}.tmp' '${initrd}'`], { timeoutMs: 60_000 });
  if (c.code !== 0) throw new Error(`building the initramfs: ${c.stderr}`);
  rmSync(root, { recursive: true, force: true });
  return { dir, kernel, initrd };
}
