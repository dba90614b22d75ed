import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runHearth } from '../helpers/cli.js';
import { formatAge, releaseState, releaseStatuses } from '../../src/platform/status.js';
import type { KubeObject } from '../../src/platform/types.js';
import { FakeHelmController, FakeKubeApiServer } from '../doubles/kube-api/index.js';
import { fluxInstallManifest, specWith, startHearth, tempDir, until } from './helpers.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function hr(name: string, ns: string, conditions: unknown[], extra: Record<string, unknown> = {}, deps: string[] = []): KubeObject {
  return {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name, namespace: ns, generation: 2, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { interval: '10m', dependsOn: deps.map((d) => ({ name: d, namespace: ns })) },
    status: { conditions, observedGeneration: 2, ...extra },
  };
}
const ready = { type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'Release reconciliation succeeded', observedGeneration: 2 };

test('release states: Ready for the current generation, stalled or retries exhausted = failed, otherwise progressing', () => {
  assert.equal(releaseState(hr('a', 'n', [ready])), 'ready');
  assert.equal(releaseState(hr('a', 'n', [{ ...ready, observedGeneration: 1 }], { observedGeneration: 1 })), 'progressing');
  assert.equal(releaseState(hr('a', 'n', [{ type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'x' }], { installFailures: 1 })), 'progressing');
  assert.equal(releaseState(hr('a', 'n', [{ type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'x' }], { installFailures: 4 })), 'failed');
  assert.equal(releaseState(hr('a', 'n', [{ type: 'Stalled', status: 'True', reason: 'RetriesExceeded' }])), 'failed');
  assert.equal(releaseState(hr('a', 'n', [])), 'progressing');
});

test("helm-controller's condition sequences, step by step", () => {
  // As helm-controller v2 reports an install that is retried and then given up (api/v2 condition
  // reasons; Stalled/RetriesExceeded from its atomic release reconciler), then one that succeeds.
  const progressing = { type: 'Reconciling', status: 'True', reason: 'Progressing', message: 'Fulfilling prerequisites', observedGeneration: 2 };
  const steps: [string, unknown[], Record<string, unknown>, string, string | undefined][] = [
    ['new, not yet seen', [], {}, 'progressing', 'waiting for helm-controller to reconcile it'],
    ['reconciling', [progressing, { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'Reconciliation in progress', observedGeneration: 2 }], {}, 'progressing', 'Progressing: Reconciliation in progress'],
    ['install failed, retries left', [progressing, { type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'Helm install failed: timed out waiting for the condition', observedGeneration: 2 }], { installFailures: 1 }, 'progressing', 'InstallFailed: Helm install failed: timed out waiting for the condition'],
    [
      'retries exceeded',
      [
        { type: 'Stalled', status: 'True', reason: 'RetriesExceeded', message: 'Failed to install after 3 attempt(s)', observedGeneration: 2 },
        { type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'Helm install failed: timed out waiting for the condition', observedGeneration: 2 },
      ],
      { installFailures: 3 },
      'failed',
      'failed: InstallFailed: Helm install failed: timed out waiting for the condition; RetriesExceeded: Failed to install after 3 attempt(s)',
    ],
    ['fixed and installed', [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'Helm install succeeded', observedGeneration: 2 }, { type: 'Released', status: 'True', reason: 'InstallSucceeded', observedGeneration: 2 }], {}, 'ready', undefined],
    ['spec changed, upgrade under way (Ready still True for the old generation)', [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'Helm install succeeded', observedGeneration: 1 }], { observedGeneration: 1 }, 'progressing', 'InstallSucceeded: Helm install succeeded'],
  ];
  for (const [what, conditions, extra, state, waitingFor] of steps) {
    const row = releaseStatuses([hr('a', 'n', conditions, extra)], new Date('2026-01-01T00:01:00Z'))[0]!;
    assert.equal(row.state, state, what);
    assert.equal(row.waitingFor, waitingFor, what);
  }
});

test('kubectl age format', () => {
  assert.equal(formatAge(45), '45s');
  assert.equal(formatAge(241), '4m1s');
  assert.equal(formatAge(240), '4m');
  assert.equal(formatAge(3 * 3600 + 120), '3h2m');
  assert.equal(formatAge(2 * 86400 + 3 * 3600), '2d3h');
});

test('what an unready release waits for: its unready dependencies, else its own condition; missing ones are listed', () => {
  const now = new Date('2026-01-01T00:04:01Z');
  const rows = releaseStatuses(
    [
      hr('base', 'n', [{ type: 'Ready', status: 'Unknown', reason: 'Progressing', message: "Running 'install' action with timeout of 10m0s" }]),
      hr('top', 'n', [{ type: 'Ready', status: 'False', reason: 'DependencyNotReady', message: "dependency 'n/base' is not ready" }], {}, ['base']),
      hr('ok', 'm', [ready]),
    ],
    now,
    [{ namespace: 'x', name: 'later', dependsOn: [] }],
  );
  assert.deepEqual(
    rows.map((r) => [r.namespace, r.name, r.age, r.ready, r.waitingFor]),
    [
      ['m', 'ok', '4m1s', 'True', undefined],
      ['n', 'base', '4m1s', 'Unknown', "Progressing: Running 'install' action with timeout of 10m0s"],
      ['n', 'top', '4m1s', 'False', 'dependencies not ready: base'],
      ['x', 'later', '-', '-', 'not applied (run `hearth platform install`)'],
    ],
  );
});

