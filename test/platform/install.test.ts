import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runHearth } from '../helpers/cli.js';
import { parseSpec } from '../../src/spec/index.js';
import { renderPlatform, resolvePlatform, allObjects } from '../../src/platform/index.js';
import { expectedReleases, waitForReleases } from '../../src/platform/install.js';
import { clientFromKubeconfig } from '../../src/platform/kube/client.js';
import { FakeHelmController, FakeKubeApiServer } from '../doubles/kube-api/index.js';
import { fluxInstallManifest, specWith, startHearth, tempDir, until } from './helpers.js';
import type { KubeObject } from '../../src/platform/index.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Env {
  api: FakeKubeApiServer;
  dir: string;
  spec: string;
  kubeconfig: string;
  flux: string;
  args: (...extra: string[]) => string[];
  close: () => Promise<void>;
}

async function setup(platform: Record<string, unknown> = { loadBalancer: { addresses: ['192.0.2.200-192.0.2.220'] } }): Promise<Env> {
  const api = new FakeKubeApiServer();
  await api.start();
  const dir = tempDir('install');
  dirs.push(dir);
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfig());
  const flux = fluxInstallManifest(dir);
  const spec = specWith(platform, dir);
  return {
    api,
    dir,
    spec,
    kubeconfig,
    flux,
    args: (...extra) => ['platform', 'install', '-f', spec, '--kubeconfig', kubeconfig, '--flux-manifests', flux, ...extra],
    close: () => api.stop(),
  };
}

/** An object as an API server keeps it: Namespaces get the "kubernetes" finalizer in their spec. */
function served<T extends { kind: string; spec?: unknown }>(o: T): T {
  return o.kind === 'Namespace' ? { ...o, spec: { finalizers: ['kubernetes'], ...(o.spec as object) } } : o;
}

function rendered(spec: string) {
  const { loaded } = parseSpec(readFileSync(spec, 'utf8'), spec);
  return renderPlatform(resolvePlatform(loaded!.spec).components);
}

test('full install: Flux first, then namespaces, sources, releases; Ready in dependency order; a rerun changes nothing', async () => {
  const env = await setup();
  const ctl = new FakeHelmController(env.api).start();
  try {
    const r = await runHearth(env.args('--timeout', '60s'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Flux is not installed: applying \d+ objects of its install manifests/);
    assert.match(r.stderr, /all 29 releases are Ready\n$/);

    // Flux went into hearth's namespace (like `flux install --namespace`), and, since this platform brings the CNI,
    // its controllers run on the host network with the API through KubePrism (see flux-hostnet.test.ts).
    assert.match(r.stderr, /controllers on the host network: the cluster has no CNI until Flux installs it/);
    const dep = env.api.get('Deployment', 'helm-controller', 'hearth-fluxcd')! as KubeObject & { spec: any };
    const pod = dep.spec.template.spec;
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.dnsPolicy, 'Default');
    assert.deepEqual(
      pod.containers[0].env.filter((e: { name: string }) => e.name.startsWith('KUBERNETES_SERVICE')),
      [{ name: 'KUBERNETES_SERVICE_HOST', value: 'localhost' }, { name: 'KUBERNETES_SERVICE_PORT', value: '7445' }],
    );
    assert.ok(pod.containers[0].args.includes('--health-addr=:9796'));
    assert.doesNotMatch(JSON.stringify(dep), /flux-system/);
    assert.equal(env.api.get('Namespace', 'hearth-fluxcd')!.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
    assert.equal(env.api.get('Namespace', 'flux-system'), undefined);

    // Every write was a server-side apply by field manager hearth, in the documented order.
    const patches = env.api.requests.filter((q) => q.method === 'PATCH');
    assert.ok(patches.length > 0);
    for (const p of patches) {
      assert.equal(p.contentType, 'application/apply-patch+yaml');
      assert.equal(p.query.fieldManager, 'hearth');
    }
    const order = patches.map((p) => p.path.split('/').at(-2));
    const firstHr = order.indexOf('helmreleases');
    const lastNs = order.lastIndexOf('namespaces');
    const firstSrc = Math.min(order.indexOf('helmrepositories'), order.indexOf('ocirepositories'));
    const lastCrd = order.lastIndexOf('customresourcedefinitions');
    assert.ok(lastCrd < lastNs && lastNs < firstSrc && firstSrc < firstHr, `order: ${order.join(',')}`);
    assert.ok(order.slice(firstHr).every((x) => x === 'helmreleases'));

    // The double's helm-controller made releases Ready only after their dependencies.
    const hrs = env.api.objects('HelmRelease');
    assert.equal(hrs.length, 29);
    for (const hr of hrs) {
      const deps = ((hr.spec as { dependsOn?: { name: string }[] }).dependsOn ?? []).map((d) => d.name);
      for (const d of deps) assert.ok(ctl.readyOrder.indexOf(d) < ctl.readyOrder.indexOf(hr.metadata.name), `${d} before ${hr.metadata.name}`);
    }
    // The objects in the cluster are exactly the rendered ones.
    for (const o of allObjects(rendered(env.spec))) {
      const got = env.api.get(o.kind, o.metadata.name, o.metadata.namespace)!;
      assert.deepEqual(got.spec, served(o).spec, `${o.kind} ${o.metadata.name}`);
    }

    const rv = env.api.resourceVersion;
    const again = await runHearth(env.args('--timeout', '30s'));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /nothing to change: all \d+ objects are already as rendered/);
    assert.match(again.stderr, /29 of 29 releases already Ready/);
    assert.doesNotMatch(again.stderr, /^(created|configured) /m);
    assert.doesNotMatch(again.stderr, /Flux is not installed/);
    assert.equal(env.api.resourceVersion, rv, 'a rerun must not change anything in the cluster');
  } finally {
    ctl.stop();
    await env.close();
  }
});

