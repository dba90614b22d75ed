/**
 * Zero-touch Talos configs with real firmware (issue 13 §1–§2): QEMU VMs (TCG, one at a time)
 * network-boot through iPXE from `hearth netboot serve --secrets FILE --config-once` in a network
 * namespace this test creates. The payload's init brings the NIC up with udhcpc, fetches the
 * talos.config URL from its kernel command line and prints the config's sha256 on the console.
 *
 *   1. vm1 (in machines[]): the sha256 it printed is that of nodes/vm1.yaml written by
 *      `hearth talos config` with the same spec and bundle; its second fetch is refused (--config-once).
 *   2. a VM with an unlisted MAC: 403 for its own MAC, and 403 when it claims vm1's MAC.
 *   3. vm1 marked installed: its next network boot gets the local-boot script, and iPXE boots
 *      its disk (a boot sector that prints a marker on the serial port).
 *   4. `hearth netboot reinstall vm1`: the next network boot installs again (the config once more).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InstallMarks } from '../../src/netboot/installs.js';
import { ROOT, runHearth } from '../helpers/cli.js';
import { NetnsLab, netnsUnavailable, which, type Netns } from '../helpers/netns.js';
import { hearthArgv, waitForOutput } from './lib.js';
import { payloadUnavailable } from './payload.js';
import { DEBUG_EXIT_PORT, DONE_MARKER, LOCAL_DISK_MARKER, buildTalosPayload } from './talos-payload.js';
import { stopChild } from '../helpers/within.js';

const VM_TIMEOUT_MS = Number(process.env.HEARTH_E2E_VM_TIMEOUT_MS ?? 240_000);
const VM1 = '52:54:00:12:35:01';
const STRANGER = '52:54:00:12:35:99';
const SERVER = 'http://192.0.2.1:8080';

const skip = (() => {
  const ns = netnsUnavailable();
  if (ns) return ns;
  if (!which('qemu-system-x86_64')) return 'qemu-system-x86_64 is not installed';
  if (!existsSync('/usr/lib/ipxe/undionly.kpxe')) return 'Debian package ipxe is not installed (/usr/lib/ipxe)';
  if (!existsSync('/usr/lib/ipxe/qemu/efi-virtio.rom')) return 'ipxe-qemu is not installed';
  return payloadUnavailable();
})();

/** The spec (as JSON, which is YAML): one machine, vm1, hearth's DHCP in full mode on br0. */
function specYaml(payload: string): string {
  const spec = {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'tcfg' },
    talos: { version: 'v1.13.9' },
    cluster: { endpoint: 'https://192.0.2.10:6443' },
    platform: { bundle: 'paas-hosted' }, // paas-full's LINSTOR needs the drbd extension
    netboot: {
      interface: 'br0',
      address: '192.0.2.1',
      dhcp: { mode: 'full', range: '192.0.2.100-192.0.2.150', router: '192.0.2.1', leaseTime: '10m' },
      assets: payload,
      kernel: 'vmlinuz',
      initrd: ['initrd'],
      kernelArgs: ['console=ttyS0,115200', 'panic=-1', 'quiet', `hearth.e2e.server=${SERVER}`, `hearth.e2e.claim=${VM1}`],
    },
    machines: [{ name: 'vm1', role: 'controlplane', mac: VM1, address: '192.0.2.11/24', interface: 'eth0', installDisk: '/dev/sda' }],
  };
  return `${JSON.stringify(spec, null, 2)}\n`;
}

interface Boot {
  serial: string;
  code: number | string | null;
}

