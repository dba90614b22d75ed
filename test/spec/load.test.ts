import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatIssue, parseSpec } from '../../src/spec/index.js';
import { ROOT } from '../helpers/cli.js';

const EXAMPLE = readFileSync(path.join(ROOT, 'examples/hearth.yaml'), 'utf8');

/** A small valid spec; tests add one mistake each and expect exactly one line. */
const BASE = `metadata:
  name: lab
talos:
  version: v1.13.9
cluster:
  endpoint: https://192.0.2.10:6443
  vip: 192.0.2.10
netboot:
  dhcp:
    range: 192.0.2.100-192.0.2.200
machines:
  - name: cp1
    role: controlplane
    mac: 52:54:00:00:00:01
    address: 192.0.2.11/24
    gateway: 192.0.2.1
    installDisk: /dev/sda
  - name: w1
    role: worker
    mac: 52:54:00:00:00:02
    address: 192.0.2.21/24
    installDisk: /dev/sda
`;

function errors(text: string): string[] {
  const r = parseSpec(text, 'hearth.yaml', '/tmp');
  return r.issues.map(formatIssue);
}

function one(text: string): string {
  const e = errors(text);
  assert.equal(e.length, 1, `expected one error, got:\n${e.join('\n')}`);
  return e[0]!;
}

test('the bundled example and the base fixture are valid', () => {
  assert.deepEqual(errors(EXAMPLE), []);
  assert.deepEqual(errors(BASE), []);
});

test('defaults are applied', () => {
  const r = parseSpec('metadata: {name: x}\ncluster: {endpoint: "https://192.0.2.10:6443"}\n', 'h.yaml');
  assert.ok(r.loaded, r.issues.map(formatIssue).join('\n'));
  const s = r.loaded.spec;
  assert.equal(s.talos.version, 'v1.13.9');
  assert.match(s.talos.kubernetesVersion!, /^1\.\d+\.\d+$/);
  assert.equal(s.image.arch, 'amd64');
  assert.equal(s.image.platform, 'metal');
  assert.equal(s.image.secureboot, false);
  assert.equal(s.image.source, 'imager');
  assert.deepEqual(s.cluster.podSubnets, ['10.244.0.0/16']);
  assert.deepEqual(s.cluster.serviceSubnets, ['10.96.0.0/12']);
  assert.deepEqual(s.cluster.patches, { common: [], controlplane: [], worker: [] });
  assert.equal(s.netboot.dhcp.mode, 'full');
  assert.equal(s.netboot.dhcp.leaseTime, '1h');
  assert.deepEqual(s.netboot.kernelArgs, [
    'talos.platform=metal', 'console=tty0', 'console=ttyS0', 'init_on_alloc=1', 'slab_nomerge', 'pti=on', 'printk.devkmsg=on',
  ]);
  assert.deepEqual(s.machines, []);
  assert.equal(s.platform.bundle, 'paas-full');
});

test('an explicit kubernetesVersion is kept', () => {
  const r = parseSpec(BASE.replace('version: v1.13.9', 'version: v1.13.9\n  kubernetesVersion: 1.34.0'), 'h.yaml');
  assert.equal(r.loaded?.spec.talos.kubernetesVersion, '1.34.0');
});

test('unknown fields: error at the key, with a did-you-mean hint', () => {
  assert.equal(
    one(BASE.replace('talos:\n', 'image:\n  extensionz: [zfs]\ntalos:\n')),
    'hearth.yaml:4:3 image.extensionz: unknown field "extensionz" (did you mean "extensions"?)',
  );
  assert.equal(one(`${BASE}colour: red\n`), 'hearth.yaml:23:1 colour: unknown field "colour"');
  assert.equal(
    one(BASE.replace('    gateway: 192.0.2.1\n', '    gatway: 192.0.2.1\n')),
    'hearth.yaml:16:5 machines[0].gatway: unknown field "gatway" (did you mean "gateway"?)',
  );
});

test('missing required fields', () => {
  assert.equal(one(BASE.replace('metadata:\n  name: lab\n', '')), 'hearth.yaml:1:1 metadata: required field is missing');
  assert.equal(one(BASE.replace('    role: worker\n', '')), 'hearth.yaml:18:5 machines[1].role: required field is missing');
});

