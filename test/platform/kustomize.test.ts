/**
 * hearth's kustomize patches checked by a real peer: `kubectl kustomize` (offline) applies the
 * HelmRelease post-renderers and the FluxInstance patches the way Flux's kustomize does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { renderPlatform, type KubeObject } from '../../src/platform/index.js';
import { FLUX_COMPONENTS, effectiveFlags, fluxInstancePatches, fluxOnHostNetwork } from '../../src/platform/flux-hostnet.js';
import { adaptFluxManifests } from '../../src/platform/flux.js';
import { fluxUpstreamDeployment as upstreamDeployment, resolveSpec, tempDir } from './helpers.js';

type Any = Record<string, any>;
const KUBECTL = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 20_000 }).status === 0;
const NS = 'hearth-fluxcd';

/** `kubectl kustomize` of the given objects with the given `patches`. */
function kustomize(objects: KubeObject[], patches: unknown[], tag: string): KubeObject[] {
  const dir = path.join(tempDir(`kustomize-${tag}`), 'k');
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(path.join(dir, 'input.yaml'), objects.map((o) => `---\n${stringify(o)}`).join(''));
    writeFileSync(path.join(dir, 'kustomization.yaml'), stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['input.yaml'], patches }));
    const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
    return parseAllDocuments(out).map((d) => d.toJS() as KubeObject);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}

test('kubectl kustomize: each post-renderer drops exactly the CR another release owns, and nothing else', { skip: !KUBECTL && 'kubectl is not on PATH' }, () => {
  const rendered = renderPlatform(resolveSpec({}).components);
  const withPr = rendered.releases.filter((r) => ((r.spec as Any).postRenderers ?? []).length > 0);
  assert.deepEqual(withPr.map((r) => r.metadata.name).sort(), ['kubevirt-cdi-operator', 'kubevirt-operator']);
  for (const hr of withPr) {
    for (const pr of (hr.spec as Any).postRenderers as Any[]) {
      const p = pr.kustomize.patches[0];
      const cr: KubeObject = { apiVersion: `${p.target.group}/${p.target.version}`, kind: p.target.kind, metadata: { name: p.target.name } };
      const sameKindOther: KubeObject = { ...cr, metadata: { name: `${p.target.name}-other` } };
      const operator: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'operator', namespace: hr.metadata.namespace } };
      const out = kustomize([operator, cr, sameKindOther], pr.kustomize.patches, hr.metadata.name);
      assert.deepEqual(out.map((o) => `${o.kind}/${o.metadata.name}`).sort(), ['Deployment/operator', `${p.target.kind}/${p.target.name}-other`].sort(), hr.metadata.name);
    }
  }
});


test('kubectl kustomize: the FluxInstance patches put each controller on the host network exactly as the install transform does', { skip: !KUBECTL && 'kubectl is not on PATH' }, () => {
  const patches = fluxInstancePatches();
  // Upstream's Deployments in hearth's namespace: what flux-operator renders before its patches.
  const inputs = adaptFluxManifests(FLUX_COMPONENTS.map(upstreamDeployment), NS);
  const viaKustomize = kustomize(inputs, patches, 'fluxinstance');
  const viaInstall = fluxOnHostNetwork(inputs, NS);
  for (const name of FLUX_COMPONENTS) {
    const k = viaKustomize.find((o) => o.metadata.name === name) as Any;
    const i = viaInstall.find((o) => o.metadata.name === name) as Any;
    const kp = k.spec.template.spec;
    const ip = i.spec.template.spec;
    for (const f of ['hostNetwork', 'dnsPolicy', 'tolerations']) assert.deepEqual(kp[f], ip[f], `${name} ${f}`);
    assert.deepEqual(k.spec.strategy, i.spec.strategy, name);
    const kc = kp.containers[0];
    const ic = ip.containers[0];
    assert.deepEqual(effectiveFlags(kc.args), effectiveFlags(ic.args), `${name}: effective flags`);
    const byNameSorted = (l: Any[]) => [...l].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    assert.deepEqual(byNameSorted(kc.env), byNameSorted(ic.env), `${name}: environment`);
    assert.deepEqual(byNameSorted(kc.ports), byNameSorted(ic.ports), `${name}: ports`);
    assert.equal(kp.hostNetwork, true);
  }
});