test('hearth platform status: the seed table, waiting lines, -o json, and -w following changes', async () => {
  const api = new FakeKubeApiServer();
  await api.start();
  const dir = tempDir('status');
  dirs.push(dir);
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfig());
  const spec = specWith({ bundle: 'distro-hosted' }, dir);
  const flux = fluxInstallManifest(dir);
  const ctl = new FakeHelmController(api, { hold: new Set(['cert-manager']) }).start();
  let stopWatch = () => undefined as void;
  try {
    const inst = await runHearth(['platform', 'install', '-f', spec, '--kubeconfig', kubeconfig, '--flux-manifests', flux, '--timeout', '3s']);
    assert.equal(inst.code, 1);
    ctl.stop();

    const r = await runHearth(['platform', 'status', '-f', spec, '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^NAMESPACE +NAME +AGE +READY +STATUS$/);
    assert.match(r.stdout, /^hearth-fluxcd +fluxcd-operator +\d+s +True +Release reconciliation succeeded$/m);
    assert.match(r.stdout, /^hearth-cert-manager +cert-manager +\d+s +(Unknown|False) +/m);
    assert.match(r.stdout, /\nwaiting:\n/);
    assert.match(r.stdout, /^ {2}hearth-cert-manager\/cert-manager-issuers: dependencies not ready: cert-manager, ingress-nginx$/m);
    assert.match(r.stdout, /^ {2}hearth-cert-manager\/cert-manager: waiting for helm-controller to reconcile it$/m);

    const j = await runHearth(['platform', 'status', '-f', spec, '--kubeconfig', kubeconfig, '-o', 'json']);
    assert.equal(j.code, 0);
    const data = JSON.parse(j.stdout) as { releases: { name: string; state: string; waitingFor?: string; ready: string }[]; ready: number; total: number };
    const issuers = data.releases.find((x) => x.name === 'cert-manager-issuers')!;
    assert.equal(issuers.state, 'progressing');
    assert.equal(issuers.waitingFor, 'dependencies not ready: cert-manager, ingress-nginx');
    assert.ok(data.total > data.ready && data.ready > 0);

    // -w: the table, then a line per change as the double's controller moves on.
    const w = startHearth(['platform', 'status', '--kubeconfig', kubeconfig, '-w', '-f', spec]);
    stopWatch = w.stop;
    await until(() => /waiting:/.test(w.stdout()), 30_000, 'the first table');
    api.setStatus('HelmRelease', 'cert-manager', 'hearth-cert-manager', {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'Release reconciliation succeeded', observedGeneration: 1, lastTransitionTime: new Date().toISOString() }],
    });
    await until(() => /^hearth-cert-manager +cert-manager +\S+ +True +Release reconciliation succeeded$/m.test(w.stdout()), 30_000, 'the watched change');
    // The server ends the watch: status relists and keeps following.
    const watchCount = () => api.requests.filter((q) => q.query.watch === 'true').length;
    const watchesBefore = watchCount();
    api.closeWatches();
    await until(() => watchCount() > watchesBefore, 30_000, 'a new watch after the relist');
    api.setStatus('HelmRelease', 'cert-manager-issuers', 'hearth-cert-manager', {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'Release reconciliation succeeded', observedGeneration: 1, lastTransitionTime: new Date().toISOString() }],
    });
    await until(() => /^hearth-cert-manager +cert-manager-issuers +\S+ +True +Release reconciliation succeeded$/m.test(w.stdout()), 30_000, 'a change after the relist');
    w.child.kill('SIGINT');
    assert.equal(await w.wait('status -w to exit after SIGINT'), 0);
    const watches = api.requests.filter((q) => q.query.watch === 'true');
    assert.ok(watches.length >= 2, 'rewatched after the server closed the stream');
    assert.ok(watches.every((q) => q.query.resourceVersion && q.query.allowWatchBookmarks === 'true'));
  } finally {
    stopWatch();
    ctl.stop();
    await api.stop();
  }
});

test('status without a spec lists whatever HelmReleases the cluster has', async () => {
  const api = new FakeKubeApiServer();
  await api.start();
  const dir = tempDir('status2');
  dirs.push(dir);
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfig());
  try {
    const flux = fluxInstallManifest(dir);
    const spec = specWith({ bundle: 'distro-hosted', disable: ['telepresence'] }, dir);
    const ctl = new FakeHelmController(api).start();
    const inst = await runHearth(['platform', 'install', '-f', spec, '--kubeconfig', kubeconfig, '--flux-manifests', flux, '--timeout', '30s']);
    ctl.stop();
    assert.equal(inst.code, 0, inst.stderr);
    // Run where there is no hearth.yaml: only the cluster's releases are shown.
    const r = await runHearth(['platform', 'status', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /waiting:/);
    assert.equal(r.stdout.trimEnd().split('\n').length, 1 + api.objects('HelmRelease').length);
  } finally {
    await api.stop();
  }
});

test('status with no kubeconfig anywhere says so in one line (exit 2), not a TLS error about localhost:8080', async () => {
  const home = tempDir('status-nokube');
  dirs.push(home);
  const env = { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };
  const r = await runHearth(['platform', 'status'], { cwd: home, env });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim(), 'error: no kubeconfig: pass --kubeconfig FILE or set KUBECONFIG (`hearth talos kubeconfig` fetches one)');
  const missing = await runHearth(['platform', 'status', '--kubeconfig', path.join(home, 'nope')], { cwd: home, env });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: cannot read kubeconfig .*nope: no such file\n$/);
});
