/** The test double must behave like an API server for the calls hearth makes; these pin that down. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { clientFromKubeconfig, KubeApiError } from '../../../src/platform/kube/client.js';
import type { KubeObject } from '../../../src/platform/types.js';
import { FakeKubeApiServer } from './index.js';
import { FLUX_REF, tempDir, until } from '../../platform/helpers.js';
import { within, WAIT_MS } from '../../helpers/within.js';

const HR_CRD = parse(readFileSync(path.join(FLUX_REF, 'helm-controller-v1.6.3-helmreleases.crd.yaml'), 'utf8')) as KubeObject;

async function raw(api: FakeKubeApiServer, method: string, p: string, body?: unknown, type = 'application/apply-patch+yaml') {
  const res = await fetch(api.url + p, {
    method,
    headers: { authorization: 'Bearer fake-token', ...(body ? { 'content-type': type } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

test('server-side apply conventions: content type, fieldManager, no-op applies, generation, conflicts, force, field removal', async () => {
  const api = new FakeKubeApiServer();
  await api.start();
  try {
    assert.equal((await raw(api, 'PATCH', '/api/v1/namespaces/a?fieldManager=t', ns('a'), 'application/merge-patch+json')).status, 404, 'a merge patch needs the object');
    assert.equal((await raw(api, 'PATCH', '/api/v1/namespaces/a?fieldManager=t', ns('a'), 'text/plain')).status, 415);
    const noManager = await raw(api, 'PATCH', '/api/v1/namespaces/a', ns('a'));
    assert.equal(noManager.status, 422);
    assert.equal(noManager.body.kind, 'Status');
    const created = await raw(api, 'PATCH', '/api/v1/namespaces/a?fieldManager=t', ns('a', { x: '1', y: '2' }));
    assert.equal(created.status, 201);
    const rv = created.body.metadata.resourceVersion;
    const same = await raw(api, 'PATCH', '/api/v1/namespaces/a?fieldManager=t', ns('a', { x: '1', y: '2' }));
    assert.equal(same.status, 200);
    assert.equal(same.body.metadata.resourceVersion, rv, 'a no-op apply keeps the resourceVersion');
    // Another manager owns x now; t applying a different x conflicts unless forced.
    api.applyAs('other', ns('a', { x: 'theirs' }) as never);
    const conflict = await raw(api, 'PATCH', '/api/v1/namespaces/a?fieldManager=t', ns('a', { x: '1', y: '2' }));
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.reason, 'Conflict');
    assert.match(conflict.body.message, /conflict with "other": \.metadata\.labels\.x/);
    const forced = await raw(api, 'PATCH', '/api/v1/namespaces/a?fieldManager=t&force=true', ns('a', { x: '1' }));
    assert.equal(forced.status, 200);
    assert.deepEqual(forced.body.metadata.labels, { x: '1', 'kubernetes.io/metadata.name': 'a' }, 'y was dropped: t stopped applying it');
    const missing = await raw(api, 'GET', '/api/v1/namespaces/zzz');
    assert.equal(missing.status, 404);
    assert.deepEqual([missing.body.kind, missing.body.reason, missing.body.code], ['Status', 'NotFound', 404]);
  } finally {
    await api.stop();
  }
});

test('CRDs: not Established at once but when the double lets them, discovery, schema validation (422), namespaces required (404), generation vs status', async () => {
  const api = new FakeKubeApiServer();
  api.holdEstablish = true;
  await api.start();
  try {
    assert.equal((await raw(api, 'GET', '/apis/helm.toolkit.fluxcd.io/v2')).status, 404);
    await raw(api, 'PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${HR_CRD.metadata.name}?fieldManager=t`, HR_CRD);
    const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${HR_CRD.metadata.name}`;
    assert.equal((await raw(api, 'GET', crdPath)).body.status, undefined, 'not established at once');
    assert.equal(api.establishHeld(), 1);
    const established = (await raw(api, 'GET', crdPath)).body;
    assert.deepEqual(established.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`), ['NamesAccepted=True', 'Established=True']);
    const disc = await raw(api, 'GET', '/apis/helm.toolkit.fluxcd.io/v2');
    assert.equal(disc.body.resources[0].name, 'helmreleases');
    const hr = { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'x', namespace: 'n' }, spec: { interval: '10m', chartRef: { kind: 'OCIRepository', name: 'x' } } };
    assert.equal((await raw(api, 'PATCH', '/apis/helm.toolkit.fluxcd.io/v2/namespaces/n/helmreleases/x?fieldManager=t', hr)).status, 404, 'namespace n does not exist');
    await raw(api, 'PATCH', '/api/v1/namespaces/n?fieldManager=t', ns('n'));
    const bad = await raw(api, 'PATCH', '/apis/helm.toolkit.fluxcd.io/v2/namespaces/n/helmreleases/x?fieldManager=t', { ...hr, spec: { interval: 'soon' } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.reason, 'Invalid');
    assert.match(bad.body.message, /HelmRelease\.helm\.toolkit\.fluxcd\.io "x" is invalid: \.spec\.interval: must match pattern/);
    const ok = await raw(api, 'PATCH', '/apis/helm.toolkit.fluxcd.io/v2/namespaces/n/helmreleases/x?fieldManager=t', hr);
    assert.equal(ok.body.metadata.generation, 1);
    api.setStatus('HelmRelease', 'x', 'n', { conditions: [] });
    assert.equal(api.get('HelmRelease', 'x', 'n')!.metadata.generation, 1, 'status writes do not bump generation');
    const changed = await raw(api, 'PATCH', '/apis/helm.toolkit.fluxcd.io/v2/namespaces/n/helmreleases/x?fieldManager=t', { ...hr, spec: { ...hr.spec, interval: '5m' } });
    assert.equal(changed.body.metadata.generation, 2);
  } finally {
    await api.stop();
  }
});

test('the KubeClient over the double: get (404 -> undefined), list with a label selector, apply, watch with bookmarks, 410 on compacted versions', async () => {
  const api = new FakeKubeApiServer();
  api.bookmarkMs = 50;
  await api.start();
  const dir = tempDir('kubeclient');
  try {
    writeFileSync(path.join(dir, 'kc'), api.kubeconfig());
    const kube = clientFromKubeconfig(path.join(dir, 'kc'));
    assert.equal(await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: 'a' }), undefined);
    const a = await kube.apply(ns('a', { team: 'x' }) as KubeObject, { fieldManager: 'hearth', force: false });
    await kube.apply(ns('b', { team: 'y' }) as KubeObject, { fieldManager: 'hearth', force: false });
    assert.equal(a.metadata.name, 'a');
    const listed = await kube.list('v1', 'Namespace', { labelSelector: 'team=x' });
    assert.deepEqual(listed.items.map((i) => i.metadata.name), ['a']);

    const seen: string[] = [];
    const handle = await kube.watch('v1', 'Namespace', { resourceVersion: listed.resourceVersion }, (type, o) => seen.push(`${type} ${o.metadata?.name ?? ''}`));
    await kube.apply(ns('c') as KubeObject, { fieldManager: 'hearth', force: false });
    await until(() => seen.includes('ADDED c') && seen.some((s) => s.startsWith('BOOKMARK')), 5000, 'watch events');
    assert.ok(!seen.includes('ADDED a'), 'events before the resourceVersion are not replayed');
    handle.stop();
    await within(WAIT_MS, 'the stopped watch to end', handle.done);

    api.compactedRv = api.resourceVersion;
    const expired: { type: string; code?: number }[] = [];
    const h2 = await kube.watch('v1', 'Namespace', { resourceVersion: '1' }, (type, o) => expired.push({ type, code: (o as unknown as { code?: number }).code }));
    const end = await within(WAIT_MS, 'the watch from a compacted resourceVersion to end with 410', h2.done);
    assert.deepEqual(expired, [], 'the ERROR event ends the watch instead of reaching the handler');
    assert.equal(end.error?.code, 410);
    assert.equal(end.error?.reason, 'Expired');

    api.errors.push({ match: (m, o) => m === 'PATCH' && o.name === 'd', error: { code: 403, reason: 'Forbidden', message: 'namespaces "d" is forbidden' } });
    await assert.rejects(kube.apply(ns('d') as KubeObject, { fieldManager: 'hearth', force: false }), (e: unknown) => e instanceof KubeApiError && e.code === 403 && e.reason === 'Forbidden');
  } finally {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
