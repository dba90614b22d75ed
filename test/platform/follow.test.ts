/**
 * Following the releases through a broken API: restarts mid-watch, 410 Gone, forbidden watches and
 * lists, 5xx, a terminating namespace — with the real client (client-node) talking to the
 * Kubernetes double through a fault-injecting proxy.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runHearth } from '../helpers/cli.js';
import { FaultProxy, kubeStatus } from '../helpers/fault-proxy.js';
import { parseSpec } from '../../src/spec/index.js';
import { renderPlatform, resolvePlatform } from '../../src/platform/index.js';
import { expectedReleases, waitForReleases } from '../../src/platform/install.js';
import { clientFromKubeconfig } from '../../src/platform/kube/client.js';
import { backoffMs } from '../../src/platform/watch.js';
import { FakeHelmController, FakeKubeApiServer } from '../doubles/kube-api/index.js';
import { fluxInstallManifest, specWith, startHearth, tempDir, until } from './helpers.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const FAST = { backoff: { initialMs: 20, maxMs: 200 }, pollMs: 50 };
const HR_LIST = /^\/apis\/helm\.toolkit\.fluxcd\.io\/v2\/helmreleases\?(?!.*watch=true)/;
const HR_WATCH = /^\/apis\/helm\.toolkit\.fluxcd\.io\/v2\/helmreleases\?.*watch=true/;

/** The double with the distro-hosted bundle applied (releases held un-Ready), and a proxy in front. */
async function setup(hold: string[] = ['cert-manager']) {
  const api = new FakeKubeApiServer();
  await api.start();
  const dir = tempDir('follow');
  dirs.push(dir);
  const direct = path.join(dir, 'kubeconfig');
  writeFileSync(direct, api.kubeconfig());
  const flux = fluxInstallManifest(dir);
  const spec = specWith({ bundle: 'distro-hosted' }, dir);
  const proxy = new FaultProxy(api.url);
  await proxy.start();
  const kubeconfig = path.join(dir, 'kubeconfig-proxy');
  writeFileSync(kubeconfig, proxy.kubeconfig(api.kubeconfig(), api.url));
  const ctl = new FakeHelmController(api, { hold: new Set(hold) }).start();
  const first = await runHearth(['platform', 'install', '-f', spec, '--kubeconfig', direct, '--flux-manifests', flux, '--timeout', '1s']);
  // Applied; Ready or not within the second (held releases never are).
  assert.ok(first.code === 0 || (first.code === 1 && /timed out/.test(first.stderr)), first.stderr);
  const { loaded } = parseSpec(readFileSync(spec, 'utf8'), spec);
  const expected = expectedReleases(renderPlatform(resolvePlatform(loaded!.spec).components));
  /** Lets the held releases become Ready. */
  let after: FakeHelmController | undefined;
  const release = () => {
    ctl.stop();
    after = new FakeHelmController(api).start();
  };
  const close = async () => {
    ctl.stop();
    after?.stop();
    await proxy.stop();
    await api.stop();
  };
  return { api, proxy, dir, spec, flux, kubeconfig, expected, release, close };
}

