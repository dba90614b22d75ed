/**
 * `hearth talos discover` (the real CLI) against node doubles of both versions: maintenance v1.6
 * (no Version, disks from StorageService), maintenance v1.13, a configured node read with the
 * talosconfig, an address where nothing answers, and the addresses a netboot lease journal names.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { expandTargets, FilePinStore } from '../../../src/talos/api/index.js';
import { JournalLeaseStore } from '../../../src/netboot/dhcp/leases/store.js';
import { runHearth, tmpDir } from '../../helpers/cli.js';
import { cluster, loopback, loopbackSpec, machineConfig, maintenanceClient, startDouble, stopAll, type Cluster } from './fixture.js';

let c6: Cluster;
let c13: Cluster;
let spec: string;
let talosconfig: string;

/** The command as a user runs it (stdout/stderr/exit code). */
async function discover(args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return runHearth(['talos', 'discover', '-f', spec, '--port', String(c6.port), '--timeout', '1500', ...args]);
}

before(async () => {
  c6 = await cluster('v1.6.4');
  c13 = await cluster('v1.13.9');
  c13.port = c6.port;
  spec = loopbackSpec(undefined, 180);
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  talosconfig = path.join(tmpDir('discover'), 'talosconfig');
  writeFileSync(talosconfig, stringify({ context: 'lab', contexts: { lab: { endpoints: [], ca: b64(c13.secrets.certs.os.crt), crt: b64(c13.admin.crt), key: b64(c13.admin.key) } } }));
  await startDouble(c6, 1, loopback(70)); // MAC 52:54:00:00:00:01 = cp1 of the example spec
  await startDouble(c13, 99, loopback(71)); // not in the spec
  const conf = await startDouble(c13, 2, loopback(72)); // cp2, configured
  const m = maintenanceClient(c13, conf.address);
  await m.applyConfiguration(machineConfig(c13, { type: 'controlplane', address: loopback(172), hostname: 'cp2' }));
  m.close();
  await conf.settled();
  await conf.stepUntil('running');
});
after(async () => {
  await stopAll(c6);
  await stopAll(c13);
});

test('json: both versions in maintenance, a configured node, matching by MAC, silence skipped', async () => {
  const state = tmpDir('discover-state');
  const { stdout, stderr, code } = await discover(['--endpoints', [loopback(70), loopback(71), loopback(172), loopback(73)].join(','), '--talosconfig', talosconfig, '--state', state, '-o', 'json']);
  assert.equal(code, 0, stderr);
  const { nodes } = JSON.parse(stdout);
  assert.deepEqual(nodes.map((n: any) => [n.address, n.mode, n.stage, n.talosVersion, n.machine]), [
    [loopback(70), 'maintenance', 'maintenance', null, 'cp1'],
    [loopback(71), 'maintenance', 'maintenance', 'v1.13.9', null],
    [loopback(172), 'configured', 'running', 'v1.13.9', 'cp2'],
  ]);
  const v16 = nodes[0];
  assert.equal(v16.uuid, '4c4c4544-0001-1000-8000-000000000001');
  assert.deepEqual(v16.macs, ['52:54:00:00:00:01', '52:54:00:00:01:01']);
  assert.deepEqual(v16.disks.map((d: any) => [d.name, d.size, d.serial]), [['sda', 256e9, 'QM0001'], ['nvme0n1', 512e9, 'deadbeef1']]);
  assert.deepEqual(nodes[2].addresses, [`${loopback(172)}/8`]);
  assert.match(stderr, /3 nodes found, 1 not in the spec/);
  // maintenance nodes were pinned; the configured one was not
  const pins = new FilePinStore(state);
  assert.ok(await pins.get(loopback(70)));
  assert.ok(await pins.get(loopback(71)));
  assert.equal(await pins.get(loopback(172)), undefined);
});

test('table: a configured node without a talosconfig is listed, unmatched nodes are marked', async () => {
  const { stdout } = await discover(['--endpoints', [loopback(71), loopback(172)].join(',')]);
  const lines = stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^ADDRESS\s+MODE\s+STAGE\s+VERSION\s+MACHINE\s+UUID\s+MACS\s+DISKS\s+NOTE$/);
  assert.match(lines[1]!, new RegExp(`^${loopback(71).replace(/\./g, '\\.')}\\s+maintenance\\s+maintenance\\s+v1\\.13\\.9\\s+\\(unmatched\\)`));
  assert.match(lines[2]!, /configured .*give a talosconfig/);
});

test('--scan walks a CIDR (bounded) and finds the node in it', async () => {
  const base = loopback(64); // .64/29 holds .65-.70
  const { stdout, stderr } = await discover(['--scan', `${base}/29`, '-o', 'json']);
  assert.match(stderr, /probing 6 addresses/);
  assert.deepEqual(JSON.parse(stdout).nodes.map((n: any) => n.address), [loopback(70)]);
});

test('--state: the addresses leased by `hearth netboot serve` are probed too (bound and live only)', async () => {
  const state = tmpDir('discover-leases');
  const store = new JournalLeaseStore(state, { sync: false });
  await store.load();
  const now = Date.now();
  const lease = (mac: string, ip: string, over: object = {}) => ({ kind: 'lease' as const, lease: { mac, ip, expiresAt: now + 600_000, fixed: false, state: 'bound' as const, ...over } });
  await store.commit([
    lease('52:54:00:aa:00:01', loopback(70)), // bound: probed
    lease('52:54:00:aa:00:02', loopback(71), { state: 'released' }), // given back: not probed
    lease('52:54:00:aa:00:03', loopback(172), { expiresAt: now - 1000 }), // expired: not probed
  ]);
  await store.close();
  const { stdout, stderr, code } = await discover(['--endpoints', loopback(73), '--state', state, '-o', 'json']);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /probing 2 addresses/);
  assert.deepEqual(JSON.parse(stdout).nodes.map((n: any) => n.address), [loopback(70)]);
});

test('bad input is one line and exit code 2', async () => {
  const r = await discover(['--scan', '198.51.100.0/16']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), 'error: scanning /16 is more than 4096 addresses');
  const p = await discover(['--endpoints', loopback(70), '--port', '0']);
  assert.equal(p.code, 2);
  assert.match(p.stderr, /--port must be an integer from 1 to 65535/);
});

test('scan targets: host addresses only, large ranges and non-CIDRs refused', () => {
  assert.deepEqual(expandTargets(['192.0.2.0/30', '192.0.2.8/31']), ['192.0.2.1', '192.0.2.2', '192.0.2.8', '192.0.2.9']);
  assert.throws(() => expandTargets(['198.51.100.0/16']), /more than 4096 addresses/);
  assert.throws(() => expandTargets(['nonsense']), /not an IPv4 CIDR/);
});
