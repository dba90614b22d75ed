import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, applyPatch, parsePatchText, PatchError, type Doc } from '../../src/talos/index.js';

const base = (): Doc[] => [
  {
    version: 'v1alpha1',
    machine: {
      network: { interfaces: [{ interface: 'eth0', addresses: ['192.0.2.5/24'] }, { deviceSelector: { driver: 'ixgbe' }, dhcp: true }] },
      install: { disk: '/dev/sda', extraKernelArgs: ['a=1'] },
    },
    cluster: { network: { podSubnets: ['10.244.0.0/16'] }, apiServer: { admissionControl: [{ name: 'PodSecurity', configuration: { a: 1 } }] } },
  },
  { apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'stable' },
];

test('strategic merge: maps merge, lists append, Talos keyed lists merge by key, replace-lists replace', () => {
  const out = applyPatch(
    base(),
    parsePatchText(`machine:
  network:
    interfaces:
      - interface: eth0
        mtu: 9000
      - deviceSelector: {driver: ixgbe}
        dhcp: false
      - interface: eth2
        dhcp: true
  install:
    extraKernelArgs: [b=2]
cluster:
  network:
    podSubnets: [10.32.0.0/12]
  apiServer:
    admissionControl:
      - name: PodSecurity
        configuration: {b: 2}
`),
  ) as any[];
  assert.deepEqual(out[0].machine.network.interfaces, [
    { interface: 'eth0', addresses: ['192.0.2.5/24'], mtu: 9000 },
    { deviceSelector: { driver: 'ixgbe' }, dhcp: false },
    { interface: 'eth2', dhcp: true },
  ]);
  assert.deepEqual(out[0].machine.install.extraKernelArgs, ['a=1', 'b=2']);
  assert.deepEqual(out[0].cluster.network.podSubnets, ['10.32.0.0/12']);
  assert.deepEqual(out[0].cluster.apiServer.admissionControl, [{ name: 'PodSecurity', configuration: { a: 1, b: 2 } }]);
  assert.equal((base()[0] as any).machine.install.extraKernelArgs.length, 1, 'inputs untouched');
});

test('strategic merge: $patch: delete removes keys, keyed list items and documents; new kinds are added', () => {
  const out = applyPatch(
    base(),
    parsePatchText(`machine:
  install:
    disk:
      $patch: delete
  network:
    interfaces:
      - interface: eth0
        $patch: delete
---
apiVersion: v1alpha1
kind: HostnameConfig
$patch: delete
---
apiVersion: v1alpha1
kind: ResolverConfig
nameservers: [{address: 192.0.2.53}]
`),
  ) as any[];
  assert.equal(out[0].machine.install.disk, undefined);
  assert.deepEqual(out[0].machine.network.interfaces, [{ deviceSelector: { driver: 'ixgbe' }, dhcp: true }]);
  assert.deepEqual(out.map((d) => d.kind ?? 'v1alpha1'), ['v1alpha1', 'ResolverConfig']);
  assert.throws(() => applyPatch(base(), parsePatchText('apiVersion: v1alpha1\nkind: BondConfig\nname: bond9\n$patch: delete\n')), /no BondConfig "bond9" document to delete/);
});

test('RFC 6902: add, remove, replace, move, copy, test, with the failing operation and path named', () => {
  const doc = { a: { b: [1, 2] }, c: 'x' };
  assert.deepEqual(
    applyJsonPatch(doc, [
      { op: 'add', path: '/a/b/-', value: 3 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'replace', path: '/c', value: 'y' },
      { op: 'copy', from: '/c', path: '/d' },
      { op: 'move', from: '/d', path: '/e' },
      { op: 'remove', path: '/a/b/1' },
      { op: 'test', path: '/e', value: 'y' },
      { op: 'add', path: '/f~1g', value: true },
    ]),
    { a: { b: [0, 2, 3] }, c: 'y', e: 'y', 'f/g': true },
  );
  assert.throws(
    () => applyJsonPatch(doc, [{ op: 'replace', path: '/machine/nope', value: 1 }]),
    (e: unknown) => e instanceof PatchError && /operation 0 \(replace \/machine\/nope\): path \/machine\/nope does not exist/.test(e.message) && e.field === '/machine/nope',
  );
  assert.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/c', value: 'z' }]), /test failed at \/c/);
});

test('patch text: a YAML/JSON list is RFC 6902, a mapping (or several documents) strategic merge; bad YAML is named', () => {
  assert.equal(parsePatchText('- op: remove\n  path: /machine\n').kind, 'json');
  assert.equal(parsePatchText('[{"op": "remove", "path": "/machine"}]').kind, 'json');
  assert.equal(parsePatchText('machine: {}\n---\nkind: X\napiVersion: v1alpha1\n').kind, 'strategic');
  assert.throws(() => parsePatchText('machine: [\n'), /YAML line/);
  assert.throws(() => parsePatchText('- 1\n- 2\n'), /RFC 6902/);
  assert.throws(() => parsePatchText('- op: frobnicate\n  path: /x\n'), /unknown op "frobnicate"/);
});

test('as talosctl: RFC 6902 patches are refused on multi-document configs; the v1alpha1 document cannot be deleted', () => {
  const json = parsePatchText('[{"op": "add", "path": "/machine/certSANs", "value": ["a"]}]');
  assert.throws(() => applyPatch(base(), json), /JSON6902 patches are not supported for multi-document machine configuration/);
  const single = applyPatch([base()[0]!], json) as any[];
  assert.deepEqual(single[0].machine.certSANs, ['a']);
  assert.throws(() => applyPatch(base(), parsePatchText('machine: {}\n$patch: delete\n')), /v1alpha1 document cannot be deleted/);
});

test('strategic merge: ExtensionServiceConfig.configFiles merge by mountPath', () => {
  const docs: Doc[] = [{ apiVersion: 'v1alpha1', kind: 'ExtensionServiceConfig', name: 'x', configFiles: [{ mountPath: '/a', content: '1' }] }];
  const out = applyPatch(
    docs,
    parsePatchText('apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: x\nconfigFiles:\n  - mountPath: /a\n    content: "2"\n  - mountPath: /b\n    content: "3"\n'),
  ) as any[];
  assert.deepEqual(out[0].configFiles, [
    { mountPath: '/a', content: '2' },
    { mountPath: '/b', content: '3' },
  ]);
});

test('device selectors become CEL over LinkStatus fields for LinkAliasConfig', async () => {
  const { selectorToCel } = await import('../../src/talos/node.js');
  assert.equal(selectorToCel({ hardwareAddr: '52:54:00:AA:00:01' }), 'mac(link.hardware_addr) == "52:54:00:aa:00:01"');
  assert.equal(selectorToCel({ permanentAddr: '00:1a:2b:*' }), 'glob("00:1a:2b:*", mac(link.permanent_addr))');
  assert.equal(selectorToCel({ driver: 'e1000', busPath: '0000:06:00.0', pciID: '8086:*' }), 'link.bus_path == "0000:06:00.0" && glob("8086:*", link.pciid) && link.driver == "e1000"');
});
