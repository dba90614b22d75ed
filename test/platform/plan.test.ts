import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { parse } from 'yaml';
import { runHearth } from '../helpers/cli.js';
import { BUNDLES, CATALOG, bundleComponents, waves, type BundleName } from '../../src/platform/index.js';
import { specWith, tempDir, resolveSpec } from './helpers.js';

/** The seed's `kubectl get hr -A` table (cozy-fluxcd is hearth's fluxcd). */
const SEED = [
  'cert-manager', 'cert-manager-issuers', 'cilium', 'capi-operator', 'capi-providers', 'dashboard', 'fluxcd', 'grafana-operator',
  'kamaji', 'kubeovn', 'kubevirt-cdi', 'kubevirt-cdi-operator', 'kubevirt', 'kubevirt-operator', 'linstor', 'piraeus-operator',
  'mariadb-operator', 'metallb', 'monitoring', 'postgres-operator', 'rabbitmq-operator', 'redis-operator', 'telepresence',
  'victoria-metrics-operator',
];


test('paas-full has every release of the seed table, plus the Flux operator, the MetalLB pool, the CNI chaining config, the ingress controller and the Prometheus CRDs', () => {
  const names = bundleComponents('paas-full');
  for (const s of SEED) assert.ok(names.includes(s), `paas-full lacks ${s}`);
  assert.deepEqual(names.filter((n) => !SEED.includes(n)).sort(), ['cilium-chaining', 'fluxcd-operator', 'ingress-nginx', 'metallb-pool', 'prometheus-operator-crds']);
});

