/**
 * The platform as it must be to install on a real Talos cluster (issue 12 §1): Kube-OVN's chart
 * can find its control planes and puts its objects in the release namespace, Cilium is chained
 * behind Kube-OVN, every CRD a chart renders objects of is installed first, the letsencrypt issuers
 * have an ingress controller, and each pin says where it was checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { runHearth, ROOT } from '../helpers/cli.js';
import { BUNDLES, CATALOG, renderPlatform, type BundleName, type ResolvedComponent } from '../../src/platform/index.js';
import { CHAINED_CNI_CONFIG, CNI_CONFIGMAP, CONTROL_PLANE_LABEL, CRD } from '../../src/platform/bundles/catalog.js';
import { PROVENANCE } from '../../src/platform/bundles/provenance.js';
import { resolveSpec, specWith, tempDir } from './helpers.js';

type Any = Record<string, any>;
const byName = (list: ResolvedComponent[], name: string) => list.find((c) => c.name === name);

/**
 * Kube-OVN's `kubeovn.nodeIPs` helper (charts/kube-ovn/templates/_helpers.tpl, v1.14): MASTER_NODES_LABEL
 * split at `=` into key and value (empty when there is no `=`); a node matches when its label
 * `key` has exactly that value; the chart fails when nothing matches and MASTER_NODES is empty.
 * This is the helper's selection, written out to check the values against real node labels.
 */
function nodeIPs(values: Any, nodes: { labels: Record<string, string>; ip: string }[]): string[] {
  const [key, val = ''] = String(values.MASTER_NODES_LABEL).split('=');
  const ips = nodes.filter((n) => n.labels[key!] === val).map((n) => n.ip);
  if (ips.length === 0 && !values.MASTER_NODES) throw new Error(`No nodes found with label '${values.MASTER_NODES_LABEL}'`);
  return ips;
}

