/**
 * The double's API semantics over raw HTTP, where kubectl cannot show them directly: watch starting
 * points, structured field ownership, dryRun on every write, patches, generation, pruning, the
 * status subresource, pagination tokens, health/version/OpenAPI, and HTTPS authentication.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { test } from 'node:test';
import { newCA, newLeafCert } from '../../../src/talos/pki.js';
import { crd } from './fixtures.js';
import { FakeKubeApiServer } from './index.js';

type Json = Record<string, any>;

async function raw(api: FakeKubeApiServer, method: string, p: string, body?: unknown, type = 'application/apply-patch+yaml') {
  const res = await fetch(api.url + p, {
    method,
    headers: { authorization: 'Bearer fake-token', ...(body !== undefined ? { 'content-type': type } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as Json, warning: res.headers.get('warning') };
}

/** The events a watch delivers until `count` arrived (or 5 s passed), then the stream is dropped. */
async function watchEvents(api: FakeKubeApiServer, p: string, count: number): Promise<Json[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 5000);
  const events: Json[] = [];
  try {
    const res = await fetch(api.url + p, { headers: { authorization: 'Bearer fake-token' }, signal: ac.signal });
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += Buffer.from(chunk).toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l) events.push(JSON.parse(l) as Json);
      if (events.length >= count) break;
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return events;
}

const ns = (name: string, labels?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } });
const cm = (name: string, data: Record<string, string>, labels?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'n', ...(labels ? { labels } : {}) }, data });
const apply = (api: FakeKubeApiServer, p: string, o: unknown, manager = 'a', extra = '') => raw(api, 'PATCH', `${p}?fieldManager=${manager}${extra}`, o);

async function withApi(fn: (api: FakeKubeApiServer) => Promise<void>, opts: ConstructorParameters<typeof FakeKubeApiServer>[0] = {}): Promise<void> {
  const api = new FakeKubeApiServer(opts);
  await api.start();
  try {
    await fn(api);
  } finally {
    await api.stop();
  }
}