test('wrong types and enum values', () => {
  assert.equal(
    one(BASE.replace('talos:\n', 'image:\n  secureboot: "yes"\ntalos:\n')),
    'hearth.yaml:4:15 image.secureboot: must be true or false, not the string "yes"',
  );
  assert.equal(
    one(BASE.replace('talos:\n', 'image:\n  arch: amd46\ntalos:\n')),
    'hearth.yaml:4:9 image.arch: must be one of amd64, arm64, not "amd46" (did you mean "amd64"?)',
  );
  assert.equal(
    one(BASE.replace('role: worker', 'role: wrker')),
    'hearth.yaml:19:11 machines[1].role: must be one of controlplane, worker, not "wrker" (did you mean "worker"?)',
  );
  assert.equal(one(BASE.replace(/machines:[\s\S]*/, 'machines: {}\n')), 'hearth.yaml:11:1 machines: must be a list, not a mapping');
});

test('malformed names, versions, URLs, MACs, CIDRs, addresses', () => {
  assert.equal(
    one(BASE.replace('name: lab', 'name: Lab_1')),
    'hearth.yaml:2:9 metadata.name: must be a DNS label: lower-case letters, digits and "-", 1 to 63 characters, starting and ending with a letter or digit',
  );
  assert.equal(one(BASE.replace('version: v1.13.9', 'version: "1.13"')), 'hearth.yaml:4:12 talos.version: must be a Talos version like v1.13.9');
  assert.equal(one(BASE.replace('version: v1.13.9', 'version: 1.13')), 'hearth.yaml:4:12 talos.version: must be a string, not number 1.13 (quote it: "1.13")');
  assert.equal(
    one(BASE.replace('https://192.0.2.10:6443', 'http://192.0.2.10:6443')),
    'hearth.yaml:6:13 cluster.endpoint: must be a URL (https://host...)',
  );
  assert.equal(
    one(BASE.replace('mac: 52:54:00:00:00:01', 'mac: 52:54:00:00:01')),
    'hearth.yaml:14:10 machines[0].mac: must be a MAC address like 52:54:00:12:34:56',
  );
  assert.equal(
    one(BASE.replace('address: 192.0.2.21/24', 'address: 192.0.2.21/33')),
    'hearth.yaml:21:14 machines[1].address: must be an address with a prefix length, like 192.0.2.0/24',
  );
  assert.equal(one(BASE.replace('vip: 192.0.2.10', 'vip: 192.0.2.300')), 'hearth.yaml:7:8 cluster.vip: must be an IP address');
  assert.equal(
    one(BASE.replace('range: 192.0.2.100-192.0.2.200', 'range: 192.0.2.200-192.0.2.100')),
    'hearth.yaml:10:12 netboot.dhcp.range: must be an IPv4 range FIRST-LAST with FIRST <= LAST, like 192.0.2.100-192.0.2.200',
  );
  assert.equal(
    one(BASE.replace('installDisk: /dev/sda\n  - name: w1', 'installDisk: sda\n  - name: w1')),
    'hearth.yaml:17:18 machines[0].installDisk: must be a device path like /dev/sda',
  );
  assert.equal(
    one(BASE.replace('netboot:\n  dhcp:\n', 'netboot:\n  dhcp:\n    leaseTime: an hour\n')),
    'hearth.yaml:10:16 netboot.dhcp.leaseTime: must be a duration like 30s, 5m, 1h or 1h30m',
  );
});

test('duplicates: machine names, MACs, addresses', () => {
  assert.equal(one(BASE.replace('name: w1', 'name: cp1')), 'hearth.yaml:18:11 machines[1].name: duplicate machine name "cp1" (also machines[0])');
  assert.equal(
    one(BASE.replace('mac: 52:54:00:00:00:02', 'mac: 52-54-00-00-00-01')),
    'hearth.yaml:20:10 machines[1].mac: duplicate MAC address "52:54:00:00:00:01" (also machines[0])',
  );
  assert.equal(
    one(BASE.replace('address: 192.0.2.21/24', 'address: 192.0.2.11/24')),
    'hearth.yaml:21:14 machines[1].address: duplicate address "192.0.2.11" (also machines[0])',
  );
});