test('backoff doubles from the first wait up to the cap, with at most 20 % jitter off', () => {
  const b = { initialMs: 500, maxMs: 10_000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map((n) => backoffMs(b, n, () => 0)), [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(backoffMs(b, 2, () => 1), 1600);
  assert.equal(backoffMs(b, 1000, () => 0), 10_000);
});

test('an API server restarting mid-watch: said once, said back once, and the wait still ends Ready', async () => {
  const env = await setup();
  try {
    const lines: string[] = [];
    const client = clientFromKubeconfig(env.kubeconfig);
    const waiting = waitForReleases(client, env.expected, Date.now() + 60_000, (l) => lines.push(l), undefined, 30_000, FAST);
    await until(() => env.proxy.openWatches > 0, 20_000, 'a watch through the proxy');
    await env.proxy.cut();
    await until(() => lines.some((l) => l.startsWith('lost the Kubernetes API')), 20_000, 'the outage notice');
    env.release(); // releases turn Ready while the API is away
    await new Promise((r) => setTimeout(r, 200));
    await env.proxy.restore();
    const result = await waiting;
    assert.equal(result.outcome, 'ready', result.message);
    assert.equal(lines.filter((l) => l.startsWith('lost the Kubernetes API')).length, 1, lines.join('\n'));
    assert.equal(lines.filter((l) => / is back after \d+s$/.test(l)).length, 1, lines.join('\n'));
  } finally {
    await env.close();
  }
});

test('410 Gone in the watch stream: list again, carry on to Ready', async () => {
  const env = await setup();
  try {
    env.proxy.fail({ method: 'GET', path: HR_WATCH, times: 2, status: 410, stream: true, body: kubeStatus(410, 'Expired', 'too old resource version: 1 (2042)') });
    const lines: string[] = [];
    const client = clientFromKubeconfig(env.kubeconfig);
    const waiting = waitForReleases(client, env.expected, Date.now() + 60_000, (l) => lines.push(l), undefined, 30_000, FAST);
    await until(() => env.proxy.seen.filter((s) => s.fault === 410).length === 2, 20_000, 'both 410s');
    env.release();
    const result = await waiting;
    assert.equal(result.outcome, 'ready', result.message);
    const lists = env.proxy.seen.filter((s) => HR_LIST.test(s.path)).length;
    assert.ok(lists >= 3, `a list after each 410 (saw ${lists} lists)`);
    assert.equal(lines.filter((l) => /lost|forbidden/.test(l)).length, 0, 'a 410 is routine, not an outage');
  } finally {
    await env.close();
  }
});

test('a forbidden watch is reported once, then followed by listing', async () => {
  const env = await setup();
  try {
    env.proxy.fail({ method: 'GET', path: HR_WATCH, times: Infinity, status: 403 });
    const lines: string[] = [];
    const client = clientFromKubeconfig(env.kubeconfig);
    const waiting = waitForReleases(client, env.expected, Date.now() + 60_000, (l) => lines.push(l), undefined, 30_000, FAST);
    await until(() => env.proxy.seen.filter((s) => HR_LIST.test(s.path)).length >= 4, 20_000, 'polling lists');
    env.release();
    const result = await waiting;
    assert.equal(result.outcome, 'ready', result.message);
    const refused = lines.filter((l) => l.includes('forbidden'));
    assert.deepEqual(refused, ['forbidden: cannot watch helmreleases.helm.toolkit.fluxcd.io (HTTP 403); following by listing every 50ms instead']);
    assert.equal(env.proxy.seen.filter((s) => s.fault === 403).length, 1, 'no second watch after the refusal');
  } finally {
    await env.close();
  }
});

test('a forbidden list ends the wait at once with the server\'s own words', async () => {
  const env = await setup();
  try {
    const rbac = 'helmreleases.helm.toolkit.fluxcd.io is forbidden: User "tester" cannot list resource "helmreleases" in API group "helm.toolkit.fluxcd.io" at the cluster scope';
    env.proxy.fail({ method: 'GET', path: HR_LIST, times: Infinity, status: 403, body: kubeStatus(403, 'Forbidden', rbac) });
    const client = clientFromKubeconfig(env.kubeconfig);
    const result = await waitForReleases(client, env.expected, Date.now() + 60_000, () => undefined, undefined, 30_000, FAST);
    assert.equal(result.outcome, 'failed');
    assert.equal(result.message, `cannot follow the HelmReleases: ${rbac}`);
    assert.equal(env.proxy.seen.filter((s) => s.fault === 403).length, 1, 'no retry loop on a refusal');
  } finally {
    await env.close();
  }
});

test('5xx answers are retried with backoff and reported once', async () => {
  const env = await setup([]);
  try {
    env.proxy.fail({ method: 'GET', path: HR_LIST, times: 3, status: 503, body: kubeStatus(503, 'ServiceUnavailable', 'etcdserver: leader changed') });
    const lines: string[] = [];
    const client = clientFromKubeconfig(env.kubeconfig);
    const result = await waitForReleases(client, env.expected, Date.now() + 60_000, (l) => lines.push(l), undefined, 30_000, FAST);
    assert.equal(result.outcome, 'ready', result.message);
    assert.equal(env.proxy.seen.filter((s) => s.fault === 503).length, 3);
    assert.deepEqual(
      lines.filter((l) => /Kubernetes API/.test(l)).map((l) => l.replace(/\d+s$/, 'Ns').replace(/127\.0\.0\.1:\d+/, 'HOST')),
      ['lost the Kubernetes API at http://HOST: etcdserver: leader changed; retrying', 'the Kubernetes API at http://HOST is back after Ns'],
    );
  } finally {
    await env.close();
  }
});

test('applying into a terminating namespace fails with one clear line', async () => {
  const env = await setup([]);
  try {
    const msg = 'helmreleases.helm.toolkit.fluxcd.io "cert-manager" is forbidden: unable to create new content in namespace hearth-cert-manager because it is being terminated';
    env.proxy.fail({ method: 'PATCH', path: /\/namespaces\/hearth-cert-manager\/helmreleases\/cert-manager\?/, times: Infinity, status: 403, body: kubeStatus(403, 'Forbidden', msg) });
    const r = await runHearth(['platform', 'install', '-f', env.spec, '--kubeconfig', env.kubeconfig, '--flux-manifests', env.flux, '--timeout', '20s']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /being terminated/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    await env.close();
  }
});

test('`hearth platform status -w` rides out an API restart and keeps printing changes', async () => {
  const env = await setup();
  const child = startHearth(['platform', 'status', '-w', '-f', env.spec, '--kubeconfig', env.kubeconfig]);
  try {
    await until(() => /NAMESPACE\s+NAME/.test(child.stdout()), 20_000, 'the first table');
    await until(() => env.proxy.openWatches > 0, 20_000, 'the watch');
    await env.proxy.cut();
    await until(() => /lost the Kubernetes API/.test(child.stderr()), 20_000, 'the outage notice');
    await env.proxy.restore();
    await until(() => /is back after/.test(child.stderr()), 30_000, 'the reconnect notice');
    const before = child.stdout().length;
    env.release();
    await until(() => /cert-manager\s+\S+\s+True/.test(child.stdout().slice(before)), 30_000, 'the change line after the restart');
    assert.equal(child.child.exitCode, null, 'still running');
  } finally {
    child.child.kill('SIGINT');
    assert.equal(await child.wait('status -w to exit after SIGINT'), 0);
    await env.close();
  }
});