test('watch: from 0 the current state as ADDED (never 410), without a resourceVersion no history, an old one 410, bookmarks when asked', () =>
  withApi(async (api) => {
    await apply(api, '/api/v1/namespaces/a', ns('a'));
    await apply(api, '/api/v1/namespaces/b', ns('b', { x: '1' }));
    api.holdNamespaceFinalization = true;
    await raw(api, 'DELETE', '/api/v1/namespaces/b');
    const firstRv = String(api.resourceVersion - 5);
    api.compactedRv = api.resourceVersion;
    const fromZero = await watchEvents(api, '/api/v1/namespaces?watch=true&resourceVersion=0', 2);
    assert.deepEqual(fromZero.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED a', 'ADDED b']);
    const unset = await watchEvents(api, '/api/v1/namespaces?watch=true', 2);
    assert.deepEqual(unset.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED a', 'ADDED b'], 'current state, not the compacted history (no MODIFIED b)');
    const old = await watchEvents(api, `/api/v1/namespaces?watch=true&resourceVersion=${firstRv}`, 1);
    assert.deepEqual(old.map((e) => [e.type, e.object.code, e.object.reason]), [['ERROR', 410, 'Expired']]);
    api.bookmarkMs = 20;
    const rv = api.resourceVersion;
    const marks = await watchEvents(api, `/api/v1/namespaces?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&labelSelector=x`, 1);
    assert.equal(marks[0]!.type, 'BOOKMARK');
    assert.equal(marks[0]!.object.metadata.resourceVersion, String(rv));
    const selected = await watchEvents(api, '/api/v1/namespaces?watch=true&labelSelector=x%3D1', 1);
    assert.deepEqual(selected.map((e) => e.object.metadata.name), ['b']);
  }));

test('field ownership: dotted label keys are one field, equal values are shared, a field leaves only with its last owner, Update managers print "using"', () =>
  withApi(async (api) => {
    await apply(api, '/api/v1/namespaces/n', ns('n'));
    const p = '/api/v1/namespaces/n/configmaps/c';
    await apply(api, p, cm('c', { a: '1', b: '1' }, { 'app.kubernetes.io/name': 'c', keep: 'y' }), 'a');
    const shared = await apply(api, p, cm('c', {}, { 'app.kubernetes.io/name': 'c' }), 'b');
    assert.equal(shared.status, 200, JSON.stringify(shared.body));
    const fields = (o: Json, m: string) => o.metadata.managedFields.find((x: Json) => x.manager === m).fieldsV1;
    assert.deepEqual(fields(shared.body, 'b'), { 'f:data': {}, 'f:metadata': { 'f:labels': { 'f:app.kubernetes.io/name': {} } } });
    // a stops applying the label and b: the label stays (b owns it too), b goes
    const dropped = await apply(api, p, cm('c', { a: '1' }, { keep: 'y' }), 'a');
    assert.deepEqual(dropped.body.metadata.labels, { 'app.kubernetes.io/name': 'c', keep: 'y' });
    assert.deepEqual(dropped.body.data, { a: '1' });
    const edit = await raw(api, 'PATCH', `${p}?fieldManager=editor`, { data: { a: '2' } }, 'application/merge-patch+json');
    assert.equal(edit.status, 200);
    assert.equal(fields(edit.body, 'editor')['f:data']['f:a'] !== undefined, true);
    const editor = edit.body.metadata.managedFields.find((x: Json) => x.manager === 'editor');
    assert.deepEqual([editor.operation, editor.apiVersion, editor.fieldsType], ['Update', 'v1', 'FieldsV1']);
    const c = await apply(api, p, cm('c', { a: '1' }, { keep: 'y' }), 'a');
    assert.equal(c.status, 409);
    assert.deepEqual(
      { kind: c.body.kind, status: c.body.status, reason: c.body.reason, code: c.body.code, message: c.body.message, causes: c.body.details.causes },
      {
        kind: 'Status',
        status: 'Failure',
        reason: 'Conflict',
        code: 409,
        message: 'Apply failed with 1 conflict: conflict with "editor" using v1: .data.a',
        causes: [{ type: 'FieldManagerConflict', message: 'conflict with "editor" using v1', field: '.data.a' }],
      },
    );
  }));

test('dryRun=All on apply, POST, PUT, merge/JSON patch and DELETE: the answer of the write, nothing stored', () =>
  withApi(async (api) => {
    await apply(api, '/api/v1/namespaces/n', ns('n'));
    await apply(api, '/api/v1/namespaces/n/configmaps/c', cm('c', { a: '1' }));
    const rv = api.resourceVersion;
    const d = '&dryRun=All';
    const a = await apply(api, '/api/v1/namespaces/n/configmaps/c', cm('c', { a: '2' }), 'a', d);
    assert.equal(a.body.data.a, '2');
    const post = await raw(api, 'POST', '/api/v1/namespaces/n/configmaps?dryRun=All', cm('new', { a: '1' }), 'application/json');
    assert.equal(post.status, 201);
    const put = await raw(api, 'PUT', '/api/v1/namespaces/n/configmaps/c?dryRun=All', cm('c', { a: '3' }), 'application/json');
    assert.equal(put.body.data.a, '3');
    const merge = await raw(api, 'PATCH', '/api/v1/namespaces/n/configmaps/c?dryRun=All', { data: { a: null, b: '1' } }, 'application/merge-patch+json');
    assert.deepEqual(merge.body.data, { b: '1' });
    const jp = await raw(api, 'PATCH', '/api/v1/namespaces/n/configmaps/c?dryRun=All', [{ op: 'replace', path: '/data/a', value: '4' }], 'application/json-patch+json');
    assert.deepEqual(jp.body.data, { a: '4' });
    const del = await raw(api, 'DELETE', '/api/v1/namespaces/n/configmaps/c?dryRun=All');
    assert.equal(del.status, 200);
    assert.equal(api.resourceVersion, rv);
    assert.deepEqual(api.get('ConfigMap', 'c', 'n')!.data, { a: '1' });
    assert.equal(api.get('ConfigMap', 'new', 'n'), undefined);
    const badTest = await raw(api, 'PATCH', '/api/v1/namespaces/n/configmaps/c', [{ op: 'test', path: '/data/a', value: 'no' }], 'application/json-patch+json');
    assert.equal(badTest.status, 422);
    assert.equal((await raw(api, 'POST', '/api/v1/namespaces/n/configmaps', cm('c', {}), 'application/json')).body.reason, 'AlreadyExists');
    const stale = await raw(api, 'PUT', '/api/v1/namespaces/n/configmaps/c', { ...cm('c', {}), metadata: { name: 'c', namespace: 'n', resourceVersion: '1' } }, 'application/json');
    assert.deepEqual([stale.status, stale.body.reason], [409, 'Conflict']);
    assert.match(stale.body.message, /the object has been modified; please apply your changes to the latest version and try again/);
  }));

test('generation (none on Namespaces and ConfigMaps), the status subresource, pruning of unknown fields, pagination tokens', () =>
  withApi(async (api) => {
    const n = await apply(api, '/api/v1/namespaces/n', ns('n'));
    assert.equal(n.body.metadata.generation, undefined);
    assert.equal((await apply(api, '/api/v1/namespaces/n/configmaps/c', cm('c', {}))).body.metadata.generation, undefined);
    const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'n' }, spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } }, status: { replicas: 9 } };
    const created = await apply(api, '/apis/apps/v1/namespaces/n/deployments/d', dep);
    assert.equal(created.body.metadata.generation, 1);
    assert.equal(created.body.status, undefined, 'status is not written through the object');
    const st = await raw(api, 'PUT', '/apis/apps/v1/namespaces/n/deployments/d/status', { ...dep, spec: { ...dep.spec, replicas: 5 }, status: { replicas: 1 } }, 'application/json');
    assert.equal(st.status, 200);
    assert.deepEqual([st.body.spec.replicas, st.body.status.replicas, st.body.metadata.generation], [1, 1, 1], 'the status subresource writes only status');
    const unknown = await apply(api, '/apis/apps/v1/namespaces/n/deployments/d', { ...dep, spec: { ...dep.spec, bogus: true } });
    assert.equal(unknown.status, 200);
    assert.equal(unknown.body.spec.bogus, undefined);
    assert.equal(unknown.warning, '299 - "unknown field \\"spec.bogus\\""');
    const strict = await apply(api, '/apis/apps/v1/namespaces/n/deployments/d', { ...dep, spec: { ...dep.spec, bogus: true } }, 'a', '&fieldValidation=Strict');
    assert.equal(strict.status, 400);
    assert.match(strict.body.message, /failed to create typed patch object \(n\/d; apps\/v1, Kind=Deployment\): \.spec\.bogus: field not declared in schema/);
    for (const x of ['b', 'c2', 'd']) await apply(api, `/api/v1/namespaces/n/configmaps/${x}`, cm(x, {}));
    const page = await raw(api, 'GET', '/api/v1/namespaces/n/configmaps?limit=2');
    assert.deepEqual(page.body.items.map((i: Json) => i.metadata.name), ['b', 'c']);
    assert.equal(page.body.metadata.remainingItemCount, 2);
    const next = await raw(api, 'GET', `/api/v1/namespaces/n/configmaps?limit=2&continue=${encodeURIComponent(page.body.metadata.continue)}`);
    assert.deepEqual(next.body.items.map((i: Json) => i.metadata.name), ['c2', 'd']);
    assert.equal(next.body.metadata.continue, undefined);
    api.compactedRv = api.resourceVersion + 1;
    const expired = await raw(api, 'GET', `/api/v1/namespaces/n/configmaps?limit=2&continue=${encodeURIComponent(page.body.metadata.continue)}`);
    assert.deepEqual([expired.status, expired.body.reason], [410, 'Expired']);
    for (const p of ['/healthz', '/livez', '/readyz']) assert.deepEqual([(await raw(api, 'GET', p)).status, (await raw(api, 'GET', p)).body], [200, 'ok']);
    assert.equal((await raw(api, 'GET', '/version')).body.minor, '33');
    assert.ok((await raw(api, 'GET', '/openapi/v3')).body.paths['apis/apps/v1']);
  }));

