import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { runHearth } from '../helpers/cli.js';
import { BUNDLES, CATALOG, allObjects, renderPlatform, type KubeObject } from '../../src/platform/index.js';
import { FLUX_REF, specWith, tempDir, resolveSpec } from './helpers.js';

/** apiVersion/kind -> the openAPIV3Schema of that served version in the reference CRDs. */
function crdValidators(): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const out = new Map<string, ValidateFunction>();
  for (const f of readdirSync(FLUX_REF).filter((x) => x.endsWith('.crd.yaml'))) {
    const crd = parse(readFileSync(path.join(FLUX_REF, f), 'utf8')) as {
      spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: object } }[] };
    };
    for (const v of crd.spec.versions.filter((x) => x.served)) {
      out.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, ajv.compile(v.schema.openAPIV3Schema));
    }
  }
  return out;
}

/**
 * Kubernetes' Namespace (io.k8s.api.core.v1.Namespace) with the ObjectMeta rules the API server
 * enforces on what hearth writes: a DNS-1123 label name, qualified label keys, label values.
 */
const NAMESPACE_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'v1' },
    kind: { const: 'Namespace' },
    metadata: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
        labels: {
          type: 'object',
          propertyNames: { maxLength: 317, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$' },
          additionalProperties: { type: 'string', maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' },
        },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    spec: { type: 'object', additionalProperties: false, properties: { finalizers: { type: 'array', items: { type: 'string' } } } },
  },
};


const validators = crdValidators();
const nsValidator = new Ajv({ strict: true, allErrors: true }).compile(NAMESPACE_SCHEMA);