/** The labels Talos gives a control-plane node and a worker (machine.nodeLabels + the kubelet's role label). */
const TALOS_NODES: { labels: Record<string, string>; ip: string }[] = [
  { labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/os': 'linux' }, ip: '192.0.2.11' },
  { labels: { 'kubernetes.io/os': 'linux' }, ip: '192.0.2.21' },
];

test('Kube-OVN finds the Talos control planes (MASTER_NODES_LABEL) and puts its objects in the release namespace', () => {
  const r = resolveSpec({});
  const kubeovn = byName(r.components, 'kubeovn')!;
  assert.equal(kubeovn.values.MASTER_NODES_LABEL, CONTROL_PLANE_LABEL);
  assert.equal(kubeovn.values.MASTER_NODES, undefined, 'no static list: the helper looks the nodes up');
  assert.deepEqual(nodeIPs(kubeovn.values, TALOS_NODES), ['192.0.2.11']);
  // The chart's default label would match no Talos node: the install would fail.
  assert.throws(() => nodeIPs({ MASTER_NODES_LABEL: 'kube-ovn/role=master' }, TALOS_NODES), /No nodes found/);
  // .Values.namespace (default kube-system) is where the chart puts its objects: the release namespace.
  assert.equal(kubeovn.values.namespace, kubeovn.namespace);
  assert.equal(kubeovn.values.namespace, 'hearth-kubeovn');
  const hr = renderPlatform(r.components).releases.find((x) => x.metadata.name === 'kubeovn')!;
  assert.equal((hr.spec as Any).values.namespace, hr.metadata.namespace);

  // A namespace override moves the objects too; an explicit value wins.
  const moved = resolveSpec({ components: [{ name: 'kubeovn', namespace: 'ovn' }] });
  assert.equal(byName(moved.components, 'kubeovn')!.values.namespace, 'ovn');
  const pinned = resolveSpec({ values: { kubeovn: { namespace: 'kube-system' } } });
  assert.equal(byName(pinned.components, 'kubeovn')!.values.namespace, 'kube-system');
});

test('Kube-OVN is the primary CNI and Cilium is chained behind it (generic-veth, the cni-configuration ConfigMap, native routing)', () => {
  const r = resolveSpec({});
  const cilium = byName(r.components, 'cilium')!.values as Any;
  const kubeovn = byName(r.components, 'kubeovn')!.values as Any;
  assert.deepEqual(
    { chainingMode: cilium.cni.chainingMode, customConf: cilium.cni.customConf, configMap: cilium.cni.configMap },
    { chainingMode: 'generic-veth', customConf: true, configMap: CNI_CONFIGMAP },
  );
  assert.equal(cilium.routingMode, 'native');
  assert.equal(cilium.enableIPv4Masquerade, false);
  assert.equal(cilium.enableIdentityMark, false);
  // NetworkPolicy and services are Cilium's; Kube-OVN's config file sorts after Cilium's 05-cilium.conflist.
  assert.deepEqual(kubeovn.func, { ENABLE_LB: false, ENABLE_NP: false });
  assert.equal(kubeovn.cni_conf.CNI_CONFIG_PRIORITY, '10');
  assert.ok('05-cilium.conflist' < `${kubeovn.cni_conf.CNI_CONFIG_PRIORITY}-kube-ovn.conflist`);

  // The ConfigMap lives where the Cilium chart reads it (its release namespace), before Cilium starts.
  const chain = byName(r.components, 'cilium-chaining')!;
  assert.equal(chain.namespace, byName(r.components, 'cilium')!.namespace);
  assert.ok(byName(r.components, 'cilium')!.dependsOn.includes('cilium-chaining'));
  assert.ok(byName(r.components, 'kubeovn')!.dependsOn.includes('cilium'));
  const cm = (chain.values.resources as Any[])[0]!;
  assert.equal(cm.kind, 'ConfigMap');
  assert.equal(cm.metadata.name, CNI_CONFIGMAP);
  const conf = JSON.parse(cm.data['cni-config']) as typeof CHAINED_CNI_CONFIG;
  assert.deepEqual(conf.plugins.map((p) => p.type), ['kube-ovn', 'portmap', 'cilium-cni']);
  // One pod IPAM: Kube-OVN's, over the cluster's pod CIDR; Cilium allocates no pod addresses.
  assert.deepEqual(conf.plugins.filter((p) => 'ipam' in p).map((p) => p.type), ['kube-ovn']);
  assert.equal(kubeovn.ipv4.POD_CIDR, '10.244.0.0/16');

  // The chaining config goes with Cilium; disabling both CNIs leaves Flux off the host network.
  const own = resolveSpec({ disable: ['cilium', 'kubeovn'] });
  assert.equal(byName(own.components, 'cilium-chaining'), undefined);
  assert.equal(own.ctx.fluxOnHostNetwork, false);
});

/** Every component that renders objects of a CRD comes (transitively) after the component installing it. */
function transitiveDeps(list: ResolvedComponent[], name: string, seen = new Set<string>()): Set<string> {
  for (const d of byName(list, name)?.dependsOn ?? []) {
    if (seen.has(d)) continue;
    seen.add(d);
    transitiveDeps(list, d, seen);
  }
  return seen;
}

test('every CRD a chart renders objects of is installed first: the dependency graph encodes it in every bundle', () => {
  const providers = new Map<string, string>();
  for (const c of CATALOG) for (const crd of c.crds?.provides ?? []) providers.set(crd, c.name);
  assert.equal(providers.get(CRD.serviceMonitors), 'prometheus-operator-crds');
  const uses = CATALOG.filter((c) => (c.crds?.uses ?? []).length > 0);
  assert.ok(uses.some((c) => c.name === 'mariadb-operator' && c.crds!.uses!.includes(CRD.serviceMonitors)));
  for (const bundle of Object.keys(BUNDLES) as BundleName[]) {
    const r = resolveSpec({ bundle, loadBalancer: { addresses: ['192.0.2.200-192.0.2.220'] } });
    for (const c of r.components) {
      for (const crd of c.crds?.uses ?? []) {
        const p = providers.get(crd);
        assert.ok(p, `${c.name} uses ${crd}, which no catalog component installs`);
        assert.ok(transitiveDeps(r.components, c.name).has(p), `${bundle}: ${c.name} renders ${crd} but does not come after ${p}`);
      }
    }
    assert.deepEqual(r.warnings, [], bundle);
  }
  const without = resolveSpec({ disable: ['prometheus-operator-crds'] });
  assert.ok(without.warnings.some((w) => /mariadb-operator renders servicemonitors\.monitoring\.coreos\.com objects.*prometheus-operator-crds is left out/.test(w)), without.warnings.join('\n'));
});

test('the letsencrypt issuers solve http01 through the ingress controller the platform installs, or are left out', () => {
  const issuersOf = (r: ReturnType<typeof resolveSpec>) => (byName(r.components, 'cert-manager-issuers')!.values.resources as Any[]);
  const full = resolveSpec({ loadBalancer: { addresses: ['192.0.2.200/29'] } });
  const ingress = byName(full.components, 'ingress-nginx')!;
  const cls = (ingress.values as Any).controller.ingressClassResource.name;
  const le = issuersOf(full).filter((i) => i.metadata.name.startsWith('letsencrypt-'));
  assert.equal(le.length, 2);
  for (const i of le) assert.equal(i.spec.acme.solvers[0].http01.ingress.ingressClassName, cls);
  assert.ok(byName(full.components, 'cert-manager-issuers')!.dependsOn.includes('ingress-nginx'));
  assert.ok(ingress.dependsOn.includes('metallb-pool'), 'its LoadBalancer Service needs the pool');

  // Bare metal without a pool: the controller could never get an address, so it and the letsencrypt issuers stay out.
  const noPool = resolveSpec({});
  assert.equal(byName(noPool.components, 'ingress-nginx'), undefined);
  assert.deepEqual(issuersOf(noPool).map((i) => i.metadata.name), ['selfsigned-cluster-issuer']);
  assert.ok(noPool.warnings.some((w) => w.startsWith('ingress-nginx left out: no platform.loadBalancer.addresses')));
  // A hosted cluster has a load balancer: the controller and the issuers are there.
  const hosted = resolveSpec({ bundle: 'paas-hosted' });
  assert.ok(byName(hosted.components, 'ingress-nginx'));
  assert.equal(issuersOf(hosted).length, 3);
  // Disabled by the spec: no issuer refers to a class nobody serves.
  const off = resolveSpec({ bundle: 'paas-hosted', disable: ['ingress-nginx'] });
  assert.deepEqual(issuersOf(off).map((i) => i.metadata.name), ['selfsigned-cluster-issuer']);
});

test('every catalog component records the upstream files its chart version was checked against; the weak pins say so', () => {
  for (const c of CATALOG) {
    const p = PROVENANCE[c.name];
    assert.ok(p && p.length > 0, `${c.name} has no provenance`);
    assert.ok(p.some((x) => /chart version/.test(x.checks)), `${c.name}: no provenance for its chart version`);
    for (const x of p) {
      assert.ok(x.repo && x.path && x.ref, `${c.name}: provenance needs repo, path and ref`);
      assert.ok(!x.weak || x.weak.length > 20, `${c.name}: a weak pin says why`);
    }
  }
  for (const name of ['fluxcd-operator', 'piraeus-operator', 'grafana-operator']) {
    assert.ok(PROVENANCE[name]!.some((x) => /chart version/.test(x.checks) && x.weak), `${name}'s pin is weak and must say so`);
  }
  assert.deepEqual(Object.keys(PROVENANCE).sort(), CATALOG.map((c) => c.name).sort(), 'no provenance for components that do not exist');
});

test('hearth platform plan shows the provenance and the node needs; -o json carries both', async () => {
  const dir = tempDir('provenance');
  try {
    const spec = specWith({ loadBalancer: { addresses: ['192.0.2.200/29'] } }, dir);
    const t = await runHearth(['platform', 'plan', '-f', spec]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /\n {2}kubeovn:\n {4}cozystack\/cozystack packages\/system\/kubeovn\/values\.yaml @ 03328dc4e4389e84e4c8a1db4c576b57c040da1d: /);
    assert.match(t.stdout, /\n {2}fluxcd-operator:\n(.*\n)*? {6}WEAK: /);
    assert.match(t.stdout, /the Talos configs give the nodes:\n {2}kernel modules: openvswitch \(kubeovn\); .*; drbd usermode_helper=disabled \(linstor\); drbd_transport_tcp \(linstor\)\n/);
    assert.match(t.stdout, /\n {2}node-only ports: tcp\/9790 source-controller artifact server \(fluxcd\); /);
    const j = await runHearth(['platform', 'plan', '-f', spec, '-o', 'json']);
    assert.equal(j.code, 0, j.stderr);
    const data = JSON.parse(j.stdout) as Any;
    const all = (data.waves as Any[]).flatMap((w) => w.components as Any[]);
    const piraeus = all.find((c) => c.name === 'piraeus-operator')!;
    assert.ok(piraeus.provenance.some((p: Any) => p.repo === 'piraeusdatastore/piraeus-operator' && p.weak));
    assert.deepEqual(data.node.extensions, [{ name: 'drbd', for: ['linstor'] }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hearth validate fails, at image.extensions, when an enabled component needs an extension the image lacks; every problem at once', async () => {
  const dir = tempDir('extensions');
  try {
    const doc = parse(readFileSync(path.join(ROOT, 'examples/hearth.yaml'), 'utf8')) as Any;
    doc.image.extensions = ['zfs'];
    doc.platform = { disable: ['telepresense'] };
    const file = path.join(dir, 'hearth.yaml');
    writeFileSync(file, stringify(doc));
    const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => /^ {2}extensions:/.test(l)) + 1;
    const r = await runHearth(['validate', '-f', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`hearth\\.yaml:${line}:\\d+ image\\.extensions: linstor needs the Talos system extension drbd: add it to image\\.extensions, or list linstor in platform\\.disable`));
    assert.match(r.stderr, /platform\.disable\[0\]: unknown component telepresense/);
    assert.match(r.stderr, /2 problems/);
    // Without LINSTOR nothing needs drbd.
    doc.platform = { disable: ['linstor', 'piraeus-operator'] };
    writeFileSync(file, stringify(doc));
    const ok = await runHearth(['validate', '-f', file]);
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
