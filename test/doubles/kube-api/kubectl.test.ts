/**
 * The double against the REAL kubectl (skipped where kubectl is not installed): over HTTPS with a
 * client-certificate kubeconfig, kubectl must see what a real API server gives it — server-side
 * apply conflicts and --force-conflicts, --dry-run=server, diff, selectors, chunked lists, get -w,
 * wait, delete, namespace termination, RBAC refusals, unknown-field validation, CRD discovery.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { crd } from './fixtures.js';
import { FakeKubeApiServer } from './index.js';
import { Kubectl, kubectlAvailable } from './kubectl.js';
import { within, WAIT_MS } from '../../helpers/within.js';

const skip = kubectlAvailable() ? false : 'kubectl is not installed';
let api: FakeKubeApiServer;
let k: Kubectl;

before(async () => {
  if (skip) return;
  api = new FakeKubeApiServer({
    https: true,
    rbac: [{ users: ['alice'], verbs: ['get', 'list', 'watch'], resources: ['configmaps'], apiGroups: [''], namespaces: ['team'] }],
  });
  await api.start();
  k = new Kubectl(api.kubeconfig());
});
after(async () => {
  if (skip) return;
  k.cleanup();
  await api.stop();
});

// JSON documents: kubectl reads YAML 1.1, where a plain `y` would be a boolean
const yaml = (...docs: unknown[]) => docs.map((d) => JSON.stringify(d)).join('\n---\n');
const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const cm = (namespace: string, name: string, data: Record<string, string>, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...(Object.keys(labels).length ? { labels } : {}) }, data });

function deployment(containers: unknown[]) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'apps' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers } } },
  };
}

async function ok(args: string[], input?: string) {
  const r = await k.run(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('apply --server-side: conflicts exit 1 with the server message, shared ownership of equal values, --force-conflicts takes over, dropped fields go', { skip }, async () => {
  await ok(['apply', '--server-side', '-f', '-'], yaml(ns('ssa'), cm('ssa', 'c', { a: '1', b: '2' }, { 'app.kubernetes.io/name': 'c' })));
  // Same value, other manager: no conflict (both own it); a different value conflicts.
  await ok(['apply', '--server-side', '--field-manager', 'other', '-f', '-'], yaml(cm('ssa', 'c', { a: '1' }, { 'app.kubernetes.io/name': 'c' })));
  const conflict = await k.run(['apply', '--server-side', '--field-manager', 'other', '-f', '-'], yaml(cm('ssa', 'c', { a: 'X' }, { 'app.kubernetes.io/name': 'other' })));
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /Apply failed with 2 conflicts: conflicts with "kubectl":\n- \.data\.a\n- \.metadata\.labels\.app\.kubernetes\.io\/name|Apply failed with 2 conflicts: conflicts with "kubectl":\n- \.metadata\.labels\.app\.kubernetes\.io\/name\n- \.data\.a/);
  assert.match(conflict.stderr, /Please review the fields above--they currently have other managers/);
  const one = await k.run(['apply', '--server-side', '--field-manager', 'other', '-f', '-'], yaml(cm('ssa', 'c', { a: 'X' })));
  assert.equal(one.code, 1);
  assert.match(one.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.data\.a/);
  await ok(['apply', '--server-side', '--field-manager', 'other', '--force-conflicts', '-f', '-'], yaml(cm('ssa', 'c', { a: 'X' })));
  // an object kubectl create made is owned by the Update manager "kubectl-create"
  await ok(['create', '-f', '-'], yaml(cm('ssa', 'made', { a: '1' })));
  const made = JSON.parse(await ok(['get', 'cm', 'made', '-n', 'ssa', '-o', 'json', '--show-managed-fields'])).metadata.managedFields;
  assert.deepEqual(
    made.map((m: { manager: string; operation: string; fieldsV1: unknown }) => [m.manager, m.operation, m.fieldsV1]),
    [['kubectl-create', 'Update', { 'f:data': { '.': {}, 'f:a': {} } }]],
  );
  const created = await k.run(['apply', '--server-side', '-f', '-'], yaml(cm('ssa', 'made', { a: '2' })));
  assert.equal(created.code, 1);
  assert.match(created.stderr, /Apply failed with 1 conflict: conflict with "kubectl-create" using v1: \.data\.a/);
  const got = JSON.parse(await ok(['get', 'cm', 'c', '-n', 'ssa', '-o', 'json', '--show-managed-fields']));
  assert.deepEqual(got.data, { a: 'X', b: '2' });
  const fields = Object.fromEntries(got.metadata.managedFields.map((m: { manager: string; fieldsV1: unknown }) => [m.manager, m.fieldsV1]));
  assert.deepEqual(fields.kubectl, { 'f:data': { 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:app.kubernetes.io/name': {} } } }, 'kubectl lost .data.a to the forced apply');
  assert.deepEqual(fields.other, { 'f:data': { 'f:a': {} } });
  // kubectl stops applying b and the label: they go (nobody else owns them).
  await ok(['apply', '--server-side', '-f', '-'], yaml({ ...cm('ssa', 'c', {}), data: undefined }));
  const after2 = JSON.parse(await ok(['get', 'cm', 'c', '-n', 'ssa', '-o', 'json']));
  assert.deepEqual(after2.data, { a: 'X' });
  assert.equal(after2.metadata.labels?.['app.kubernetes.io/name'], undefined);
});

test('associative lists merge by key: containers by name, env by name, ports by containerPort+protocol', { skip }, async () => {
  await ok(['apply', '--server-side', '-f', '-'], yaml(ns('apps'), deployment([{ name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80 }] }])));
  await ok(['apply', '--server-side', '--field-manager', 'sidecar-injector', '-f', '-'], yaml(deployment([{ name: 'proxy', image: 'proxy:1' }])));
  await ok(['apply', '--server-side', '-f', '-'], yaml(deployment([{ name: 'app', image: 'app:2', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] }])));
  const d = JSON.parse(await ok(['get', 'deploy', 'web', '-n', 'apps', '-o', 'json', '--show-managed-fields']));
  const cs = d.spec.template.spec.containers;
  assert.deepEqual(cs.map((c: { name: string; image: string }) => `${c.name}=${c.image}`), ['app=app:2', 'proxy=proxy:1']);
  assert.deepEqual(cs[0].env, [{ name: 'A', value: '1' }], 'B was dropped by its only manager');
  assert.deepEqual(cs[0].ports, [{ containerPort: 80, protocol: 'TCP' }], 'protocol defaulted (a key of the list)');
  assert.equal(d.metadata.generation, 3, 'generation counts spec changes (the sidecar, then app:2)');
  const mine = d.metadata.managedFields.find((m: { manager: string }) => m.manager === 'kubectl').fieldsV1;
  const app = mine['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}'];
  assert.deepEqual(Object.keys(app).sort(), ['.', 'f:env', 'f:image', 'f:name', 'f:ports']);
  assert.ok(app['f:ports']['k:{"containerPort":80,"protocol":"TCP"}'], JSON.stringify(app['f:ports']));
  assert.deepEqual(app['f:env'], { 'k:{"name":"A"}': { '.': {}, 'f:name': {}, 'f:value': {} } });
  // kubectl patch (strategic merge by default) merges containers by name too; kubectl-patch then owns the image
  await ok(['patch', 'deploy', 'web', '-n', 'apps', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'proxy', image: 'proxy:2' }] } } } })]);
  const patched = JSON.parse(await ok(['get', 'deploy', 'web', '-n', 'apps', '-o', 'json']));
  assert.deepEqual(patched.spec.template.spec.containers.map((c: { name: string; image: string }) => `${c.name}=${c.image}`), ['app=app:2', 'proxy=proxy:2']);
  const again = await k.run(['apply', '--server-side', '--field-manager', 'sidecar-injector', '-f', '-'], yaml(deployment([{ name: 'proxy', image: 'proxy:1' }])));
  assert.equal(again.code, 1);
  assert.match(again.stderr, /conflict with "kubectl-patch" using apps\/v1: \.spec\.template\.spec\.containers\[name="proxy"\]\.image/);
});

test('--dry-run=server and diff write nothing; diff exits 1 with the change, 0 without', { skip }, async () => {
  await ok(['apply', '--server-side', '-f', '-'], yaml(ns('dry')));
  const dry = await ok(['apply', '--server-side', '--dry-run=server', '-f', '-'], yaml(cm('dry', 'd', { x: '1' })));
  assert.match(dry, /configmap\/d serverside-applied \(server dry run\)/);
  const missing = await k.run(['get', 'cm', 'd', '-n', 'dry']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Error from server \(NotFound\): configmaps "d" not found/);
  await ok(['apply', '--server-side', '-f', '-'], yaml(cm('dry', 'd', { x: '1' })));
  const rv = api.resourceVersion;
  const same = await k.run(['diff', '--server-side', '-f', '-'], yaml(cm('dry', 'd', { x: '1' })));
  assert.equal(same.code, 0, same.stderr);
  assert.equal(same.stdout, '');
  const changed = await k.run(['diff', '--server-side', '-f', '-'], yaml(cm('dry', 'd', { x: '2' })));
  assert.equal(changed.code, 1, changed.stderr);
  assert.match(changed.stdout, /^-  x: "1"$/m);
  assert.match(changed.stdout, /^\+  x: "2"$/m);
  const del = await ok(['delete', 'cm', 'd', '-n', 'dry', '--dry-run=server']);
  assert.match(del, /configmap "d" deleted \(server dry run\)/);
  assert.equal(api.resourceVersion, rv, 'nothing was written');
  assert.equal(JSON.parse(await ok(['get', 'cm', 'd', '-n', 'dry', '-o', 'json'])).data.x, '1');
});

test('get: set-based label selectors, field selectors, --chunk-size pagination', { skip }, async () => {
  const objs = [cm('sel', 'a', {}, { tier: 'x' }), cm('sel', 'b', {}, { tier: 'y' }), cm('sel', 'c', {}, { tier: 'z' }), cm('sel', 'd', {}, {})];
  await ok(['apply', '--server-side', '-f', '-'], yaml(ns('sel'), ...objs));
  const names = async (...args: string[]) => (await ok(['get', 'cm', '-n', 'sel', '-o', 'name', ...args])).trim().split('\n').filter(Boolean);
  assert.deepEqual(await names('-l', 'tier in (x,y)'), ['configmap/a', 'configmap/b']);
  assert.deepEqual(await names('-l', 'tier notin (x,y)'), ['configmap/c', 'configmap/d']);
  assert.deepEqual(await names('-l', 'tier!=x'), ['configmap/b', 'configmap/c', 'configmap/d']);
  assert.deepEqual(await names('-l', '!tier'), ['configmap/d']);
  assert.deepEqual(await names('-l', 'tier,tier!=z'), ['configmap/a', 'configmap/b']);
  assert.deepEqual(await names('--field-selector', 'metadata.name=c'), ['configmap/c']);
  assert.deepEqual(await names('--field-selector', 'metadata.name!=c', '-l', 'tier'), ['configmap/a', 'configmap/b']);
  assert.deepEqual(await ok(['get', 'cm', '-A', '--field-selector', 'metadata.namespace=sel', '-o', 'name']).then((s) => s.trim().split('\n').length), 4);
  const before = api.requests.length;
  assert.deepEqual(await names('--chunk-size', '1'), ['configmap/a', 'configmap/b', 'configmap/c', 'configmap/d']);
  const pages = api.requests.slice(before).filter((q) => q.method === 'GET' && q.path === '/api/v1/namespaces/sel/configmaps');
  assert.equal(pages.length, 4, 'one request per item');
  assert.ok(pages.every((q) => q.query.limit === '1'));
  assert.equal(pages.filter((q) => q.query.continue).length, 3);
  // kubectl reads aggregated discovery (/api and /apis), never one group-version at a time
  assert.ok(api.requests.some((q) => q.path === '/apis'));
  assert.deepEqual(api.requests.filter((q) => q.path === '/api/v1' || /^\/apis\/[^/]+\/[^/]+$/.test(q.path)).map((q) => q.path), []);
  const bad = await k.run(['get', 'cm', '-n', 'sel', '--field-selector', 'data.x=1']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /BadRequest|not a known field selector/);
});

test('get -w follows changes; wait --for=condition=Ready; CRDs reach discovery only once Established', { skip }, async () => {
  api.holdEstablish = true;
  const widgets = crd({
    group: 'example.com',
    kind: 'Widget',
    plural: 'widgets',
    scope: 'Namespaced',
    status: true,
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    properties: {
      spec: { type: 'object', properties: { size: { type: 'integer' } } },
      status: { type: 'object', properties: { conditions: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
    },
  });
  await ok(['apply', '--server-side', '-f', '-'], yaml(ns('w'), widgets));
  const early = await k.run(['get', 'widgets', '-n', 'w']);
  assert.equal(early.code, 1);
  assert.match(early.stderr, /the server doesn't have a resource type "widgets"/);
  let since = api.requests.length;
  const established = k.start(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=30s']);
  await waitForWatch('customresourcedefinitions', since);
  assert.equal(api.establishHeld(), 1);
  assert.equal(await within(WAIT_MS * 2, 'kubectl wait --for=condition=Established to exit', established.exit), 0, established.stderr());
  api.holdEstablish = false;

  const widget = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'w' }, spec: { size: 1 } };
  await ok(['apply', '--server-side', '-f', '-'], yaml(widget));
  const watch = k.start(['get', 'widgets', '-n', 'w', '-w', '-o', 'name']);
  try {
    await untilText(() => watch.stdout(), /^widget\.example\.com\/w1$/m, 'the listed object');
    since = api.requests.length;
    const wait = k.start(['wait', '--for=condition=Ready', 'widget/w1', '-n', 'w', '--timeout=30s']);
    await waitForWatch('widgets', since);
    assert.equal(wait.child.exitCode, null, 'not Ready yet: still waiting');
    api.setStatus('Widget', 'w1', 'w', { conditions: [{ type: 'Ready', status: 'True', reason: 'Done', observedGeneration: 1 }] });
    assert.equal(await within(WAIT_MS * 2, 'kubectl wait --for=condition=Ready to exit', wait.exit), 0, wait.stderr());
    assert.match(wait.stdout(), /widget\.example\.com\/w1 condition met/);
    await untilText(() => watch.stdout(), /^widget\.example\.com\/w1\nwidget\.example\.com\/w1$/m, 'the watched change');
    // human-readable output is the server's Table: the CRD's printer columns, the built-in kinds' own
    const printed = (await ok(['get', 'widgets', '-n', 'w'])).split('\n');
    assert.match(printed[0]!, /^NAME +READY +SIZE +AGE$/);
    assert.match(printed[1]!, /^w1 +True +1 +\d+s$/);
    assert.match(await ok(['get', 'ns', 'w']), /^NAME +STATUS +AGE\nw +Active +\d+s\n$/);
  } finally {
    watch.stop();
    await within(WAIT_MS, 'kubectl get -w to exit after SIGTERM', watch.exit);
  }
});

test('delete: objects go, a namespace terminates (applying into it is refused with 403) and kubectl waits until it is gone', { skip }, async () => {
  await ok(['apply', '--server-side', '-f', '-'], yaml(ns('gone'), cm('gone', 'x', { a: '1' })));
  assert.match(await ok(['delete', 'cm', 'x', '-n', 'gone']), /configmap "x" deleted/);
  await ok(['apply', '--server-side', '-f', '-'], yaml(cm('gone', 'y', { a: '1' })));
  api.holdNamespaceFinalization = true;
  assert.match(await ok(['delete', 'ns', 'gone', '--wait=false']), /namespace "gone" deleted/);
  assert.equal(JSON.parse(await ok(['get', 'ns', 'gone', '-o', 'json'])).status.phase, 'Terminating');
  const refused = await k.run(['apply', '--server-side', '-f', '-'], yaml(cm('gone', 'z', { a: '1' })));
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /Error from server \(Forbidden\): .*configmaps "z" is forbidden: unable to create new content in namespace gone because it is being terminated/);
  const since = api.requests.length;
  const waiting = k.start(['delete', 'ns', 'gone', '--timeout=30s']);
  await waitForWatch('namespaces', since);
  assert.equal(api.finalizeHeld(), 1);
  assert.equal(await within(WAIT_MS * 2, 'kubectl delete ns to exit once the namespace is gone', waiting.exit), 0, waiting.stderr());
  const missing = await k.run(['get', 'ns', 'gone']);
  assert.match(missing.stderr, /namespaces "gone" not found/);
  assert.equal(api.get('ConfigMap', 'y', 'gone'), undefined, 'the namespace controller deleted its content');
});

test('client certificates name the user (auth whoami, can-i): RBAC-shaped 403 for what alice may not do; unknown fields refused (strict) or pruned', { skip }, async () => {
  await ok(['apply', '--server-side', '-f', '-'], yaml(ns('team'), cm('team', 'c', { a: '1' })));
  const alice = new Kubectl(await api.userKubeconfig('alice', ['dev']), 'alice');
  try {
    const listed = await alice.run(['get', 'cm', '-n', 'team', '-o', 'name']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout.trim(), 'configmap/c');
    const write = await alice.run(['apply', '--server-side', '--validate=false', '-f', '-'], yaml(cm('team', 'c', { a: '2' })));
    assert.equal(write.code, 1);
    assert.match(write.stderr, /configmaps "c" is forbidden: User "alice" cannot patch resource "configmaps" in API group "" in the namespace "team"/);
    const whoami = await alice.run(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}']);
    assert.equal(whoami.stdout, 'alice ["dev","system:authenticated"]', whoami.stderr);
    const may = await alice.run(['auth', 'can-i', 'list', 'configmaps', '-n', 'team']);
    assert.deepEqual([may.code, may.stdout.trim()], [0, 'yes']);
    const mayNot = await alice.run(['auth', 'can-i', 'patch', 'configmaps', '-n', 'team']);
    assert.deepEqual([mayNot.code, mayNot.stdout.trim()], [1, 'no']);
    const one = await alice.run(['get', 'ns', 'team']);
    assert.match(one.stderr, /namespaces "team" is forbidden: User "alice" cannot get resource "namespaces" in API group "" in the namespace "team"/);
    const other = await alice.run(['get', 'ns']);
    assert.match(other.stderr, /namespaces is forbidden: User "alice" cannot list resource "namespaces" in API group "" at the cluster scope/);
  } finally {
    alice.cleanup();
  }
  const unknown = yaml({ ...cm('team', 'u', { a: '1' }), extra: { no: 'such field' } });
  const strict = await k.run(['apply', '--server-side', '-f', '-'], unknown);
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /\.extra: field not declared in schema/);
  await ok(['apply', '--server-side', '--validate=false', '-f', '-'], unknown);
  const stored = parse(await ok(['get', 'cm', 'u', '-n', 'team', '-o', 'yaml'])) as Record<string, unknown>;
  assert.equal(stored.extra, undefined, 'pruned');
});

/** Waits for a watch on the resource opened after request number `since` (the kubectl just started). */
async function waitForWatch(plural: string, since: number): Promise<void> {
  await untilCond(() => api.requests.slice(since).some((q) => q.query.watch === 'true' && q.path.endsWith(`/${plural}`) && q.completed), `a watch on ${plural}`);
}

async function untilText(get: () => string, re: RegExp, what: string): Promise<void> {
  await untilCond(() => re.test(get()), what);
}

async function untilCond(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}