test('every catalog component is complete: hearth- namespace, pinned chart, known dependencies, a source note', () => {
  const names = new Set(CATALOG.map((c) => c.name));
  assert.equal(names.size, CATALOG.length, 'duplicate catalog names');
  for (const c of CATALOG) {
    assert.match(c.namespace, /^hearth-[a-z0-9-]+$/, c.name);
    assert.match(c.chart.repository, /^(https|oci):\/\//, c.name);
    assert.match(c.chart.version, /^v?\d+\.\d+\.\d+$/, `${c.name} version must be pinned`);
    assert.ok(c.source.startsWith('chart: '), `${c.name} must say where its chart comes from`);
    for (const d of c.dependsOn) assert.ok(names.has(d), `${c.name} depends on unknown ${d}`);
  }
});

test('distro-full drops virtualisation, tenant clusters and the dashboard; hosted variants drop CNI, load balancer and storage', () => {
  const distro = bundleComponents('distro-full');
  for (const n of ['kubevirt', 'kubevirt-operator', 'kubevirt-cdi', 'kubevirt-cdi-operator', 'kamaji', 'capi-operator', 'capi-providers', 'dashboard']) {
    assert.ok(!distro.includes(n), `distro-full has ${n}`);
  }
  for (const n of ['cilium', 'kubeovn', 'cert-manager', 'metallb', 'linstor', 'monitoring', 'fluxcd']) assert.ok(distro.includes(n), `distro-full lacks ${n}`);
  for (const b of ['paas-hosted', 'distro-hosted'] as BundleName[]) {
    const hosted = bundleComponents(b);
    for (const n of ['cilium', 'kubeovn', 'metallb', 'metallb-pool', 'piraeus-operator', 'linstor']) assert.ok(!hosted.includes(n), `${b} has ${n}`);
    assert.ok(hosted.includes('cert-manager') && hosted.includes('fluxcd'));
  }
  assert.ok(bundleComponents('paas-hosted').includes('kubevirt'));
  assert.ok(!bundleComponents('distro-hosted').includes('kamaji'));
  assert.deepEqual(Object.keys(BUNDLES).sort(), ['distro-full', 'distro-hosted', 'paas-full', 'paas-hosted']);
});

test('every bundle resolves without issues into waves where each release comes after its dependencies', () => {
  for (const bundle of Object.keys(BUNDLES)) {
    const r = resolveSpec({ bundle, loadBalancer: { addresses: ['192.0.2.200-192.0.2.220'] } });
    assert.deepEqual(r.issues, [], bundle);
    const names = new Set(r.components.map((c) => c.name));
    const w = waves(r.components);
    const waveOf = new Map(w.flatMap((list, i) => list.map((c) => [c.name, i] as const)));
    for (const c of r.components) {
      for (const d of c.dependsOn) {
        assert.ok(names.has(d), `${bundle}: ${c.name} depends on ${d}, which is not in the bundle`);
        assert.ok(waveOf.get(d)! < waveOf.get(c.name)!, `${bundle}: ${d} must come before ${c.name}`);
      }
    }
  }
  const full = waves(resolveSpec({ bundle: 'paas-full' }).components);
  // The chained CNI config first, then Cilium, then Kube-OVN (Cozystack's order); CRDs need no pod network.
  assert.deepEqual(full[0]!.map((c) => c.name), ['cilium-chaining', 'fluxcd-operator', 'prometheus-operator-crds']);
  assert.deepEqual(full[1]!.map((c) => c.name), ['cilium']);
  assert.deepEqual(full[2]!.map((c) => c.name), ['kubeovn']);
});

test('values are deep-merged over the bundle defaults; overrides replace fields; spec components get a hearth- namespace', () => {
  const r = resolveSpec({
    values: { cilium: { hubble: { enabled: true }, cgroup: { hostRoot: '/custom' } } },
    components: [
      { name: 'metallb', chart: { repository: 'oci://registry.example.test/charts', name: 'metallb', version: '0.15.0' } },
      { name: 'my-app', chart: { repository: 'https://charts.example.test', name: 'my-app', version: '1.2.3' }, dependsOn: ['cert-manager'] },
    ],
  });
  const cilium = r.components.find((c) => c.name === 'cilium')!;
  assert.equal((cilium.values.hubble as { enabled: boolean }).enabled, true);
  assert.deepEqual(cilium.values.cgroup, { autoMount: { enabled: false }, hostRoot: '/custom' });
  assert.equal(cilium.values.kubeProxyReplacement, true);
  assert.equal(cilium.values.k8sServicePort, 7445);
  const metallb = r.components.find((c) => c.name === 'metallb')!;
  assert.equal(metallb.origin, 'override');
  assert.equal(metallb.chart.version, '0.15.0');
  assert.deepEqual(metallb.dependsOn, ['cilium', 'kubeovn']);
  const app = r.components.find((c) => c.name === 'my-app')!;
  assert.equal(app.namespace, 'hearth-my-app');
  assert.deepEqual(app.dependsOn, ['cert-manager']);
});

test('kubeovn takes its CIDRs from the cluster section', () => {
  const r = resolveSpec({});
  const ovn = r.components.find((c) => c.name === 'kubeovn')!;
  assert.deepEqual(ovn.values.ipv4, { POD_CIDR: '10.244.0.0/16', POD_GATEWAY: '10.244.0.1', SVC_CIDR: '10.96.0.0/12', JOIN_CIDR: '100.64.0.0/16' });
});

async function planWith(platform: Record<string, unknown>, args: string[] = []) {
  const dir = tempDir('plancli');
  try {
    const file = specWith(platform, dir);
    return { ...(await runHearth(['platform', 'plan', '-f', file, ...args])), file };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('plan refuses a cycle with exit 2 naming the components, at the dependsOn field', async () => {
  const r = await planWith({
    components: [
      { name: 'alpha', chart: { repository: 'https://charts.example.test', name: 'alpha', version: '1.0.0' }, dependsOn: ['beta'] },
      { name: 'beta', chart: { repository: 'https://charts.example.test', name: 'beta', version: '1.0.0' }, dependsOn: ['alpha'] },
    ],
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /:\d+:\d+ platform\.components\[0\]\.dependsOn\[0\]: cycle: alpha -> beta -> alpha\n/);
  assert.equal(r.stdout, '');
});

test('plan refuses an unknown dependency and a duplicate name with exit 2 and exact messages', async () => {
  const r = await planWith({
    components: [
      { name: 'alpha', chart: { repository: 'https://charts.example.test', name: 'alpha', version: '1.0.0' }, dependsOn: ['cert-manger', 'gamma'] },
      { name: 'alpha', chart: { repository: 'https://charts.example.test', name: 'alpha', version: '2.0.0' } },
    ],
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, / platform\.components\[0\]\.dependsOn\[0\]: unknown component cert-manger \(did you mean "cert-manager"\?\) in the dependsOn of alpha\n/);
  assert.match(r.stderr, / platform\.components\[0\]\.dependsOn\[1\]: unknown component gamma in the dependsOn of alpha\n/);
  assert.match(r.stderr, / platform\.components\[1\]\.name: duplicate component name alpha \(also platform\.components\[0\]\)\n/);
});

test('plan refuses unknown names in disable and values, and a component outside the bundle', async () => {
  const r = await planWith({
    bundle: 'paas-hosted',
    disable: ['telepresense'],
    values: { nope: { a: 1 } },
    loadBalancer: { addresses: ['192.0.2.20-192.0.2.10', '192.0.2.0/33', '192.0.2.1-2001:db8::1', '192.0.2.200/29'] },
    components: [{ name: 'x', chart: { repository: 'https://charts.example.test', name: 'x', version: '1.0.0' }, dependsOn: ['cilium'] }],
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, / platform\.disable\[0\]: unknown component telepresense \(did you mean "telepresence"\?\)\n/);
  assert.match(r.stderr, / platform\.values\.nope: unknown component nope\n/);
  assert.match(r.stderr, / platform\.loadBalancer\.addresses\[0\]: 192\.0\.2\.20-192\.0\.2\.10 ends before it starts\n/);
  assert.match(r.stderr, / platform\.loadBalancer\.addresses\[2\]: 192\.0\.2\.1-2001:db8::1 mixes IPv4 and IPv6\n/);
  assert.doesNotMatch(r.stderr, /addresses\[3\]/);
  assert.match(r.stderr, / platform\.components\[0\]\.dependsOn\[0\]: unknown component cilium \(not in bundle paas-hosted\) in the dependsOn of x\n/);
});

test('a dependsOn on a disabled component is dropped with a warning; plan -o json shows the waves', async () => {
  const r = await planWith({ disable: ['cert-manager', 'telepresence'] }, ['-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: cert-manager is disabled: dropped from the dependsOn of cert-manager-issuers, victoria-metrics-operator, /);
  const data = JSON.parse(r.stdout) as { bundle: string; waves: { wave: number; components: { name: string; dependsOn: string[] }[] }[] };
  const all = data.waves.flatMap((w) => w.components);
  assert.ok(!all.some((c) => c.name === 'cert-manager' || c.name === 'telepresence'));
  assert.ok(!all.some((c) => c.dependsOn.includes('cert-manager')));
  assert.equal(data.bundle, 'paas-full');
  assert.equal(data.waves[0]!.wave, 1);
});

test('plan text and yaml outputs', async () => {
  const t = await planWith({ loadBalancer: { addresses: ['192.0.2.200/29'] } });
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^bundle paas-full, Flux v2\.9\.0: 29 components in 7 waves\n/);
  assert.match(t.stdout, /wave 2 \(1 in parallel, after earlier waves\):\n {2}cilium +hearth-cilium +cilium@1\.17\.8 +privileged +after cilium-chaining\n/);
  const y = await planWith({ bundle: 'distro-hosted' }, ['-o', 'yaml']);
  assert.equal(y.code, 0);
  const data = parse(y.stdout) as { bundle: string; waves: unknown[] };
  assert.equal(data.bundle, 'distro-hosted');
});
