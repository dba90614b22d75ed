/**
 * End to end: QEMU VMs (TCG, never KVM) network-boot from the real `hearth netboot serve` inside
 * network namespaces this test creates, and run a payload (Debian's cloud kernel + a busybox
 * initramfs printing a marker with /proc/cmdline). Paths, each in its own namespace with its own
 * server, all VMs at once:
 *   full:      BIOS iPXE ROM -> DHCP -> HTTP boot.ipxe;  UEFI (OVMF) iPXE EFI ROM -> HTTP;
 *              UEFI native PXE (OVMF, virtio) -> TFTP snponly.efi -> iPXE -> HTTP
 *   chainload: BIOS iPXE ROM -> TFTP undionly.kpxe -> chained iPXE -> HTTP (netboot.chainload: true)
 *   proxy:     BIOS iPXE ROM, addresses from a plain dnsmasq (address-only) in another namespace,
 *              boot information from hearth in proxy mode
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { NetnsLab, netnsUnavailable, which, type Netns } from '../helpers/netns.js';
import { hearthArgv, waitForOutput } from './lib.js';
import { MARKER, buildPayload, payloadUnavailable } from './payload.js';
import { ARGS, HAVE_OVMF, qemuArgv, specYaml, type Firmware } from './vm.js';
import type { MachineProgress } from '../../src/netboot/progress/index.js';
import { exited } from '../helpers/within.js';

const VM_TIMEOUT_MS = Number(process.env.HEARTH_E2E_VM_TIMEOUT_MS ?? 240_000);

const skip = (() => {
  const ns = netnsUnavailable();
  if (ns) return ns;
  for (const b of ['qemu-system-x86_64', 'dnsmasq', 'curl']) if (!which(b)) return `${b} is not installed`;
  if (!existsSync('/usr/lib/ipxe/undionly.kpxe')) return 'Debian package ipxe is not installed (/usr/lib/ipxe)';
  if (!existsSync('/usr/lib/ipxe/qemu/efi-e1000.rom')) return 'ipxe-qemu is not installed';
  return payloadUnavailable();
})();
const haveOvmf = HAVE_OVMF;

interface Vm {
  name: string;
  mac: string;
  tap: string;
  firmware: Firmware;
  serial: string;
  code?: number | null;
  proc?: ChildProcess;
  done?: Promise<void>;
}

interface Site {
  ns: Netns;
  dir: string;
  serve: ChildProcess;
  log: () => string;
  vms: Vm[];
}

describe('QEMU network boot from hearth netboot serve', { skip: skip ?? false, timeout: 420_000 }, () => {
  const lab = new NetnsLab('qemu');
  const sites: Record<string, Site> = {};
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hearth-qemu-'));
  let payloadDir = '';

  async function site(key: string, mode: 'full' | 'proxy', chainload: boolean, vms: Omit<Vm, 'tap' | 'serial'>[]): Promise<Site> {
    const ns = await lab.ns(key);
    await lab.bridge(ns, 'br0', '192.0.2.1/24');
    const dir = path.join(tmp, key);
    const full: Vm[] = [];
    for (const [i, v] of vms.entries()) {
      await lab.tap(ns, `tap${i}`, 'br0');
      full.push({ ...v, tap: `tap${i}`, serial: '' });
    }
    if (mode === 'proxy') {
      // The site's own DHCP server: a plain dnsmasq handing out addresses only, in its own namespace.
      const site = await lab.ns(`${key}d`);
      await lab.veth(ns, 'dv0', undefined, site, 'eth0', '192.0.2.2/24');
      await lab.attach(ns, 'dv0', 'br0');
      const d = site.spawn(['dnsmasq', '--no-daemon', '-C', '/dev/null', '--port=0', '--interface=eth0', '--bind-interfaces', '--dhcp-range=192.0.2.160,192.0.2.199,10m', `--dhcp-leasefile=${path.join(tmp, `${key}.leases`)}`, '--dhcp-option=3,192.0.2.1']);
      d.stderr?.resume();
    }
    const specDir = mkdtempSync(path.join(tmp, `${key}-`));
    const specFile = path.join(specDir, 'hearth.yaml');
    writeFileSync(specFile, specYaml(payloadDir, mode, chainload, vms.map((v) => v.mac)));
    const serve = ns.spawn(hearthArgv(['netboot', 'serve', '-f', specFile, '--state', path.join(specDir, 'state')]), { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let log = '';
    serve.stdout?.on('data', (d) => (log += d));
    serve.stderr?.on('data', (d) => (log += d));
    await waitForOutput(() => log, (s) => /serving on br0/.test(s) || serve.exitCode !== null, 30_000, `hearth netboot serve (${key})`);
    assert.ok(serve.exitCode === null, `hearth netboot serve exited: ${log}`);
    const s: Site = { ns, dir, serve, log: () => log, vms: full };
    sites[key] = s;
    return s;
  }

  function boot(s: Site, vm: Vm): void {
    const argv = qemuArgv(vm, tmp);
    const p = s.ns.spawn(['timeout', '-s', 'KILL', String(VM_TIMEOUT_MS / 1000), ...argv]);
    vm.proc = p;
    p.stdout?.on('data', (d) => (vm.serial += d));
    p.stderr?.on('data', (d) => (vm.serial += d));
    vm.done = new Promise((resolve) => p.on('exit', (code, sig) => ((vm.code = code ?? (sig ? `signal ${sig}` as never : null)), resolve())));
  }

  async function machines(s: Site): Promise<MachineProgress[]> {
    // Through the real CLI, inside the namespace.
    const r = await s.ns.exec(hearthArgv(['netboot', 'machines', '--server', 'http://192.0.2.1:8080', '-o', 'json']), { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { machines: MachineProgress[] }).machines;
  }

  before(async () => {
    payloadDir = (await buildPayload()).dir;
    const fullVms: Omit<Vm, 'tap' | 'serial'>[] = [{ name: 'bios-http', mac: '52:54:00:12:34:01', firmware: 'bios' }];
    if (haveOvmf) {
      fullVms.push({ name: 'uefi-ipxe-rom', mac: '52:54:00:12:34:02', firmware: 'uefi-ipxe' });
      fullVms.push({ name: 'uefi-pxe-tftp', mac: '52:54:00:12:34:03', firmware: 'uefi-pxe' });
      fullVms.push({ name: 'uefi-http-boot', mac: '52:54:00:12:34:04', firmware: 'uefi-http' });
    }
    // HEARTH_E2E_ONLY=full,chain,proxy narrows the run while debugging one path.
    const only = process.env.HEARTH_E2E_ONLY?.split(',');
    const want = (k: string) => !only || only.includes(k);
    if (want('full')) await site('full', 'full', false, fullVms);
    if (want('chain')) await site('chain', 'full', true, [{ name: 'bios-chainload', mac: '52:54:00:12:34:11', firmware: 'bios' }]);
    if (want('proxy')) await site('proxy', 'proxy', false, [{ name: 'bios-proxy', mac: '52:54:00:12:34:21', firmware: 'bios' }]);
    for (const s of Object.values(sites)) for (const vm of s.vms) boot(s, vm);
    await Promise.all(Object.values(sites).flatMap((s) => s.vms.map((v) => v.done)));
  });

  after(async () => {
    for (const s of Object.values(sites)) {
      if (s.serve.exitCode === null) s.serve.kill('SIGTERM');
    }
    await lab.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  function assertBooted(vm: Vm, fw: 'BIOS' | 'UEFI') {
    const line = vm.serial.split('\n').find((l) => l.includes(MARKER));
    if (process.env.HEARTH_E2E_DEBUG) console.error(`--- ${vm.name} serial:\n${vm.serial}\n--- server log:\n${Object.values(sites).find((s) => s.vms.includes(vm))?.log()}`);
    assert.ok(line, `${vm.name}: no marker on the serial console (exit ${vm.code}); last output:\n${vm.serial.slice(-2500)}`);
    assert.match(line, new RegExp(`fw=${fw}`));
    for (const a of ARGS) assert.ok(line.includes(a), `${vm.name}: kernel arg ${a} missing from ${line}`);
    if (fw === 'UEFI') assert.ok(line.includes('initrd=initrd'), line);
    assert.equal(vm.code, 0, `${vm.name}: qemu exit ${vm.code}`);
  }

  it('full mode: a BIOS VM boots over DHCP + HTTP, gets its fixed address, and its progress is tracked', async (t) => {
    const s = sites.full;
    if (!s) return t.skip('not selected by HEARTH_E2E_ONLY');
    const vm = s.vms[0]!;
    assertBooted(vm, 'BIOS');
    const m = (await machines(s)).find((x) => x.mac === vm.mac);
    assert.ok(m, 'machine missing from /api/machines');
    assert.equal(m.name, 'vm1');
    assert.equal(m.ip, '192.0.2.11');
    const steps = m.steps.map((x) => x.step);
    for (const st of ['dhcp-ack', 'script', 'kernel', 'initrd']) assert.ok(steps.includes(st as never), `${st} missing: ${steps.join(',')}`);
    const kernel = m.steps.find((x) => x.step === 'kernel')!;
    assert.ok(kernel.bytes! > 1_000_000 && kernel.rate! > 0, JSON.stringify(kernel));
    assert.match(s.log(), /52:54:00:12:34:01 vm1 http-asset-done 192\.0\.2\.11 vmlinuz/);
  });

  it('full mode: UEFI with the iPXE EFI option ROM boots over HTTP', { skip: !haveOvmf && 'ovmf is not installed' }, (t) => {
    if (!sites.full) return t.skip('not selected by HEARTH_E2E_ONLY');
    assertBooted(sites.full.vms[1]!, 'UEFI');
  });

  it('full mode: UEFI native PXE fetches snponly.efi over TFTP, then boots over HTTP', { skip: !haveOvmf && 'ovmf is not installed' }, async (t) => {
    const s = sites.full;
    if (!s) return t.skip('not selected by HEARTH_E2E_ONLY');
    const vm = s.vms[2]!;
    assertBooted(vm, 'UEFI');
    const m = (await machines(s)).find((x) => x.mac === vm.mac)!;
    assert.ok(m.steps.some((x) => x.step === 'bootfile' && x.file === 'snponly.efi'), JSON.stringify(m.steps));
  });

  it('full mode: UEFI native HTTP boot fetches snponly.efi over HTTP, then boots', { skip: !haveOvmf && 'ovmf is not installed' }, async (t) => {
    const s = sites.full;
    if (!s) return t.skip('not selected by HEARTH_E2E_ONLY');
    const vm = s.vms[3]!;
    assertBooted(vm, 'UEFI');
    const m = (await machines(s)).find((x) => x.mac === vm.mac)!;
    assert.ok(m.steps.some((x) => x.step === 'bootfile' && x.file === 'snponly.efi'), JSON.stringify(m.steps));
    assert.match(s.log(), /52:54:00:12:34:04 vm4 http-asset-done 192\.0\.2\.14 snponly\.efi/);
  });

  it('chainload: undionly.kpxe over TFTP, then the script over HTTP', async (t) => {
    const s = sites.chain;
    if (!s) return t.skip('not selected by HEARTH_E2E_ONLY');
    const vm = s.vms[0]!;
    assertBooted(vm, 'BIOS');
    const m = (await machines(s)).find((x) => x.mac === vm.mac)!;
    const order = m.steps.map((x) => `${x.step}:${x.file ?? ''}`);
    const tftp = order.findIndex((x) => x === 'bootfile:undionly.kpxe');
    const script = order.findIndex((x) => x.startsWith('script'));
    assert.ok(tftp >= 0 && script > tftp, `expected TFTP undionly.kpxe before the script: ${order.join(' ')}`);
  });

  it('proxy mode: addresses from the site DHCP server, boot information from hearth', async (t) => {
    const s = sites.proxy;
    if (!s) return t.skip('not selected by HEARTH_E2E_ONLY');
    const vm = s.vms[0]!;
    assertBooted(vm, 'BIOS');
    const m = (await machines(s)).find((x) => x.mac === vm.mac)!;
    assert.ok(m, 'proxy-mode machine not tracked');
    const ip = m.ip ?? '';
    const last = Number(ip.split('.')[3]);
    assert.ok(ip.startsWith('192.0.2.') && last >= 160 && last <= 199, `address ${ip} should come from dnsmasq's pool`);
  });

  it('stops cleanly on SIGTERM', async () => {
    for (const s of Object.values(sites)) {
      const gone = exited(s.serve, 'netboot serve after SIGTERM');
      s.serve.kill('SIGTERM');
      assert.equal((await gone.finally(() => s.serve.kill('SIGKILL'))).code, 0, s.log().slice(-2000));
      assert.match(s.log(), /stopped/);
    }
  });
});