function validate(o: KubeObject): string[] {
  if (o.kind === 'Namespace') return nsValidator(o) ? [] : (nsValidator.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  const v = validators.get(`${o.apiVersion}/${o.kind}`);
  if (!v) return [`no served CRD version for ${o.apiVersion} ${o.kind}`];
  return v(o) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

test('the validators are real: a broken HelmRelease and a bad Namespace are rejected', () => {
  const bad: KubeObject = { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'x', namespace: 'y' }, spec: { interval: 'soon', chart: { spec: {} } } };
  assert.ok(validate(bad).length > 0);
  assert.ok(validate({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Bad_Name' } }).length > 0);
  assert.ok(validate({ apiVersion: 'source.toolkit.fluxcd.io/v1beta2', kind: 'HelmRepository', metadata: { name: 'x' } }).length > 0);
});

test('every rendered object of every bundle validates against the served CRD schema (and Namespaces against Kubernetes)', () => {
  for (const bundle of Object.keys(BUNDLES)) {
    const r = resolveSpec({
      bundle,
      loadBalancer: { addresses: ['192.0.2.200-192.0.2.220'] },
      values: { 'cert-manager': { replicaCount: 2 } },
      components: [
        { name: 'my-app', chart: { repository: 'https://charts.example.test', name: 'my-app', version: '1.2.3' }, dependsOn: ['cert-manager'], privileged: true },
        { name: 'oci-app', namespace: 'apps', chart: { repository: 'oci://registry.example.test/charts', name: 'oci-app', version: '0.1.0' } },
      ],
    });
    const objects = allObjects(renderPlatform(r.components));
    assert.ok(objects.length > 10);
    for (const o of objects) assert.deepEqual(validate(o), [], `${bundle}: ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    const kinds = new Set(objects.map((o) => `${o.apiVersion} ${o.kind}`));
    assert.deepEqual([...kinds].sort(), [
      'helm.toolkit.fluxcd.io/v2 HelmRelease',
      'source.toolkit.fluxcd.io/v1 HelmRepository',
      'source.toolkit.fluxcd.io/v1 OCIRepository',
      'v1 Namespace',
    ]);
  }
});

test('HelmReleases: namespace-qualified dependsOn, remediation, merged values, sources by URL or OCI chartRef', () => {
  const r = resolveSpec({ values: { cilium: { hubble: { enabled: true } } }, loadBalancer: { addresses: ['192.0.2.200/29'] } });
  const rendered = renderPlatform(r.components);
  const hr = (name: string) => rendered.releases.find((x) => x.metadata.name === name)!.spec as Record<string, any>;
  assert.deepEqual(hr('cert-manager-issuers').dependsOn, [
    { name: 'cilium', namespace: 'hearth-cilium' },
    { name: 'kubeovn', namespace: 'hearth-kubeovn' },
    { name: 'cert-manager', namespace: 'hearth-cert-manager' },
    { name: 'ingress-nginx', namespace: 'hearth-ingress-nginx' },
  ]);
  assert.deepEqual(hr('cilium').install, { crds: 'CreateReplace', remediation: { retries: 3 } });
  assert.deepEqual(hr('cilium').upgrade.remediation, { retries: 3, remediateLastFailure: true });
  assert.equal(hr('cilium').values.hubble.enabled, true);
  assert.equal(hr('cilium').values.k8sServiceHost, 'localhost');
  assert.deepEqual(hr('cilium').chart.spec.sourceRef, { kind: 'HelmRepository', name: 'helm-cilium-io', namespace: 'hearth-system' });
  assert.deepEqual(hr('grafana-operator').chartRef, { kind: 'OCIRepository', name: 'hearth-grafana-operator-grafana-operator', namespace: 'hearth-system' });
  assert.equal(hr('telepresence').releaseName, 'traffic-manager');
  assert.deepEqual(hr('metallb-pool').values.resources[0].spec.addresses, ['192.0.2.200/29']);
  assert.equal(hr('metallb-pool').values.resources[1].kind, 'L2Advertisement');
  const issuers = hr('cert-manager-issuers').values.resources.map((x: KubeObject) => x.metadata.name);
  assert.deepEqual(issuers, ['selfsigned-cluster-issuer', 'letsencrypt-prod', 'letsencrypt-stage']);
  const oci = rendered.sources.find((s) => s.kind === 'OCIRepository' && s.metadata.name === 'hearth-grafana-operator-grafana-operator')!;
  assert.deepEqual(oci.spec, {
    interval: '10m',
    url: 'oci://ghcr.io/grafana/helm-charts/grafana-operator',
    ref: { tag: '5.21.4' },
    layerSelector: { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', operation: 'copy' },
  });
  // One HelmRepository per URL, shared by the releases that use it.
  const raw = rendered.sources.filter((s) => s.kind === 'HelmRepository' && (s.spec as { url: string }).url === 'https://bedag.github.io/helm-charts');
  assert.equal(raw.length, 1);
});

test('Namespaces get pod-security enforce=privileged exactly where a privileged release lives', () => {
  const r = resolveSpec({});
  const rendered = renderPlatform(r.components);
  const label = (ns: string) => rendered.namespaces.find((n) => n.metadata.name === ns)?.metadata.labels?.['pod-security.kubernetes.io/enforce'];
  assert.equal(label('hearth-cilium'), 'privileged');
  assert.equal(label('hearth-linstor'), 'privileged'); // linstor is privileged, piraeus-operator beside it is not
  assert.equal(label('hearth-cert-manager'), undefined);
  assert.equal(label('hearth-system'), undefined);
  for (const c of r.components) assert.ok(rendered.namespaces.some((n) => n.metadata.name === c.namespace));
});

test('render is pure and deterministic', () => {
  const a = allObjects(renderPlatform(resolveSpec({}).components));
  const b = allObjects(renderPlatform(resolveSpec({}).components));
  assert.deepEqual(a, b);
});

test('hearth platform render writes the files (and to stdout), hearth plan writes DIR/platform/', async () => {
  const dir = tempDir('rendercli');
  try {
    const spec = specWith({ bundle: 'distro-full' }, dir);
    const outDir = path.join(dir, 'out');
    const r = await runHearth(['platform', 'render', '-f', spec, '--out', outDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(outDir).sort(), ['00-namespaces.yaml', '10-sources.yaml', '20-helmreleases.yaml']);
    const docs = parseAllDocuments(readFileSync(path.join(outDir, '20-helmreleases.yaml'), 'utf8')).map((d) => d.toJS() as KubeObject);
    for (const o of docs) assert.deepEqual(validate(o), []);
    assert.ok(docs.some((o) => o.metadata.name === 'cilium'));
    assert.ok(!docs.some((o) => o.metadata.name === 'kubevirt'));

    const s = await runHearth(['platform', 'render', '-f', spec]);
    assert.equal(s.code, 0);
    const streamed = parseAllDocuments(s.stdout).map((d) => d.toJS() as KubeObject);
    assert.equal(streamed[0]!.kind, 'Namespace');
    assert.equal(streamed.at(-1)!.kind, 'HelmRelease');
    for (const o of streamed) assert.deepEqual(validate(o), []);

    const plan = await runHearth(['plan', '-f', spec, '--out', path.join(dir, 'plan')]);
    if (plan.code === 0) {
      assert.deepEqual(readdirSync(path.join(dir, 'plan', 'platform')).sort(), ['00-namespaces.yaml', '10-sources.yaml', '20-helmreleases.yaml', 'provenance.txt', 'waves.txt']);
    } else {
      // Other stages are built in parallel by other people; only the platform part is ours to check.
      assert.doesNotMatch(plan.stderr, /platform/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an object a chart renders but another release owns is dropped by a post-renderer, so each object has one owner', () => {
  const r = resolveSpec({});
  const rendered = renderPlatform(r.components);
  const spec = (name: string) => rendered.releases.find((x) => x.metadata.name === name)!.spec as Record<string, any>;
  // The SUSE KubeVirt and CDI charts render the KubeVirt / CDI CR themselves; hearth's `kubevirt` and `kubevirt-cdi` own them.
  const dropped = new Map<string, string>();
  for (const hr of rendered.releases) {
    for (const pr of (hr.spec as { postRenderers?: { kustomize: { patches: { target: Record<string, string>; patch: string }[] } }[] }).postRenderers ?? []) {
      for (const p of pr.kustomize.patches) {
        const doc = parse(p.patch) as Record<string, any>;
        assert.equal(doc.$patch, 'delete');
        assert.equal(doc.kind, p.target.kind);
        assert.equal(doc.metadata.name, p.target.name);
        assert.equal(doc.apiVersion, `${p.target.group}/${p.target.version}`);
        dropped.set(`${doc.apiVersion} ${doc.kind} ${doc.metadata.name}`, hr.metadata.name);
      }
    }
  }
  assert.deepEqual([...dropped.entries()].sort(), [
    ['cdi.kubevirt.io/v1beta1 CDI cdi', 'kubevirt-cdi-operator'],
    ['kubevirt.io/v1 KubeVirt kubevirt', 'kubevirt-operator'],
  ]);
  const owners = (key: string) =>
    rendered.releases.filter((hr) =>
      ((hr.spec as { values?: { resources?: KubeObject[] } }).values?.resources ?? []).some((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}` === key),
    ).map((hr) => hr.metadata.name);
  assert.deepEqual(owners('kubevirt.io/v1 KubeVirt kubevirt'), ['kubevirt']);
  assert.deepEqual(owners('cdi.kubevirt.io/v1beta1 CDI cdi'), ['kubevirt-cdi']);
  // The CR releases wait for the operator releases that no longer create them.
  assert.ok((spec('kubevirt').dependsOn as { name: string }[]).some((d) => d.name === 'kubevirt-operator'));
  assert.ok((spec('kubevirt-cdi').dependsOn as { name: string }[]).some((d) => d.name === 'kubevirt-cdi-operator'));
});

test('every catalog component records where its pinned chart version was confirmed', () => {
  for (const c of CATALOG) {
    assert.match(c.source, new RegExp(`${c.chart.version.replace(/\./g, '\\.')}`), `${c.name}: the source names the pinned version`);
    assert.match(c.source, /^chart: /, c.name);
  }
});