test('addresses outside their subnets', () => {
  assert.equal(
    one(BASE.replace('gateway: 192.0.2.1', 'gateway: 198.51.100.1')),
    "hearth.yaml:16:14 machines[0].gateway: gateway 198.51.100.1 is outside the machine's subnet 192.0.2.0/24",
  );
  assert.equal(
    one(BASE.replace('vip: 192.0.2.10', 'vip: 198.51.100.10')),
    'hearth.yaml:7:8 cluster.vip: VIP 198.51.100.10 is outside every control-plane subnet (192.0.2.0/24)',
  );
  assert.equal(
    one(BASE.replace('range: 192.0.2.100-192.0.2.200', 'range: 192.0.2.100-192.0.3.20')),
    'hearth.yaml:10:12 netboot.dhcp.range: last address 192.0.3.20 is outside every machine subnet (192.0.2.0/24)',
  );
  assert.equal(
    one(BASE.replace('address: 192.0.2.21/24', 'address: 192.0.2.150/24')),
    'hearth.yaml:21:14 machines[1].address: 192.0.2.150 lies inside netboot.dhcp.range 192.0.2.100-192.0.2.200; fixed addresses must be outside the dynamic pool',
  );
  assert.equal(
    one(BASE.replace('address: 192.0.2.21/24', 'address: 192.0.2.0/24')),
    'hearth.yaml:21:14 machines[1].address: 192.0.2.0 is the network address of 192.0.2.0/24, not a host address',
  );
  assert.equal(
    one(BASE.replace('vip: 192.0.2.10', 'vip: 192.0.2.10\n  podSubnets: [192.0.2.128/25]')),
    'hearth.yaml:8:16 cluster.podSubnets[0]: 192.0.2.128/25 overlaps the network of machines[0] (192.0.2.0/24)',
  );
  assert.equal(
    one(BASE.replace('vip: 192.0.2.10', 'vip: 192.0.2.10\n  serviceSubnets: [10.244.1.0/24]')),
    'hearth.yaml:8:20 cluster.serviceSubnets[0]: 10.244.1.0/24 overlaps 10.244.0.0/16 (cluster.podSubnets[0])',
  );
  assert.equal(one(BASE.replace('vip: 192.0.2.10', 'vip: 192.0.2.11')), 'hearth.yaml:7:8 cluster.vip: VIP 192.0.2.11 is also the address of machines[0]');
});

test('exclusive choices and required combinations', () => {
  assert.equal(
    one(BASE.replace('    installDisk: /dev/sda\n  - name: w1', '    installDisk: /dev/sda\n    diskSelector: {type: ssd}\n  - name: w1')),
    'hearth.yaml:18:5 machines[0].diskSelector: give installDisk or diskSelector, not both',
  );
  assert.equal(
    one(BASE.replace('role: controlplane', 'role: worker')),
    'hearth.yaml:11:1 machines: needs at least one machine with role controlplane',
  );
  assert.equal(
    one(BASE.replace('  dhcp:\n    range: 192.0.2.100-192.0.2.200\n', '  dhcp:\n    mode: full\n').replace(/    mac: .*\n/g, '')),
    'hearth.yaml:9:3 netboot.dhcp: mode full needs a range, or machines with a mac and an address to hand out',
  );
});

test('every problem is reported at once, in file order', () => {
  const bad = BASE.replace('name: lab', 'name: LAB').replace('role: worker', 'role: boss').replace('mac: 52:54:00:00:00:02', 'mac: 52:54:00:00:00:01');
  const e = errors(bad);
  assert.equal(e.length, 3, e.join('\n'));
  assert.match(e[0]!, /^hearth.yaml:2:9 metadata.name:/);
  assert.match(e[1]!, /^hearth.yaml:19:11 machines\[1\].role:/);
  assert.match(e[2]!, /^hearth.yaml:20:10 machines\[1\].mac: duplicate MAC/);
});

test('YAML syntax errors and non-mapping documents', () => {
  const e = errors('metadata:\n  name: [unclosed\n');
  assert.equal(e.length >= 1, true);
  assert.match(e[0]!, /^hearth.yaml:\d+:\d+ \(root\): YAML: /);
  assert.equal(one('metadata: {name: a}\nmetadata: {name: b}\n'), 'hearth.yaml:2:1 (root): YAML: Map keys must be unique');
  assert.deepEqual(errors(''), ['hearth.yaml:1:1 metadata: required field is missing', 'hearth.yaml:1:1 cluster: required field is missing']);
  assert.equal(one('- just\n- a list\n'), 'hearth.yaml:1:1 (root): the spec must be a mapping (apiVersion:, kind:, metadata:, cluster:, ...)');
});
