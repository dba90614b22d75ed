/**
 * The QEMU side of the network-boot tests (not a test file): the firmware kinds, the command line
 * that boots one VM from the network on a tap, and the spec those tests serve. TCG only, never KVM.
 */
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';
export const HAVE_OVMF = existsSync(OVMF_CODE) && existsSync(OVMF_VARS);
/** Kernel arguments the payload prints back with its marker. */
export const ARGS = ['console=ttyS0,115200', 'panic=-1', 'quiet', 'hearth.e2e=spec-args-ok'];

export type Firmware = 'bios' | 'uefi-ipxe' | 'uefi-pxe' | 'uefi-http';

/** qemu-system-x86_64's argv for a VM that boots from the network on `tap` (UEFI vars copied into `tmp`). */
export function qemuArgv(vm: { name: string; mac: string; tap: string; firmware: Firmware }, tmp: string): string[] {
  const argv = ['qemu-system-x86_64', '-m', '512', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-boot', 'n'];
  const net = `-netdev tap,id=n0,ifname=${vm.tap},script=no,downscript=no`.split(' ');
  if (vm.firmware !== 'bios') {
    const vars = path.join(tmp, `${vm.name}-vars.fd`);
    copyFileSync(OVMF_VARS, vars);
    argv.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${vars}`);
  }
  if (vm.firmware === 'uefi-http') {
    // OVMF's native HTTP boot; without these knobs it first spends ~2 minutes failing PXE.
    argv.push('-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=n', '-fw_cfg', 'name=opt/org.tianocore/IPv6Support,string=n');
    argv.push(...net, '-device', `virtio-net-pci,netdev=n0,mac=${vm.mac},romfile=`);
  } else if (vm.firmware === 'uefi-pxe') {
    argv.push('-fw_cfg', 'name=opt/org.tianocore/IPv6Support,string=n');
    argv.push(...net, '-device', `virtio-net-pci,netdev=n0,mac=${vm.mac},romfile=`);
  } else {
    argv.push(...net, '-device', `e1000,netdev=n0,mac=${vm.mac}`);
  }
  return argv;
}

/** The spec the QEMU tests serve on br0 (192.0.2.1): one controlplane machine per MAC, vm1, vm2 ... */
export function specYaml(payload: string, mode: 'full' | 'proxy', chainload: boolean, macs: string[]): string {
  return `apiVersion: hearth.dev/v1alpha1
kind: Cluster
metadata: { name: e2e }
talos: { version: v1.13.9 }
cluster: { endpoint: https://192.0.2.10:6443 }
platform: { bundle: paas-hosted }
netboot:
  interface: br0
  address: 192.0.2.1
  dhcp: { mode: ${mode}, range: 192.0.2.100-192.0.2.150, router: 192.0.2.1, dns: [192.0.2.1], leaseTime: 10m }
  assets: ${payload}
  kernel: vmlinuz
  initrd: [initrd]
  kernelArgs: ${JSON.stringify(ARGS)}
  chainload: ${chainload}
machines:
${macs.map((m, i) => `  - { name: vm${i + 1}, role: controlplane, mac: "${m}", address: 192.0.2.${11 + i}/24, interface: eth0, installDisk: /dev/sda }`).join('\n')}
`;
}