test('a release that fails ends the install with exit 1 naming it', async () => {
  const env = await setup({});
  const ctl = new FakeHelmController(env.api, { fail: new Set(['cert-manager']) }).start();
  try {
    const r = await runHearth(env.args('--timeout', '60s'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: release failed: hearth-cert-manager\/cert-manager \(failed: InstallFailed: Helm install failed for release x: context deadline exceeded; RetriesExceeded: Failed to install after 3 attempt\(s\)\)\n$/);
    assert.match(r.stderr, /cert-manager \(hearth-cert-manager\) FAILED: /);
  } finally {
    ctl.stop();
    await env.close();
  }
});

test('a timeout ends the install with exit 1 naming what is not Ready and what it waits for', async () => {
  const env = await setup({ bundle: 'distro-hosted' });
  const ctl = new FakeHelmController(env.api, { hold: new Set(['victoria-metrics-operator']) }).start();
  try {
    // A run that ignored --timeout would be killed by runHearth (exit code null), not exit 1 with the timeout line.
    // 6 s leaves the unheld releases ample time to become Ready on a loaded machine (an idle one needs ~0.5 s).
    const r = await runHearth(env.args('--timeout', '6s'), { timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    const line = r.stderr.trimEnd().split('\n').at(-1)!;
    assert.match(line, /^error: timed out with 3 of \d+ releases not Ready: /);
    assert.match(line, /hearth-victoria-metrics-operator\/victoria-metrics-operator \(waiting for helm-controller to reconcile it\)/);
    assert.match(line, /hearth-monitoring\/monitoring \(dependencies not ready: victoria-metrics-operator\)/);
    assert.match(line, /hearth-mariadb-operator\/mariadb-operator \(dependencies not ready: victoria-metrics-operator\)/);
  } finally {
    ctl.stop();
    await env.close();
  }
});

test('API errors are reported per object, one line each; the rest is applied; --force-conflicts takes fields over', async () => {
  const env = await setup({ bundle: 'distro-hosted' });
  try {
    env.api.errors.push(
      { match: (m, o) => m === 'PATCH' && o.kind === 'HelmRelease' && o.name === 'telepresence', error: { code: 403, reason: 'Forbidden', message: 'helmreleases.helm.toolkit.fluxcd.io "telepresence" is forbidden: User "tester" cannot patch resource' } },
      { match: (m, o) => m === 'PATCH' && o.kind === 'Namespace' && o.name === 'hearth-redis-operator', error: { code: 403, reason: 'Forbidden', message: 'namespaces "hearth-redis-operator" is forbidden: User "tester" cannot patch resource' } },
    );
    // First run: Flux and everything except the refused objects.
    const first = await runHearth(env.args('--timeout', '5s'));
    assert.equal(first.code, 1);
    // Someone edits a release by hand: a field now owned by another manager.
    env.api.applyAs('kubectl-edit', {
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: 'grafana-operator', namespace: 'hearth-grafana-operator' },
      spec: { interval: '5m' },
    });
    const r = await runHearth(env.args('--timeout', '5s'));
    assert.equal(r.code, 1);
    const failed = r.stderr.split('\n').filter((l) => /^(failed|skipped) /.test(l));
    assert.deepEqual(failed, [
      'failed      Namespace hearth-redis-operator: namespaces "hearth-redis-operator" is forbidden: User "tester" cannot patch resource',
      'failed      HelmRelease hearth-grafana-operator/grafana-operator: Apply failed with 1 conflict: conflict with "kubectl-edit": .spec.interval (rerun with --force-conflicts to take these fields over)',
      'skipped     HelmRelease hearth-redis-operator/redis-operator: namespace hearth-redis-operator was not applied',
      'failed      HelmRelease hearth-telepresence/telepresence: helmreleases.helm.toolkit.fluxcd.io "telepresence" is forbidden: User "tester" cannot patch resource',
    ]);
    assert.match(r.stderr, /error: 4 of \d+ objects were not applied \(\d+ unchanged, 3 failed, 1 skipped\); nothing is half-written, fix the cause and rerun\n$/);

    env.api.errors.length = 0;
    const ctl = new FakeHelmController(env.api).start();
    try {
      const fixed = await runHearth(env.args('--timeout', '30s', '--force-conflicts'));
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.match(fixed.stderr, /^configured +HelmRelease hearth-grafana-operator\/grafana-operator$/m);
      assert.equal((env.api.get('HelmRelease', 'grafana-operator', 'hearth-grafana-operator')!.spec as { interval: string }).interval, '10m');
    } finally {
      ctl.stop();
    }
  } finally {
    await env.close();
  }
});

test('an object the API finds invalid (422) is reported with the server message', async () => {
  const env = await setup({
    bundle: 'distro-hosted',
    // A chart version Flux's CRD accepts but a double's admission rule refuses, to exercise 422 handling.
    components: [{ name: 'my-app', chart: { repository: 'https://charts.example.test', name: 'my-app', version: '1.2.3' } }],
  });
  try {
    env.api.errors.push({
      match: (m, o) => m === 'PATCH' && o.name === 'my-app' && o.kind === 'HelmRelease',
      error: { code: 422, reason: 'Invalid', message: 'HelmRelease.helm.toolkit.fluxcd.io "my-app" is invalid: spec.chart.spec.version: Invalid value: "1.2.3": denied by policy' },
    });
    const r = await runHearth(env.args('--timeout', '5s'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^failed +HelmRelease hearth-my-app\/my-app: HelmRelease\.helm\.toolkit\.fluxcd\.io "my-app" is invalid: spec\.chart\.spec\.version: Invalid value: "1\.2\.3": denied by policy$/m);
  } finally {
    await env.close();
  }
});

test('Ctrl-C stops between objects: every object is whole, the run says what was applied, a rerun finishes', async () => {
  const env = await setup({});
  // Hold the fourth HelmRepository write in flight, interrupt, then let it complete.
  let sources = 0;
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let reached = false;
  env.api.beforeWrite = async ({ kind }) => {
    if (kind !== 'HelmRepository' || ++sources !== 4) return;
    reached = true;
    await held;
  };
  try {
    const run = startHearth(env.args('--timeout', '60s'));
    await until(() => reached, 60_000, 'the fourth source write');
    run.child.kill('SIGINT');
    await until(() => /interrupt: finishing the current write/.test(run.stderr()), 30_000, 'the interrupt notice');
    release();
    const code = await run.wait('install to stop after SIGINT and the held write');
    assert.equal(code, 1, run.stderr());
    assert.match(run.stderr(), /interrupt: finishing the current write, then stopping/);
    const m = /error: interrupted: applied (\d+) of (\d+) objects \(last: (\w+) ([^)]+)\); every object is either fully applied or untouched/.exec(run.stderr());
    assert.ok(m, run.stderr());
    const [appliedCount, total] = [Number(m[1]), Number(m[2])];
    assert.equal(m[3], 'HelmRepository', 'the write in flight was completed and is the last one applied');
    assert.ok(appliedCount < total);
    // No request was cut off, and every platform object in the cluster is exactly as rendered.
    assert.ok(env.api.requests.every((q) => q.completed || q.query.watch === 'true'));
    const platform = allObjects(rendered(env.spec));
    let present = 0;
    for (const o of platform) {
      const got = env.api.get(o.kind, o.metadata.name, o.metadata.namespace);
      if (!got) continue;
      present++;
      assert.deepEqual(got.spec, served(o).spec);
      for (const [k, v] of Object.entries(o.metadata.labels ?? {})) assert.equal(got.metadata.labels?.[k], v);
    }
    assert.ok(present > 0 && present < platform.length, `${present} of ${platform.length}`);
    assert.equal(env.api.objects('HelmRelease').length, 0, 'interrupted before the releases');

    env.api.beforeWrite = undefined;
    const ctl = new FakeHelmController(env.api).start();
    try {
      const rerun = await runHearth(env.args('--timeout', '60s'));
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.match(rerun.stderr, /all 27 releases are Ready/);
    } finally {
      ctl.stop();
    }
  } finally {
    await env.close();
  }
});

test('without --flux-manifests and without internet the install fails with one clear line and writes nothing', async () => {
  const env = await setup({});
  try {
    const r = await runHearth(['platform', 'install', '-f', env.spec, '--kubeconfig', env.kubeconfig, '--timeout', '30s'], { timeoutMs: 60_000 });
    assert.equal(r.code, 1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    assert.equal(errors.length, 1);
    assert.match(
      errors[0]!,
      /^error: cannot download Flux v2\.9\.0 from https:\/\/github\.com\/fluxcd\/flux2\/releases\/download\/v2\.9\.0\/install\.yaml \(.+\); on an air-gapped site pass --flux-manifests FILE/,
    );
    assert.equal(env.api.requests.filter((q) => q.method === 'PATCH').length, 0);
  } finally {
    await env.close();
  }
});

test('bad input exits 2: a missing kubeconfig, a bad --timeout, a file that is not Flux', async () => {
  const env = await setup({});
  try {
    const noKc = await runHearth(['platform', 'install', '-f', env.spec, '--kubeconfig', path.join(env.dir, 'nope'), '--flux-manifests', env.flux]);
    assert.equal(noKc.code, 2);
    assert.match(noKc.stderr, /error: cannot read kubeconfig .*nope: no such file/);
    const badT = await runHearth(env.args('--timeout', 'soon'));
    assert.equal(badT.code, 2);
    assert.match(badT.stderr, /error: --timeout soon: expected a duration like 90s, 15m or 1h30m/);
    writeFileSync(path.join(env.dir, 'notflux.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    const notFlux = await runHearth(['platform', 'install', '-f', env.spec, '--kubeconfig', env.kubeconfig, '--flux-manifests', path.join(env.dir, 'notflux.yaml')]);
    assert.equal(notFlux.code, 2);
    assert.match(notFlux.stderr, /does not look like Flux's install\.yaml/);
    assert.equal(env.api.requests.filter((q) => q.method === 'PATCH').length, 0);
  } finally {
    await env.close();
  }
});

test('an unreachable API server is one line, exit 1', async () => {
  const env = await setup({});
  await env.close();
  const r = await runHearth(env.args('--timeout', '5s'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\n$/);
});

test('waitForReleases: relists when the server ends the watch, and says where things stand on a quiet stretch', async () => {
  const env = await setup({ bundle: 'distro-hosted' });
  const ctl = new FakeHelmController(env.api, { hold: new Set(['cert-manager']) }).start();
  try {
    const first = await runHearth(env.args('--timeout', '2s'));
    assert.equal(first.code, 1);
    const lines: string[] = [];
    const client = clientFromKubeconfig(env.kubeconfig);
    const waiting = waitForReleases(client, expectedReleases(rendered(env.spec)), Date.now() + 20_000, (l) => lines.push(l), undefined, 300);
    await until(() => lines.some((l) => l.startsWith('still waiting after')), 10_000, 'a heartbeat');
    assert.match(lines.find((l) => l.startsWith('still waiting after'))!, /Ready; reconciling cert-manager$/);
    const watchesBefore = env.api.requests.filter((q) => q.query.watch === 'true').length;
    env.api.closeWatches();
    await until(() => env.api.requests.filter((q) => q.query.watch === 'true').length > watchesBefore, 10_000, 'a new watch');
    ctl.stop();
    new FakeHelmController(env.api).tick(); // release the hold: cert-manager Ready
    const ctl2 = new FakeHelmController(env.api).start();
    const result = await waiting;
    ctl2.stop();
    assert.equal(result.outcome, 'ready', result.message);
    assert.ok(lines.some((l) => /cert-manager \(hearth-cert-manager\) ready: Release reconciliation succeeded/.test(l)));
  } finally {
    ctl.stop();
    await env.close();
  }
});