test('HTTPS: client certificates name user and groups, no certificate is 401 (not a handshake failure), RBAC refusals are 403 Status bodies', () =>
  withApi(
    async (api) => {
      assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = api.ca!;
      const get = (p: string, id?: { crt: string; key: string }) =>
        new Promise<{ status: number; body: Json }>((resolve, reject) => {
          const req = https.get(api.url + p, { ca: ca.crt, ...(id ? { cert: id.crt, key: id.key } : {}) }, (res) => {
            let t = '';
            res.on('data', (d) => (t += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(t) as Json }));
          });
          req.on('error', reject);
        });
      const anon = await get('/api/v1/namespaces');
      assert.deepEqual([anon.status, anon.body.reason], [401, 'Unauthorized']);
      const bob = await newLeafCert(ca, { organizations: ['viewers'], commonName: 'bob', now: new Date() });
      assert.equal((await get('/api/v1/namespaces', bob)).status, 200, 'the viewers group may list namespaces');
      const denied = await get('/api/v1/namespaces/default/configmaps', bob);
      assert.equal(denied.status, 403);
      assert.equal(denied.body.message, 'configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" in the namespace "default"');
      assert.deepEqual(denied.body.details, { kind: 'configmaps' });
      const admin = await newLeafCert(ca, { organizations: ['system:masters'], commonName: 'root', now: new Date() });
      assert.equal((await get('/api/v1/namespaces/default/configmaps', admin)).status, 200);
    },
    { https: true, rbac: [{ groups: ['viewers'], verbs: ['list'], resources: ['namespaces'] }] },
  ));

