import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadSpec } from '../../src/spec/index.js';
import { checkTalos, docsToYaml, generateTalos, parseSecrets, planTalos, semanticProblems, yamlToDocs } from '../../src/talos/index.js';
import { TALOS_REF, referenceValidate, tmpDir, writeSpec } from './helpers.js';
import { runHearth } from '../helpers/cli.js';
import { parse } from 'yaml';

const refSecrets = parseSecrets(readFileSync(path.join(TALOS_REF, 'secrets-from-talosctl.yaml'), 'utf8'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

const single = (s: any) => {
  s.cluster.vip = undefined;
  delete s.cluster.vip;
  s.cluster.endpoint = 'https://192.0.2.11:6443';
  s.machines = [s.machines[0]];
};
const selectorLink = (s: any) => {
  s.machines[3].interface = { hardwareAddr: '52:54:00:00:00:04' };
};
const withPatches = (s: any, dir: string) => {
  writeFileSync(path.join(dir, 'common.yaml'), 'machine:\n  sysctls:\n    vm.nr_hugepages: "128"\n');
  s.cluster.patches.common = ['common.yaml', { machine: { kubelet: { extraArgs: { 'rotate-server-certificates': 'true' } } } }];
  s.cluster.patches.worker = ['machine:\n  nodeLabels:\n    role: worker\n'];
  if (s.talos.version.startsWith('v1.6')) {
    // single-document configs take RFC 6902 patches too
    writeFileSync(path.join(dir, 'cp.json'), JSON.stringify([{ op: 'add', path: '/cluster/allowSchedulingOnControlPlanes', value: true }]));
    s.cluster.patches.controlplane = ['@cp.json'];
    s.machines[4].patches = [[{ op: 'replace', path: '/machine/install/wipe', value: true }]];
  } else {
    // multi-document: strategic merge, with a new document and a document-level delete
    writeFileSync(path.join(dir, 'cp.yaml'), 'cluster:\n  allowSchedulingOnControlPlanes: true\n---\napiVersion: v1alpha1\nkind: TimeSyncConfig\nntp:\n  servers: [192.0.2.1]\n');
    s.cluster.patches.controlplane = ['@cp.yaml'];
    s.machines[4].patches = ['apiVersion: v1alpha1\nkind: ResolverConfig\n$patch: delete\n'];
  }
};

const SHAPES: Record<string, (s: any, dir: string) => void> = {
  'single node': single,
  '3 control planes + 2 workers, VIP, bond, disk selector (the example)': () => {},
  'device selector instead of a link name': selectorLink,
  'with user patches (file, @file, inline object, inline YAML text; RFC 6902 on v1.6, document add/delete on v1.13)': withPatches,
};

for (const version of ['v1.6.4', 'v1.13.9']) {
  const schema = version.startsWith('v1.6') ? 'v1.6' : 'v1.13';
  for (const [name, edit] of Object.entries(SHAPES)) {
    test(`${version} ${name}: every document validates against the upstream schema`, async () => {
      const { file } = writeSpec((s, dir) => {
        s.talos.version = version;
        edit(s, dir);
      });
      const loaded = loadSpec(file);
      assert.deepEqual(checkTalos(loaded), []);
      const { rendered } = await generateTalos(loaded, refSecrets);
      const all = [rendered.controlplane, rendered.worker, ...rendered.nodes.map((n) => n.docs)];
      for (const docs of all) {
        for (const d of docs) assert.deepEqual(referenceValidate(schema, d), [], `${String(d.kind ?? 'v1alpha1')}`);
        // what we write parses back to the same documents
        assert.deepEqual(yamlToDocs(docsToYaml(docs)), docs);
      }
      assert.equal(rendered.nodes.length, loaded.spec.machines.length);
    });
  }
}

test('the talosctl bundle drives the configs: CAs, keys and tokens where talosctl puts them', async () => {
  const { file } = writeSpec((s) => (s.talos.version = 'v1.6.4'));
  const { rendered } = await generateTalos(loadSpec(file), refSecrets);
  const cp = rendered.nodes.find((n) => n.name === 'cp1')!.docs[0] as any;
  const w = rendered.nodes.find((n) => n.name === 'worker1')!.docs[0] as any;
  const c = refSecrets.certs;
  assert.equal(cp.machine.token, refSecrets.trustdinfo.token);
  assert.deepEqual(cp.machine.ca, { crt: b64(c.os.crt), key: b64(c.os.key!) });
  assert.deepEqual(w.machine.ca, { crt: b64(c.os.crt), key: '' });
  assert.equal(cp.cluster.id, refSecrets.cluster.id);
  assert.equal(cp.cluster.secret, refSecrets.cluster.secret);
  assert.equal(cp.cluster.token, refSecrets.secrets.bootstraptoken);
  assert.equal(w.cluster.token, refSecrets.secrets.bootstraptoken);
  assert.equal(cp.cluster.secretboxEncryptionSecret, refSecrets.secrets.secretboxencryptionsecret);
  assert.equal(w.cluster.secretboxEncryptionSecret, undefined);
  assert.deepEqual(cp.cluster.ca, { crt: b64(c.k8s.crt), key: b64(c.k8s.key!) });
  assert.deepEqual(w.cluster.ca, { crt: b64(c.k8s.crt), key: '' });
  assert.deepEqual(cp.cluster.aggregatorCA, { crt: b64(c.k8saggregator.crt), key: b64(c.k8saggregator.key!) });
  assert.deepEqual(cp.cluster.serviceAccount, { key: b64(c.k8sserviceaccount.key) });
  assert.deepEqual(cp.cluster.etcd.ca, { crt: b64(c.etcd.crt), key: b64(c.etcd.key!) });
  for (const k of ['aggregatorCA', 'serviceAccount', 'etcd', 'apiServer']) assert.equal(w.cluster[k], undefined, `worker has no ${k}`);
  const tc = yamlToDocs(rendered.talosconfig)[0] as any;
  assert.equal(tc.context, 'mycloud');
  assert.equal(tc.contexts.mycloud.ca, b64(c.os.crt));
  assert.deepEqual(tc.contexts.mycloud.endpoints, ['192.0.2.11', '192.0.2.12', '192.0.2.13']);
});

test('v1.6 node patch: hostname, interface, bond, addresses, route, nameservers, VIP, disk, image in machine.network/install', async () => {
  const { file } = writeSpec((s) => (s.talos.version = 'v1.6.4'));
  const { rendered, installImage } = await generateTalos(loadSpec(file), refSecrets);
  const node = (n: string) => rendered.nodes.find((x) => x.name === n)!.docs;
  const cp3 = node('cp3')[0] as any;
  assert.equal(node('cp3').length, 1);
  assert.equal(cp3.machine.network.hostname, 'cp3');
  assert.deepEqual(cp3.machine.network.interfaces, [
    {
      interface: 'bond0',
      addresses: ['192.0.2.13/24'],
      routes: [{ network: '0.0.0.0/0', gateway: '192.0.2.1' }],
      bond: { interfaces: ['eth0', 'eth1'], mode: '802.3ad', xmitHashPolicy: 'layer3+4', lacpRate: 'fast', miimon: 100 },
      vip: { ip: '192.0.2.10' },
    },
  ]);
  assert.deepEqual(cp3.machine.network.nameservers, ['192.0.2.1']);
  assert.equal(cp3.machine.install.disk, '/dev/sda');
  assert.equal(cp3.machine.install.image, installImage);
  const w1 = node('worker1')[0] as any;
  assert.equal(w1.machine.network.interfaces[0].vip, undefined, 'no VIP on workers');
  assert.deepEqual(w1.machine.install.diskSelector, { size: '>= 500GB', type: 'nvme' });
  assert.equal(w1.machine.install.disk, undefined, 'a selector replaces the default disk');
});

test('v1.13 node patch: HostnameConfig, BondConfig/LinkConfig, Layer2VIPConfig, ResolverConfig documents', async () => {
  const { file } = writeSpec((s) => selectorLink(s));
  const { rendered } = await generateTalos(loadSpec(file), refSecrets);
  const node = (n: string) => rendered.nodes.find((x) => x.name === n)!.docs;
  const kinds = (n: string) => node(n).map((d) => d.kind ?? 'v1alpha1');
  assert.deepEqual(kinds('cp1'), ['v1alpha1', 'HostnameConfig', 'LinkConfig', 'Layer2VIPConfig', 'ResolverConfig']);
  assert.deepEqual(kinds('cp3'), ['v1alpha1', 'HostnameConfig', 'BondConfig', 'Layer2VIPConfig', 'ResolverConfig']);
  assert.deepEqual(kinds('worker1'), ['v1alpha1', 'HostnameConfig', 'LinkAliasConfig', 'LinkConfig', 'ResolverConfig']);
  assert.deepEqual(node('cp1')[1], { apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'off', hostname: 'cp1' });
  assert.deepEqual(node('cp1')[2], { apiVersion: 'v1alpha1', kind: 'LinkConfig', name: 'eth0', up: true, addresses: [{ address: '192.0.2.11/24' }], routes: [{ gateway: '192.0.2.1' }] });
  assert.deepEqual(node('cp3')[3], { apiVersion: 'v1alpha1', kind: 'Layer2VIPConfig', name: '192.0.2.10', link: 'bond0' });
  assert.deepEqual(node('worker1')[2], { apiVersion: 'v1alpha1', kind: 'LinkAliasConfig', name: 'lan0', selector: { match: 'mac(link.hardware_addr) == "52:54:00:00:00:04"' } });
  assert.equal((node('cp1')[0] as any).machine.network, undefined);
});

test('plan: redacted configs without --with-secrets; real ones, bundle and talosconfig (0600) with it', async () => {
  const { file } = writeSpec();
  const loaded = loadSpec(file);
  const plain = await planTalos(loaded, { withSecrets: false });
  assert.deepEqual(plain.map((a) => a.path).sort(), ['controlplane.yaml', 'nodes/cp1.yaml', 'nodes/cp2.yaml', 'nodes/cp3.yaml', 'nodes/worker1.yaml', 'nodes/worker2.yaml', 'worker.yaml']);
  const again = await planTalos(loaded, { withSecrets: false });
  assert.deepEqual(again, plain, 'deterministic: fresh secrets each time, same redacted output');
  for (const a of plain) {
    const text = String(a.content);
    assert.doesNotMatch(text, /LS0tLS1CRUdJTi/, `${a.path} holds no PEM`);
    assert.ok(a.mode === undefined || a.mode === 0o644);
  }
  assert.match(String(plain[0]!.content), /token: '\*\*\*\*\*\*'/);
  const secretFile = path.join(TALOS_REF, 'secrets-from-talosctl.yaml');
  const full = await planTalos(loaded, { withSecrets: true, secretsFile: secretFile });
  assert.ok(full.some((a) => a.path === 'secrets.yaml') && full.some((a) => a.path === 'talosconfig'));
  for (const a of full) assert.equal(a.mode, 0o600, a.path);
  assert.match(String(full.find((a) => a.path === 'controlplane.yaml')!.content), new RegExp(refSecrets.trustdinfo.token.replace('.', '\\.')));
});

test('checkTalos: spec-level problems at their fields', () => {
  const issues = (edit: (s: any, dir: string) => void) => checkTalos(loadSpec(writeSpec(edit).file)).map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.deepEqual(issues((s) => (s.talos.version = 'v1.5.3')), ['talos.version: hearth generates machine configs for Talos v1.6 and later, not v1.5.3']);
  assert.deepEqual(issues((s) => delete s.machines[0].installDisk), ['machines.0.installDisk: a control plane needs installDisk or diskSelector']);
  assert.deepEqual(issues((s) => delete s.machines[4].interface), ['machines.4.address: a static address needs an interface or a bond to sit on']);
  assert.deepEqual(issues((s) => (s.machines[4].hostname = 'cp1')), ['machines.4.hostname: hostname cp1 is already used by machines[0]']);
  assert.deepEqual(
    issues((s) => {
      s.talos.version = 'v1.6.4';
      s.machines[3].interface = { permanentAddr: '52:54:00:00:00:04' };
    }),
    ['machines.3.interface.permanentAddr: Talos v1.6 device selectors have no permanentAddr (busPath, hardwareAddr, pciID, driver)'],
  );
  assert.deepEqual(
    issues((s, dir) => {
      writeFileSync(path.join(dir, 'p.yaml'), 'machine: [\n');
      s.machines[2].patches = ['@p.yaml', 'missing.yaml'];
    }),
    ['machines.2.patches.0: patch file p.yaml: YAML line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]', 'machines.2.patches.1: patch file missing.yaml does not exist (paths are relative to the spec file)'].map((x) => x),
  );
});

test('a patch that breaks talosctl\'s semantic checks is named with the field', async () => {
  const fail = async (edit: (s: any) => void) => {
    const { file } = writeSpec(edit);
    await assert.rejects(generateTalos(loadSpec(file), refSecrets), (e: Error) => {
      assert.equal(e.name, 'InputError');
      return true;
    });
    return generateTalos(loadSpec(file), refSecrets).catch((e: Error) => e.message);
  };
  assert.equal(
    await fail((s) => (s.machines[4].patches = [{ machine: { install: { disk: { $patch: 'delete' } } } }])),
    'patch machines[4].patches[0]: v1alpha1 /machine/install: an install disk or diskSelector is required',
  );
  assert.equal(
    await fail((s) => (s.machines[0].patches = ['apiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 198.51.100.7\nlink: eth0\n'])),
    'patch machines[0].patches[0]: Layer2VIPConfig 198.51.100.7 /name: VIP 198.51.100.7 is outside the subnets of link eth0 (192.0.2.11/24)',
  );
  // both schemas carry the https pattern; the semantic check below is the same rule without a schema
  assert.equal(
    await fail((s) => (s.cluster.patches.common = [{ cluster: { controlPlane: { endpoint: 'http://192.0.2.10:6443' } } }])),
    'patch cluster.patches.common[0]: v1alpha1 /cluster/controlPlane/endpoint: must match pattern "^https://"',
  );
  assert.deepEqual(
    semanticProblems([{ machine: { type: 'worker', install: { disk: '/dev/sda' } }, cluster: { controlPlane: { endpoint: 'http://x:6443' } } }]),
    [{ field: 'v1alpha1 /cluster/controlPlane/endpoint', message: 'must be an https URL, not http://x:6443' }],
  );
});

test('the platform decides the CNI: none (and no kube-proxy with Cilium) when Flux installs it, Talos defaults otherwise', async () => {
  const out = (bundle: string) => path.join(tmpDir(`net-${bundle}`), 'out');
  const read = (dir: string, f: string) => parse(readFileSync(path.join(dir, 'talos', f), 'utf8').split('\n---\n')[0]!);

  const full = writeSpec((s) => (s.platform = { bundle: 'paas-full' }));
  const fullOut = out('full');
  const r1 = await runHearth(['plan', '-f', full.file, '--out', fullOut]);
  assert.equal(r1.code, 0, r1.stderr);
  for (const f of ['controlplane.yaml', 'worker.yaml', 'nodes/cp1.yaml', 'nodes/worker1.yaml']) {
    assert.deepEqual(read(fullOut, f).cluster.network.cni, { name: 'none' }, f);
  }
  assert.equal(read(fullOut, 'controlplane.yaml').cluster.proxy.disabled, true);

  const hosted = writeSpec((s) => (s.platform = { bundle: 'paas-hosted' }));
  const hostedOut = out('hosted');
  const r2 = await runHearth(['plan', '-f', hosted.file, '--out', hostedOut]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(read(hostedOut, 'controlplane.yaml').cluster.network.cni, undefined);
  assert.equal(read(hostedOut, 'controlplane.yaml').cluster.proxy.disabled, undefined);
});

test('plan without --with-secrets: placeholder secrets render the same redacted files as a real bundle', async () => {
  const secretsFile = path.join(TALOS_REF, 'secrets-from-talosctl.yaml');
  for (const edit of [() => {}, (s: any) => (s.talos.version = 'v1.6.4')]) {
    const loaded = loadSpec(writeSpec(edit).file);
    const placeholders = await planTalos(loaded, { withSecrets: false });
    const real = await planTalos(loaded, { withSecrets: false, secretsFile });
    assert.deepEqual(placeholders, real, loaded.spec.talos.version);
    for (const a of placeholders) assert.doesNotMatch(String(a.content), /placeholder/i, `${a.path}: every placeholder is redacted`);
  }
});

test('generateTalos reports every issue of the stage at once, each at FILE:LINE:COL', async () => {
  const { file } = writeSpec((s) => {
    delete s.machines[0].installDisk;
    s.machines[4].hostname = 'cp1';
  });
  await assert.rejects(generateTalos(loadSpec(file), refSecrets), (e: Error & { details?: string[] }) => {
    assert.equal(e.name, 'InputError');
    assert.equal(e.message, `${file}: 2 problems`);
    assert.equal(e.details?.length, 2);
    assert.match(e.details![0]!, new RegExp(`^${file}:\\d+:\\d+ machines\\[0\\]\\.installDisk: a control plane needs installDisk or diskSelector$`));
    assert.match(e.details![1]!, new RegExp(`^${file}:\\d+:\\d+ machines\\[4\\]\\.hostname: hostname cp1 is already used by machines\\[0\\]$`));
    return true;
  });
});