describe('QEMU: zero-touch Talos configs and local boot', { skip: skip ?? false, timeout: 1_200_000 }, () => {
  const lab = new NetnsLab('tcfg');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hearth-tcfg-'));
  let ns: Netns;
  let serve: ChildProcess;
  let log = '';
  /**
   * The server writes its log lines in batches, so a VM can finish (and QEMU exit) before the
   * lines about it are out: waits for the line (at most 5 s), then asserts.
   */
  const logMatches = async (re: RegExp) => {
    for (let i = 0; i < 100 && !re.test(log); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(log, re);
  };
  let specFile = '';
  let state = '';
  let disk = '';
  let expectedSha = '';

  before(async () => {
    const payload = await buildTalosPayload();
    disk = payload.disk;
    ns = await lab.ns('tcfg');
    await lab.bridge(ns, 'br0', '192.0.2.1/24');
    await lab.tap(ns, 'tap0', 'br0');
    specFile = path.join(tmp, 'hearth.yaml');
    writeFileSync(specFile, specYaml(payload.dir));
    state = path.join(tmp, 'state');
    const out = path.join(tmp, 'out');
    // The bundle and the configs exactly as a user makes them.
    const sec = await runHearth(['talos', 'secrets', '-f', specFile, '--out', out]);
    assert.equal(sec.code, 0, sec.stderr);
    const cfg = await runHearth(['talos', 'config', '-f', specFile, '--out', out, '--secrets', path.join(out, 'secrets.yaml')]);
    assert.equal(cfg.code, 0, cfg.stderr);
    expectedSha = createHash('sha256').update(readFileSync(path.join(out, 'nodes', 'vm1.yaml'))).digest('hex');
    serve = ns.spawn(hearthArgv(['netboot', 'serve', '-f', specFile, '--state', state, '--secrets', path.join(out, 'secrets.yaml'), '--config-once', '--log']), {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    serve.stdout?.on('data', (d) => (log += d));
    serve.stderr?.on('data', (d) => (log += d));
    await waitForOutput(() => log, (s) => /serving on br0/.test(s) || serve.exitCode !== null, 30_000, 'hearth netboot serve');
    assert.equal(serve.exitCode, null, log);
    assert.match(log, /Talos configs: served at http:\/\/192\.0\.2\.1:8080\/talos\/config, once per boot/);
  });

  after(async () => {
    await stopChild(serve);
    await lab.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** One BIOS VM (QEMU's iPXE virtio ROM) on tap0 until it powers off, exits or times out. */
  async function boot(name: string, mac: string, withDisk: boolean): Promise<Boot> {
    const argv = ['qemu-system-x86_64', '-m', '512', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-boot', 'n'];
    argv.push('-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', `virtio-net-pci,netdev=n0,mac=${mac}`);
    argv.push('-device', `isa-debug-exit,iobase=${DEBUG_EXIT_PORT},iosize=1`);
    if (withDisk) {
      const copy = path.join(tmp, `${name}.img`);
      copyFileSync(disk, copy);
      argv.push('-drive', `file=${copy},format=raw,if=ide,index=0`);
    }
    const p = ns.spawn(['timeout', '-s', 'KILL', String(VM_TIMEOUT_MS / 1000), ...argv]);
    const b: Boot = { serial: '', code: null };
    p.stdout?.on('data', (d) => (b.serial += d));
    p.stderr?.on('data', (d) => (b.serial += d));
    await new Promise<void>((resolve) => p.on('exit', (code, sig) => ((b.code = code ?? (sig ? `signal ${sig}` : null)), resolve())));
    if (process.env.HEARTH_E2E_DEBUG) console.error(`--- ${name} serial:\n${b.serial}\n--- server log:\n${log}`);
    return b;
  }

  const line = (b: Boot, prefix: string) => b.serial.split(/\r?\n/).find((l) => l.startsWith(prefix));
  const tail = (b: Boot) => `exit ${b.code}; serial:\n${b.serial.slice(-2500)}\nserver:\n${log.slice(-2500)}`;

  it('vm1 fetches its config over talos.config=: the sha256 matches nodes/vm1.yaml; the second fetch is refused', async () => {
    const b = await boot('vm1-first', VM1, true);
    assert.ok(line(b, DONE_MARKER), `payload did not finish: ${tail(b)}`);
    assert.equal(line(b, 'CONFIG-SHA256 '), `CONFIG-SHA256 ${expectedSha}`, tail(b));
    assert.match(line(b, 'CONFIG-FETCH-1-AGAIN ')!, /^CONFIG-FETCH-1-AGAIN refused .*403/, tail(b));
    assert.match(b.serial, new RegExp(`talos\\.config=${SERVER}/talos/config\\?mac=${VM1}`));
    await logMatches(/52:54:00:12:35:01 vm1 talos-config 192\.0\.2\.11 \/talos\/config \d+B vm1/);
    await logMatches(/refused the Talos config to 192\.0\.2\.11 \(mac=52:54:00:12:35:01\): vm1 already fetched its config during this boot/);
    assert.equal(b.code, 0, tail(b));
  });

  it('a VM with an unlisted MAC gets 403, for its own MAC and when it claims vm1s', async () => {
    const b = await boot('stranger', STRANGER, false);
    assert.ok(line(b, DONE_MARKER), `payload did not finish: ${tail(b)}`);
    assert.ok(line(b, 'NO-TALOS-CONFIG'), 'an unlisted machine got talos.config=');
    assert.match(line(b, 'CONFIG-OWN ')!, /^CONFIG-OWN refused .*403/, tail(b));
    assert.match(line(b, 'CONFIG-CLAIM ')!, /^CONFIG-CLAIM refused .*403/, tail(b));
    const ip = /PAYLOAD mac=\S+ ip=inet addr:(192\.0\.2\.\d+)/.exec(b.serial)?.[1];
    assert.ok(ip, tail(b));
    await logMatches(new RegExp(`refused the Talos config to ${ip.replace(/\./g, '\\.')} \\(mac=${STRANGER}\\): mac ${STRANGER} is not in machines`));
    await logMatches(new RegExp(`refused the Talos config to ${ip.replace(/\./g, '\\.')} \\(mac=${VM1}\\): ${ip.replace(/\./g, '\\.')} is leased to ${STRANGER}, not to vm1`));
  });

  it('vm1 marked installed: its next network boot gets the local-boot script and iPXE boots its disk', async () => {
    await new InstallMarks(state).markInstalled(VM1);
    const b = await boot('vm1-installed', VM1, true);
    assert.ok(b.serial.includes(LOCAL_DISK_MARKER), `the disk did not boot: ${tail(b)}`);
    assert.ok(!b.serial.includes('PAYLOAD mac='), 'the installer payload booted again');
    await logMatches(/52:54:00:12:35:01 vm1 local-boot 192\.0\.2\.11 \/ipxe/);
    // isa-debug-exit: QEMU exits with (0 << 1) | 1 when the boot sector writes 0.
    assert.equal(b.code, 1, tail(b));
  });

  it('`hearth netboot reinstall vm1` arms it again: the next boot gets the installer and its config once more', async () => {
    const r = await runHearth(['netboot', 'reinstall', 'vm1', '-f', specFile, '--state', state]);
    assert.equal(r.code, 0, r.stderr);
    const b = await boot('vm1-reinstall', VM1, true);
    assert.equal(line(b, 'CONFIG-SHA256 '), `CONFIG-SHA256 ${expectedSha}`, tail(b));
    assert.ok(!b.serial.includes(LOCAL_DISK_MARKER));
  });
});