test('a watch with a selector sees objects enter (ADDED) and leave (DELETED) it', () =>
  withApi(async (api) => {
    await apply(api, '/api/v1/namespaces/a', ns('a', { team: 'x' }));
    const rv = api.resourceVersion;
    const events = watchEvents(api, `/api/v1/namespaces?watch=true&resourceVersion=${rv}&labelSelector=team%3Dy`, 2);
    await new Promise((r) => setTimeout(r, 50));
    await apply(api, '/api/v1/namespaces/a', ns('a', { team: 'y' }));
    await apply(api, '/api/v1/namespaces/a', ns('a', { team: 'z' }));
    assert.deepEqual((await events).map((e) => `${e.type} ${e.object.metadata.labels.team}`), ['ADDED y', 'DELETED z']);
  }));

test('custom resources: structural schemas prune what they lack, list-type map lists merge by their keys, set lists by value', () =>
  withApi(async (api) => {
    api.establishDelayMs = 0;
    const gadgets = crd({
      group: 'example.com',
      kind: 'Gadget',
      plural: 'gadgets',
      scope: 'Cluster',
      properties: {
        spec: {
          type: 'object',
          properties: {
            parts: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', properties: { name: { type: 'string' }, size: { type: 'integer' } } } },
            tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
            free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
    });
    await apply(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com', gadgets);
    for (let i = 0; i < 200 && !api.get('CustomResourceDefinition', 'gadgets.example.com')?.status; i++) await new Promise((r) => setTimeout(r, 10));
    const p = '/apis/example.com/v1/gadgets/g';
    const g = (spec: Json) => ({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' }, spec });
    const first = await apply(api, p, g({ parts: [{ name: 'a', size: 1, colour: 'red' }], tags: ['x'], free: { any: { thing: 1 } }, extra: 1 }), 'one');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.deepEqual(first.body.spec, { parts: [{ name: 'a', size: 1 }], tags: ['x'], free: { any: { thing: 1 } } }, 'colour and extra pruned, free kept');
    const second = await apply(api, p, g({ parts: [{ name: 'b', size: 2 }], tags: ['y'] }), 'two');
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.deepEqual(second.body.spec.parts, [{ name: 'a', size: 1 }, { name: 'b', size: 2 }]);
    assert.deepEqual(second.body.spec.tags, ['x', 'y']);
    const mf = second.body.metadata.managedFields.find((m: Json) => m.manager === 'two').fieldsV1;
    assert.deepEqual(mf, { 'f:spec': { 'f:parts': { 'k:{"name":"b"}': { '.': {}, 'f:name': {}, 'f:size': {} } }, 'f:tags': { 'v:"y"': {} } } });
    const clash = await apply(api, p, g({ parts: [{ name: 'a', size: 5 }] }), 'two');
    assert.equal(clash.status, 409);
    assert.match(clash.body.message, /conflict with "one": \.spec\.parts\[name="a"\]\.size/);
    // a finalizer holds the object (marked for deletion) until it is removed
    await apply(api, p, { ...g({}), metadata: { name: 'g', finalizers: ['example.com/hold'] } }, 'three');
    const marked = await raw(api, 'DELETE', p);
    assert.equal(marked.status, 200);
    assert.ok(marked.body.metadata.deletionTimestamp);
    assert.ok(api.get('Gadget', 'g'));
    await raw(api, 'PATCH', p, { metadata: { finalizers: null } }, 'application/merge-patch+json');
    assert.equal(api.get('Gadget', 'g'), undefined, 'gone once the finalizer is removed');
    // deleting the CRD takes its custom resources and its endpoints
    await apply(api, p, g({ tags: ['z'] }), 'one');
    assert.equal((await raw(api, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com')).status, 200);
    assert.equal(api.get('Gadget', 'g'), undefined);
    assert.equal((await raw(api, 'GET', p)).status, 404);
  }));

test('HTTPS with a given CA: the server certificate chains to it and its client certificates authenticate', async () => {
  const ca = await newCA({ kind: 'ecdsa', organization: 'given', now: new Date() });
  await withApi(
    async (api) => {
      assert.equal(api.ca, ca);
      const admin = await newLeafCert(ca, { organizations: ['system:masters'], commonName: 'admin', now: new Date() });
      const code = await new Promise<number>((resolve, reject) => {
        https.get(`${api.url}/api/v1/namespaces`, { ca: ca.crt, cert: admin.crt, key: admin.key }, (res) => resolve(res.statusCode ?? 0)).on('error', reject);
      });
      assert.equal(code, 200);
    },
    { https: { ca, host: '127.0.0.1' } },
  );
});
