/**
 * The Talos configs carry what the enabled platform components need from the nodes (kernel
 * modules, the CRI part, the ingress firewall for Flux's host ports), derived by one function from
 * the same resolution `hearth platform` uses, for `hearth talos config`, `hearth plan` and bootstrap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { prepare } from '../../src/pipeline/prepare.js';
import { loadSpec } from '../../src/spec/index.js';
import { nodeRequirements, type NodeRequirements } from '../../src/platform/index.js';
import { contractFor, criPart, docsToYaml, generateTalos, parseSecrets, platformPatches, yamlToDocs, type Doc } from '../../src/talos/index.js';
import { FIXTURES, runHearth } from '../helpers/cli.js';
import { TALOS_REF, referenceValidate, writeSpec } from './helpers.js';

const refSecrets = parseSecrets(readFileSync(path.join(TALOS_REF, 'secrets-from-talosctl.yaml'), 'utf8'));
const GOLDEN_DIR = path.join(FIXTURES, 'talos-platform');
type Any = Record<string, any>;

const v1 = (docs: Doc[]) => docs.find((d) => d.kind === undefined) as Any;
const kind = (docs: Doc[], k: string) => docs.filter((d) => d.kind === k) as Any[];

for (const version of ['v1.6.4', 'v1.13.9']) {
  const schema = version.startsWith('v1.6') ? 'v1.6' : 'v1.13';
  test(`${version}: every machine config loads the platform's kernel modules, carries its CRI part and its ingress firewall, and validates upstream`, async () => {
    const { file } = writeSpec((s) => {
      s.talos.version = version;
      s.image.firmware = ['intel-ucode']; // a name both releases use
      s.platform = { loadBalancer: { addresses: ['192.0.2.200/29'] } };
    });
    const p = prepare(file);
    const { rendered } = await generateTalos(p.loaded, refSecrets, p.talos);
    assert.deepEqual(rendered.warnings, []);
    for (const docs of [rendered.controlplane, rendered.worker, ...rendered.nodes.map((n) => n.docs)]) {
      const m = v1(docs).machine;
      assert.deepEqual(m.kernel.modules, [
        { name: 'openvswitch' },
        { name: 'vfio_pci' },
        { name: 'vfio_iommu_type1' },
        { name: 'drbd', parameters: ['usermode_helper=disabled'] },
        { name: 'drbd_transport_tcp' },
      ]);
      const cri = (m.files as Any[]).find((f) => f.path === '/etc/cri/conf.d/20-customization.part');
      assert.ok(cri, 'the CRI part');
      assert.equal(cri.op, 'create');
      // containerd 2 (Talos 1.9 and later) keeps runtime settings in io.containerd.cri.v1.runtime.
      const table = schema === 'v1.13' ? 'io.containerd.cri.v1.runtime' : 'io.containerd.grpc.v1.cri';
      assert.equal(cri.content, `[plugins]\n  [plugins."${table}"]\n    device_ownership_from_security_context = true\n`);
      assert.deepEqual(kind(docs, 'NetworkDefaultActionConfig'), [{ apiVersion: 'v1alpha1', kind: 'NetworkDefaultActionConfig', ingress: 'accept' }]);
      assert.deepEqual(kind(docs, 'NetworkRuleConfig'), [
        { apiVersion: 'v1alpha1', kind: 'NetworkRuleConfig', name: 'hearth-node-only-tcp', portSelector: { ports: [9790, 9690, 9797], protocol: 'tcp' }, ingress: [{ subnet: '192.0.2.0/24' }] },
      ]);
      for (const d of docs) {
        // The v1.6 schema file covers the v1alpha1 document only; the firewall documents (Talos 1.6+) are checked with v1.13's definitions.
        const against = d.kind === undefined ? schema : 'v1.13';
        assert.deepEqual(referenceValidate(against, d), [], `${String(d.kind ?? 'v1alpha1')}`);
      }
    }
  });
}

/** The documents the platform's needs become, as YAML: the reviewed goldens. */
function derivedYaml(version: string, node: NodeRequirements): string {
  const spec = loadSpec(writeSpec((s) => (s.talos.version = version)).file).spec;
  const out = platformPatches({ networking: { cniNone: true, kubeProxyDisabled: true }, node }, contractFor(version), spec);
  const docs = [...out.common, ...out.controlplane, ...out.last].flatMap((s) => (s.patch.kind === 'strategic' ? s.patch.docs : []));
  return docsToYaml(docs);
}

test('the derived patches match the reviewed goldens (v1.13 and v1.6: the CRI table differs)', () => {
  const { file } = writeSpec((s) => (s.platform = { loadBalancer: { addresses: ['192.0.2.200/29'] } }));
  const node = prepare(file).platform.node;
  for (const version of ['v1.13.9', 'v1.6.4']) {
    const want = readFileSync(path.join(GOLDEN_DIR, `platform-patches-${version.replace(/\.\d+$/, '')}.yaml`), 'utf8');
    assert.equal(derivedYaml(version, node), want, version);
    assert.ok(yamlToDocs(want).length >= 5);
  }
});

