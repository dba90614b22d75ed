/**
 * End to end, through the real CLI: `hearth lab up` on a three-machine spec (one UEFI VM, two BIOS,
 * one of them with a two-NIC bond) network-boots every VM from hearth netboot inside the lab's own
 * namespace (hlab-t<PID>, 192.0.2.0/24) to the test payload's marker; a second `up` is refused;
 * `status` and `console` report them; `down` leaves no namespace, tap, process or disk behind.
 * Heavy (TCG here): run alone, like the other QEMU tests (test/run-suite.mjs runs *qemu.test alone).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRunning, readState, type LabState } from '../../src/lab/state.js';
import type { LabStatus } from '../../src/lab/status.js';
import { runHearth, tmpDir } from '../helpers/cli.js';
import { netnsUnavailable, run, which } from '../helpers/netns.js';
import { MARKER, buildPayload, payloadUnavailable } from '../netboot/payload.js';
import { labSpec } from './spec.js';
import { rejectsWithin, WAIT_MS } from '../helpers/within.js';

const BOOT_TIMEOUT_MS = Number(process.env.HEARTH_E2E_VM_TIMEOUT_MS ?? 300_000);
const NAME = `t${process.pid}`;
const NETNS = `hlab-${NAME}`;

const skip = (() => {
  const ns = netnsUnavailable();
  if (ns) return ns;
  for (const b of ['qemu-system-x86_64', 'qemu-img']) if (!which(b)) return `${b} is not installed`;
  if (!existsSync('/usr/lib/ipxe/qemu/efi-e1000.rom')) return 'ipxe-qemu is not installed';
  if (!existsSync('/usr/lib/ipxe/snponly.efi')) return 'ipxe is not installed (snponly.efi for UEFI PXE)';
  if (!existsSync('/usr/share/OVMF/OVMF_CODE.fd')) return 'ovmf is not installed';
  return payloadUnavailable();
})();

function specYaml(): string {
  return labSpec(
    'lab-e2e',
    '192.0.2.10',
    `  interface: br0
  address: 192.0.2.1
  dhcp: { mode: full, range: 192.0.2.100-192.0.2.150, router: 192.0.2.1, leaseTime: 10m }
  assets: ./not-used-the-test-passes-assets
  kernel: vmlinuz
  initrd: [initrd]
  kernelArgs: ["console=ttyS0,115200", panic=-1, quiet, hearth.lab=e2e]`,
    `  - { name: vm1, role: controlplane, mac: "52:54:00:1a:b0:01", address: 192.0.2.11/24, interface: eth0, installDisk: /dev/sda }
  - { name: vm2, role: controlplane, mac: "52:54:00:1a:b0:02", address: 192.0.2.12/24, interface: eth0, diskSelector: { type: nvme, size: 8GB } }
  - name: vm3
    role: worker
    mac: "52:54:00:1a:b0:03"
    address: 192.0.2.13/24
    installDisk: /dev/vda
    bond: { interfaces: [eth0, eth1], mode: active-backup }`,
  );
}

describe('hearth lab on three VMs', { skip: skip ?? false, timeout: 600_000 }, () => {
  const dir = tmpDir('lab-e2e');
  const labDir = path.join(dir, 'lab');
  const file = path.join(dir, 'hearth.yaml');
  const common = ['-f', file, '--state', labDir];
  let payload = '';
  let up = { code: null as number | null, stdout: '', stderr: '' };
  let recorded: LabState | undefined;

  const status = async (): Promise<LabStatus> => {
    const r = await runHearth(['lab', 'status', ...common, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as LabStatus;
  };
  const consoleText = (vm: string) => {
    const f = path.join(labDir, `${vm}.console`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  };

  before(async () => {
    payload = (await buildPayload()).dir;
    writeFileSync(file, specYaml());
    up = await runHearth(['lab', 'up', ...common, '--name', NAME, '--assets', payload, '--firmware', 'bios', '--machine-firmware', 'vm2=uefi', '--memory', '256', '--cpus', '1', '--http', '0'], { timeoutMs: 120_000 });
    recorded = readState(labDir);
  });

  after(async () => {
    // Whatever a failed assertion left: the CLI takes it down; the namespace is removed in any case.
    if (existsSync(path.join(labDir, 'lab.json'))) await runHearth(['lab', 'down', ...common], { timeoutMs: 60_000 });
    await run(['ip', 'netns', 'del', NETNS]);
  });

  it('up starts the lab, says which accelerator (and that TCG is slow)', async () => {
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /hearth lab: (KVM|TCG: pure emulation, slow)/);
    assert.match(up.stderr, new RegExp(`namespace ${NETNS}, bridge br0 192\\.0\\.2\\.1/24, 4 tap\\(s\\)`));
    assert.ok(recorded);
    const ns = await run(['ip', 'netns', 'list']);
    assert.match(ns.stdout, new RegExp(`^${NETNS}\\b`, 'm'));
    const links = await run(['ip', '-n', NETNS, '-o', 'link', 'show', 'master', 'br0']);
    for (const tap of ['lt0n0', 'lt1n0', 'lt2n0', 'lt2n1']) assert.match(links.stdout, new RegExp(`: ${tap}:`), links.stdout);
  });

  it('a second up while the lab runs is refused in one line', async () => {
    const again = await runHearth(['lab', 'up', ...common, '--name', NAME, '--assets', payload, '--memory', '256']);
    assert.equal(again.code, 2, again.stderr);
    assert.equal(again.stderr.trim().split('\n').length, 1, again.stderr);
    assert.match(again.stderr, new RegExp(`error: a lab is already up \\(${NETNS}, started .*\\): run \`hearth lab down\` first`));
    assert.deepEqual(readState(labDir), recorded, 'the running lab\'s record is untouched');
  });

  it('status shows every VM running with its firmware, MACs and disk', async () => {
    const s = await status();
    assert.equal(s.netns, NETNS);
    assert.equal(s.netboot.running, true);
    assert.deepEqual(s.vms.map((v) => [v.name, v.firmware]), [['vm1', 'bios'], ['vm2', 'uefi'], ['vm3', 'bios']]);
    assert.deepEqual(s.vms.map((v) => v.macs.length), [1, 1, 2]);
    assert.equal(s.vms[1]!.disk.bytes, 8e9);
    assert.deepEqual(s.vms.map((v) => v.disk.bus), ['scsi', 'nvme', 'virtio']);
    for (const vm of s.vms) {
      assert.ok(existsSync(vm.disk.file), vm.disk.file);
      // A VM may only have powered off already after printing the marker.
      assert.ok(vm.running || consoleText(vm.name).includes(MARKER), `${vm.name} is not running: ${readFileSync(path.join(labDir, `${vm.name}.qemu.log`), 'utf8')}`);
    }
  });

  it('every VM network-boots to the payload marker (BIOS and UEFI)', async () => {
    const end = Date.now() + BOOT_TIMEOUT_MS;
    const booted = () => ['vm1', 'vm2', 'vm3'].every((vm) => consoleText(vm).includes(MARKER));
    while (!booted() && Date.now() < end) await new Promise((r) => setTimeout(r, 1000));
    const fw: Record<string, string> = { vm1: 'BIOS', vm2: 'UEFI', vm3: 'BIOS' };
    for (const vm of ['vm1', 'vm2', 'vm3']) {
      const text = consoleText(vm);
      const line = text.split('\n').find((l) => l.includes(MARKER));
      assert.ok(line, `${vm}: no marker on its console; last output:\n${text.slice(-2000)}\nnetboot log:\n${readFileSync(path.join(labDir, 'netboot.log'), 'utf8').slice(-3000)}`);
      assert.match(line, new RegExp(`fw=${fw[vm]}`));
      assert.match(line, /hearth\.lab=e2e/, 'the spec\'s kernel arguments');
    }
  });

  it('status reports each VM\'s boot progress from the lab netboot server, and its console', async () => {
    let s = await status();
    // The payload powers off right after its marker; give QEMU a moment to exit.
    for (let i = 0; i < 50 && s.vms.some((v) => v.running); i++) {
      await new Promise((r) => setTimeout(r, 200));
      s = await status();
    }
    const ips: Record<string, string> = { vm1: '192.0.2.11', vm2: '192.0.2.12', vm3: '192.0.2.13' };
    for (const vm of s.vms) {
      assert.ok(vm.boot, `${vm.name}: no boot progress`);
      assert.equal(vm.boot.ip, ips[vm.name]);
      for (const step of ['dhcp-ack', 'script', 'kernel', 'initrd']) assert.ok(vm.boot.steps.includes(step), `${vm.name}: ${step} missing from ${vm.boot.steps.join(',')}`);
      assert.ok(vm.consoleTail.some((l) => l.includes(MARKER) || /Power down/.test(l)), `${vm.name}: ${vm.consoleTail.join(' | ')}`);
      assert.equal(vm.running, false, `${vm.name} powered off`);
    }
    // UEFI went through OVMF's PXE: snponly.efi over TFTP first.
    assert.ok(s.vms[1]!.boot!.steps.includes('bootfile'), s.vms[1]!.boot!.steps.join(','));
    const text = await runHearth(['lab', 'status', ...common]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /vm2\s+UEFI\s+stopped/);
    // The same timelines straight from the lab netboot server, reached from the host through the relay.
    assert.ok(s.http?.running, 'HTTP relay running');
    const api = (await (await fetch(`${s.http.url}/api/machines`)).json()) as { machines: { mac: string; ip?: string }[] };
    assert.deepEqual(api.machines.filter((m) => m.mac.startsWith('52:54:00:1a:b0:')).map((m) => m.ip).sort(), ['192.0.2.11', '192.0.2.12', '192.0.2.13']);
    const con = await runHearth(['lab', 'console', 'vm2', ...common, '--lines', '40']);
    assert.equal(con.code, 0, con.stderr);
    assert.match(con.stdout, new RegExp(`${MARKER} fw=UEFI`));
    // Following a console ends by itself once its VM has stopped (else it would run until Ctrl-C).
    const followed = await runHearth(['lab', 'console', 'vm1', ...common], { timeoutMs: 30_000 });
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, new RegExp(`${MARKER} fw=BIOS`));
    assert.match(followed.stderr, /VM vm1 is not running/);
  });

  it('down stops what up started and leaves no namespace, tap, process or disk', async () => {
    const state = readState(labDir)!;
    assert.ok(state.forward?.url);
    const down = await runHearth(['lab', 'down', ...common], { timeoutMs: 60_000 });
    assert.equal(down.code, 0, down.stderr);
    const ns = await run(['ip', 'netns', 'list']);
    assert.doesNotMatch(ns.stdout, new RegExp(`^${NETNS}\\b`, 'm'));
    for (const tap of ['lt0n0', 'lt1n0', 'lt2n0', 'lt2n1']) assert.notEqual((await run(['ip', 'link', 'show', tap])).code, 0, `${tap} exists on the host`);
    assert.equal(isRunning(state.netboot), false, 'netboot server');
    assert.equal(isRunning(state.forward), false, 'HTTP relay');
    await rejectsWithin(WAIT_MS, 'a refusal on the closed relay port', fetch(`${state.forward!.url}/api/machines`));
    for (const vm of state.plan.vms) {
      assert.equal(isRunning(state.vms[vm.name]), false, `QEMU of ${vm.name}`);
      assert.equal(existsSync(vm.disk.file), false, vm.disk.file);
      if (vm.vars) assert.equal(existsSync(vm.vars), false, vm.vars);
    }
    assert.equal(readState(labDir), undefined);
    assert.ok(existsSync(path.join(labDir, 'vm1.console')), 'consoles stay for a post-mortem');
  });
});
