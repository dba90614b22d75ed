/**
 * `kubectl kustomize` as an offline real peer for the kustomize patches hearth hands to Flux:
 *  - the FluxInstance patches (JSON 6902, applied by flux-operator's kustomize) must give Flux's
 *    Deployments the same effective settings hearth's own host-network transform gives install.yaml;
 *  - a HelmRelease post-renderer that drops an object (`$patch: delete`) must drop exactly it.
 * Skipped where kubectl is not installed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { effectiveFlags, FLUX_COMPONENTS, fluxInstancePatches, fluxOnHostNetwork } from '../../src/platform/flux-hostnet.js';
import { fluxUpstreamDeployment, resolveSpec } from './helpers.js';
import type { KubeObject } from '../../src/platform/types.js';
import { kubectlAvailable } from '../doubles/kube-api/kubectl.js';

const skip = kubectlAvailable() ? false : 'kubectl is not installed';

function kustomize(files: Record<string, string>): KubeObject[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), `hearth-kustomize-${process.pid}-`));
  try {
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
    const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
    return parseAllDocuments(out).map((d) => d.toJSON() as KubeObject);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a Deployment's pod effectively runs with (flags by their last occurrence). */
function effective(d: KubeObject) {
  const spec = d.spec as { strategy?: unknown; template: { spec: Record<string, any> } };
  const pod = spec.template.spec;
  const c = pod.containers[0];
  return { strategy: spec.strategy, hostNetwork: pod.hostNetwork, dnsPolicy: pod.dnsPolicy, tolerations: pod.tolerations, flags: effectiveFlags(c.args), env: c.env, ports: c.ports };
}

test('FluxInstance kustomize patches, applied by the real kustomize, match hearth\'s host-network transform of install.yaml', { skip }, () => {
  const deployments = FLUX_COMPONENTS.map(fluxUpstreamDeployment);
  const kustomization = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['flux.yaml'], patches: fluxInstancePatches() };
  const patched = kustomize({ 'flux.yaml': deployments.map((d) => stringify(d)).join('---\n'), 'kustomization.yaml': stringify(kustomization) });
  const ours = fluxOnHostNetwork(deployments, 'flux-system');
  assert.equal(patched.length, FLUX_COMPONENTS.length);
  for (const name of FLUX_COMPONENTS) {
    const k = patched.find((o) => o.metadata.name === name)!;
    const h = ours.find((o) => o.metadata.name === name)!;
    assert.deepEqual(effective(k), effective(h), name);
  }
});

test('a post-renderer that drops an object removes exactly it under the real kustomize', { skip }, () => {
  const resolved = resolveSpec({ bundle: 'paas-full' }, 'kustomize-peer');
  const withDrop = resolved.components.filter((c) => (c.postRenderers ?? []).length > 0);
  assert.ok(withDrop.length > 0, 'some component carries a post-renderer');
  for (const c of withDrop) {
    const patches = c.postRenderers!.flatMap((p) => p.kustomize.patches);
    const targets = patches.map((p) => p.target as { group: string; version: string; kind: string; name: string });
    const objects = [
      ...targets.map((t) => ({ apiVersion: `${t.group}/${t.version}`, kind: t.kind, metadata: { name: t.name, namespace: c.namespace }, spec: {} })),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept', namespace: c.namespace }, data: { a: '1' } },
    ];
    const out = kustomize({
      'chart.yaml': objects.map((o) => stringify(o)).join('---\n'),
      'kustomization.yaml': stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['chart.yaml'], patches }),
    });
    assert.deepEqual(out.map((o) => `${o.kind}/${o.metadata.name}`), ['ConfigMap/kept'], c.name);
  }
});