test('the CRI part quotes strings and writes numbers and booleans bare', () => {
  const text = criPart(contractFor('v1.13.9'), [
    { key: 'a', value: true, for: ['x'] },
    { key: 'b', value: 3, for: ['x'] },
    { key: 'c', value: 'x"y', for: ['x'] },
  ]);
  assert.equal(text, '[plugins]\n  [plugins."io.containerd.cri.v1.runtime"]\n    a = true\n    b = 3\n    c = "x\\"y"\n');
});

test('without a static address for every machine the nodes\' networks are unknown: no firewall, and a warning instead', () => {
  const { file } = writeSpec((s) => {
    delete s.machines[4].address;
    delete s.machines[4].gateway;
  });
  const p = prepare(file);
  const out = platformPatches(p.talos, contractFor('v1.13.9'), p.loaded.spec);
  assert.deepEqual(out.last, []);
  assert.deepEqual(out.warnings, [
    'a machine has no static address, so the nodes\' networks are unknown: no ingress firewall for tcp/9790, tcp/9690, tcp/9797 (fluxcd)',
  ]);
  // Nothing else changes: the modules and the CRI part are still there.
  assert.ok(out.common.some((s) => s.source.startsWith('platform kernel modules (kubeovn, kubevirt, linstor)')));
  const none = nodeRequirements([]).requirements;
  assert.deepEqual(platformPatches({ node: none }, contractFor('v1.13.9'), p.loaded.spec), { common: [], controlplane: [], last: [], warnings: [] });
});

test('hearth talos config and hearth plan write the same platform-derived settings (one derivation)', async () => {
  const { dir, file } = writeSpec((s) => (s.platform = { loadBalancer: { addresses: ['192.0.2.200/29'] } }));
  const cfg = await runHearth(['talos', 'config', '-f', file, '--out', path.join(dir, 'cfg')]);
  assert.equal(cfg.code, 0, cfg.stderr);
  const plan = await runHearth(['plan', '-f', file, '--out', path.join(dir, 'plan')]);
  const derived = (f: string) => {
    const docs = yamlToDocs(readFileSync(f, 'utf8'));
    const m = v1(docs).machine;
    return { modules: m.kernel?.modules, files: m.files, firewall: docs.filter((d) => String(d.kind ?? '').startsWith('Network')) };
  };
  const fromConfig = derived(path.join(dir, 'cfg', 'nodes', 'worker1.yaml'));
  assert.equal(fromConfig.firewall.length, 2);
  assert.ok(fromConfig.modules.some((m: Any) => m.name === 'drbd'));
  if (plan.code === 0) assert.deepEqual(derived(path.join(dir, 'plan', 'talos', 'nodes', 'worker1.yaml')), fromConfig);
  else assert.doesNotMatch(plan.stderr, /talos|platform/, 'other stages are other people\'s');
});

test('v1.6: an RFC 6902 spec patch still applies (the firewall documents come after every spec patch)', async () => {
  const { file } = writeSpec((s) => {
    s.talos.version = 'v1.6.4';
    s.image.firmware = ['intel-ucode'];
    s.cluster.patches.controlplane = [[{ op: 'add', path: '/cluster/allowSchedulingOnControlPlanes', value: true }]];
  });
  const p = prepare(file);
  const { rendered } = await generateTalos(p.loaded, refSecrets, p.talos);
  assert.equal(v1(rendered.controlplane).cluster.allowSchedulingOnControlPlanes, true);
  assert.deepEqual(rendered.controlplane.map((d) => d.kind ?? 'v1alpha1'), ['v1alpha1', 'NetworkDefaultActionConfig', 'NetworkRuleConfig']);
});

test('version contract: the ingress firewall from Talos 1.6, containerd 2 (the cri.v1.runtime table) from 1.9', () => {
  assert.equal(contractFor('v1.6.0').ingressFirewall, true);
  assert.equal(contractFor('v1.5.5').ingressFirewall, false);
  assert.equal(contractFor('v1.8.4').containerd2, false);
  assert.equal(contractFor('v1.9.0').containerd2, true);
  assert.match(criPart(contractFor('v1.8.4'), [{ key: 'k', value: true, for: [] }]), /"io\.containerd\.grpc\.v1\.cri"/);
  // A contract without the firewall: the ports are named in a warning instead of silently left open.
  const { file } = writeSpec();
  const p = prepare(file);
  const out = platformPatches(p.talos, { ...contractFor('v1.13.9'), ingressFirewall: false, name: 'v1.5' }, p.loaded.spec);
  assert.deepEqual(out.last, []);
  assert.deepEqual(out.warnings, ['Talos v1.5 has no ingress firewall: tcp/9790, tcp/9690, tcp/9797 (fluxcd) stay reachable from anywhere']);
});
