/**
 * QEMU command lines for the lab's VMs, built purely from a VmPlan: network boot first (the first
 * NIC has bootindex 1, the disk 2), the serial console into a file, no display, no monitor.
 *  - BIOS: e1000 with QEMU's iPXE option ROM (SeaBIOS has no PXE stack of its own); with
 *    netboot.chainload the netboot server hands it undionly.kpxe over TFTP first.
 *  - UEFI: OVMF and virtio-net without an option ROM, so OVMF's own PXE client boots, as on a
 *    UEFI server: TFTP snponly.efi, then iPXE fetches the script over HTTP. IPv6 PXE is off so
 *    it does not wait for IPv6 answers first.
 */
import type { VmPlan } from './plan.js';

export const QEMU = 'qemu-system-x86_64';

export type Accel = 'kvm' | 'tcg';

export interface OvmfFiles {
  code: string;
  vars: string;
}

/** OVMF firmware pairs Debian ships, in order of preference. */
export const OVMF_CANDIDATES: readonly OvmfFiles[] = [
  { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
];

function nicArgs(vm: VmPlan): string[] {
  const args: string[] = [];
  vm.nics.forEach((nic, j) => {
    args.push('-netdev', `tap,id=n${j},ifname=${nic.tap},script=no,downscript=no`);
    const model = vm.firmware === 'uefi' ? 'virtio-net-pci' : 'e1000';
    // Only the boot NIC keeps an option ROM on BIOS; on UEFI OVMF's own drivers boot.
    const rom = vm.firmware === 'uefi' || !nic.boot ? ',romfile=' : '';
    args.push('-device', `${model},netdev=n${j},mac=${nic.mac}${rom}${nic.boot ? ',bootindex=1' : ''}`);
  });
  return args;
}

function diskArgs(vm: VmPlan): string[] {
  const d = vm.disk;
  const args = ['-drive', `file=${d.file},format=qcow2,if=none,id=d0,discard=unmap`];
  if (d.bus === 'scsi') {
    args.push('-device', 'virtio-scsi-pci,id=scsi0');
    args.push('-device', `scsi-hd,drive=d0,bus=scsi0.0,bootindex=2${d.rotational === false ? ',rotation_rate=1' : ''}`);
  } else if (d.bus === 'virtio') {
    args.push('-device', 'virtio-blk-pci,drive=d0,bootindex=2');
  } else if (d.bus === 'nvme') {
    args.push('-device', `nvme,drive=d0,serial=${vm.name.slice(0, 20)},bootindex=2`);
  } else {
    args.push('-device', 'ide-hd,drive=d0,bus=ide.0,bootindex=2');
  }
  return args;
}

/** The full argv (argv[0] is the binary) of one VM. */
export function qemuArgv(vm: VmPlan, accel: Accel, ovmf?: OvmfFiles): string[] {
  for (const p of [vm.console, vm.disk.file, vm.vars ?? '']) {
    // QEMU splits option values at commas.
    if (p.includes(',')) throw new Error(`lab path ${p} contains a comma, which QEMU options cannot carry`);
  }
  const argv = [QEMU, '-name', `guest=${vm.name}`, '-machine', `pc,accel=${accel}`];
  argv.push('-smp', String(vm.cpus), '-m', String(vm.memoryMiB));
  argv.push('-display', 'none', '-monitor', 'none', '-serial', `file:${vm.console}`);
  if (vm.firmware === 'uefi') {
    if (!ovmf || !vm.vars) throw new Error(`VM ${vm.name}: UEFI needs the OVMF firmware files`);
    argv.push('-drive', `if=pflash,format=raw,readonly=on,file=${ovmf.code}`, '-drive', `if=pflash,format=raw,file=${vm.vars}`);
    argv.push('-fw_cfg', 'name=opt/org.tianocore/IPv6Support,string=n');
  }
  argv.push(...nicArgs(vm), ...diskArgs(vm));
  return argv;
}

/**
 * argv of the probe that checks an accelerator can run a real guest: SeaBIOS starts, finds nothing
 * to boot and, with -no-reboot and reboot-timeout=0, QEMU exits with status 0. Under TCG that takes
 * a fraction of a second; a KVM that hangs or crawls (nested, unsupported MSRs) does not finish.
 */
export function probeArgv(accel: Accel): string[] {
  return [QEMU, '-machine', `pc,accel=${accel}`, '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-m', '64', '-no-reboot', '-boot', 'reboot-timeout=0'];
}
