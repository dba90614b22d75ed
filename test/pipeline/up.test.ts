/**
 * `hearth up` end to end through the real CLI: five machine doubles network-boot from hearth's
 * netboot on loopback (a DHCP lease from hearth's DHCP server, then script, kernel, initrd over HTTP), become Talos node doubles, get configured, etcd is
 * bootstrapped once, the platform goes Ready on the Kubernetes double; a rerun changes nothing.
 * Then SIGKILL in the middle of bootstrap and a rerun that finishes without a second apply or bootstrap.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { runHearth } from '../helpers/cli.js';
import { startHearth, until } from '../platform/helpers.js';
import { configuredAt, upLab, type UpLab } from './up-lab.js';
import { rejectsWithin, WAIT_MS } from '../helpers/within.js';

const jsonLines = (s: string): any[] =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** Each node double was configured exactly once: by an apply, or by the config it fetched at boot. */
function configuredOnce(l: UpLab): void {
  for (const [name, m] of l.machines) assert.equal(m.node!.applyCount + (m.config ? 1 : 0), 1, `${name} configured once`);
}

describe('hearth up', { timeout: 300_000 }, () => {
  let l: UpLab | undefined;
  afterEach(async () => {
    await l?.stop();
    l = undefined;
  });

  test('five machines from their first network boot to platform Ready; a rerun does nothing', async () => {
    l = await upLab();
    const run = startHearth(l.args('--timeout', '120s', '-o', 'json'));
    await l.powerOn();
    const code = await run.wait('up to finish (--timeout 120s)', 240_000);
    assert.equal(code, 0, run.stderr());
    const events = jsonLines(run.stdout());
    const summary = events.at(-1);
    assert.equal(summary.type, 'summary');
    assert.equal(summary.changed, true);
    assert.deepEqual(summary.stages.map((s: any) => [s.stage, s.state]), [['netboot', 'done'], ['bootstrap', 'done'], ['platform', 'done']]);
    // every machine followed from DHCP through its downloads and its config (zero-touch: netboot
    // serves it, no apply) to running
    for (const m of summary.machines) {
      const stages = m.stages.map((s: any) => s.stage);
      assert.deepEqual(stages, ['dhcp', 'script', 'kernel', 'initrd', 'config', 'running'], m.name);
      assert.ok(stages.indexOf('script') < stages.indexOf('kernel') && stages.indexOf('initrd') < stages.indexOf('running'), `${m.name}: order ${stages}`);
      assert.equal(m.installed, true);
      assert.equal(m.stage, 'running');
      assert.equal(m.address, configuredAt(l.names.indexOf(m.name)));
    }
    // DHCP from hearth: each machine got its reserved address (machines[].address) and iPXE's script URL
    for (const [name, m] of l.machines) {
      assert.equal(m.lease?.ip, configuredAt(l.names.indexOf(name)), name);
      assert.match(m.lease!.file, /^http:\/\/127\.0\.0\.1:\d+\/boot\.ipxe$/);
    }
    // the machine doubles fetched what the scripts named, from hearth
    for (const m of l.machines.values()) assert.deepEqual(m.fetched.map((f) => [path.basename(f.path), f.status]), [['ipxe', 200], ['vmlinuz', 200], ['initramfs.xz', 200], ['config', 200]]);
    // one stream: netboot snapshots, Talos phases, components, stages
    assert.ok(events.some((e) => e.type === 'machine' && e.machine.name === 'cp1' && e.machine.steps.some((s: any) => s.step === 'kernel')));
    assert.ok(events.some((e) => e.type === 'talos' && e.name === 'worker2' && e.phase === 'running'));
    const components = events.filter((e) => e.type === 'component');
    assert.ok(components.length > 0);
    const lastState = new Map(components.map((c) => [`${c.namespace}/${c.name}`, c.state]));
    assert.ok([...lastState.values()].every((s) => s === 'ready'), JSON.stringify([...lastState]));
    assert.ok(events.some((e) => e.type === 'log' && /^netboot stopped: every machine is installed/.test(e.message)));
    // the doubles: configured once each (by the config they fetched), etcd bootstrapped once on cp1
    configuredOnce(l);
    for (const [name, m] of l.machines) assert.ok(m.config && m.node!.applyCount === 0, `${name}: zero-touch, no apply`);
    assert.equal(l.bootstraps(), 1);
    assert.equal(l.count('Bootstrap'), 1);
    for (const f of ['secrets.yaml', 'kubeconfig', 'talosconfig']) assert.equal(statSync(path.join(l.out, f)).mode & 0o777, 0o600, f);
    const state = JSON.parse(readFileSync(path.join(l.out, 'state.json'), 'utf8'));
    assert.deepEqual(Object.keys(state.stages).sort(), ['bootstrap', 'netboot', 'platform']);
    assert.ok(Object.values(state.machines).every((m: any) => m.installed));
    assert.doesNotMatch(readFileSync(path.join(l.out, 'state.json'), 'utf8'), /BEGIN|PRIVATE/);

    // the rerun: nothing applied, bootstrapped, written to the cluster or rewritten
    const files = ['secrets.yaml', 'kubeconfig', 'talosconfig'].map((f) => readFileSync(path.join(l!.out, f), 'utf8'));
    const writesBefore = l.kube!.requests.filter((q) => q.method !== 'GET').length;
    const again = await runHearth(l.args('--timeout', '60s', '-o', 'json'), { timeoutMs: 90_000 });
    assert.equal(again.code, 0, again.stderr);
    const s2 = jsonLines(again.stdout).at(-1);
    assert.equal(s2.changed, false);
    assert.ok(jsonLines(again.stdout).some((e) => e.type === 'log' && /^netboot not started/.test(e.message)));
    configuredOnce(l);
    assert.equal(l.bootstraps(), 1, 'no second etcd bootstrap (the engine asks again and cp1 refuses: etcd data directory is not empty)');
    assert.equal(l.kube!.requests.filter((q) => q.method !== 'GET').length, writesBefore, 'no write to the cluster');
    assert.deepEqual(['secrets.yaml', 'kubeconfig', 'talosconfig'].map((f) => readFileSync(path.join(l!.out, f), 'utf8')), files);

    // piped text: log lines, then the summary with a row per machine
    const text = await runHearth(l.args('--timeout', '60s'), { timeoutMs: 90_000 });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /^hearth up: mycloud is already up to platform; nothing changed/m);
    for (const name of l.names) assert.match(text.stderr, new RegExp(`^  ${name} +running +${configuredAt(l.names.indexOf(name)).replace(/\./g, '\\.')} .*dhcp \\+0\\.0s, script \\+`, 'm'));
    assert.match(text.stderr, /^component \S+: ready$/m);
    assert.equal(text.stdout, '');
  });

  test('--until netboot --keep-netboot: done once every machine answers, netboot serves on until Ctrl-C, exit 0', async () => {
    l = await upLab();
    const run = startHearth(l.args('--until', 'netboot', '--keep-netboot', '--timeout', '120s', '-o', 'json'));
    await l.powerOn();
    await until(() => /"type":"log","at":\d+,"level":"info","message":"netboot keeps serving/.test(run.stdout()) || run.child.exitCode !== null, 60_000, 'the netboot stage');
    assert.equal(run.child.exitCode, null, run.stderr());
    const events = jsonLines(run.stdout());
    assert.ok(events.some((e) => e.type === 'stage' && e.stage === 'netboot' && e.state === 'done'));
    assert.ok(!events.some((e) => e.type === 'stage' && e.stage === 'bootstrap' && e.state !== 'skipped'), 'bootstrap not started');
    assert.equal((await fetch(`http://127.0.0.1:${l.httpPort}/healthz`)).status, 200, 'netboot still serves');
    assert.equal(l.nodes().reduce((n, d) => n + d.applyCount, 0), 0, 'nothing applied');
    run.child.kill('SIGINT');
    assert.equal(await run.wait('up --keep-netboot to exit after SIGINT'), 0, run.stderr());
    const summary = jsonLines(run.stdout()).at(-1);
    assert.deepEqual(summary.stages.map((x: any) => x.state), ['done', 'skipped', 'skipped']);
    await rejectsWithin(WAIT_MS, 'a refusal on the port of the netboot stopped with the run', fetch(`http://127.0.0.1:${l.httpPort}/healthz`));
  });

  test('SIGKILL in the middle of bootstrap, then a rerun completes with no second apply or bootstrap', async () => {
    // maintenance mode and configs applied over the Talos API: the apply is what must not happen twice
    l = await upLab({ stageDelayMs: 400, talosConfig: false });
    const first = startHearth(l.args('--timeout', '120s', '-o', 'json'));
    await l.powerOn();
    // every machine applied, etcd not yet bootstrapped: kill it there
    await until(() => jsonLines(first.stdout()).filter((e) => e.type === 'talos' && e.phase === 'applied').length === 5 || first.child.exitCode !== null, 60_000, 'five applies');
    assert.equal(l.bootstraps(), 0, 'killed before etcd was bootstrapped');
    first.child.kill('SIGKILL');
    assert.equal(await first.wait('up to die of SIGKILL'), null);
    const applied = l.nodes().map((d) => d.applyCount);
    assert.deepEqual(applied, [1, 1, 1, 1, 1]);

    const again = await runHearth(l.args('--timeout', '120s', '-o', 'json'), { timeoutMs: 150_000 });
    assert.equal(again.code, 0, again.stderr);
    const s = jsonLines(again.stdout).at(-1);
    assert.deepEqual(s.stages.map((x: any) => x.state), ['done', 'done', 'done']);
    configuredOnce(l);
    assert.equal(l.bootstraps(), 1);
    assert.ok(s.machines.every((m: any) => m.installed && m.stages.some((x: any) => x.stage === 'kernel')), 'the first run\'s netboot stages are kept');
    for (const [name, m] of l.machines) assert.ok(!m.config && m.node!.applyCount === 1, `${name}: maintenance mode, applied once`);
    // maintenance keys pinned while discovering are forgotten once applied: each node now answers at
    // the same address (its DHCP reservation) with its configured key, which a stale pin would refuse
    const pins = JSON.parse(readFileSync(path.join(l.out, 'talos-pins.json'), 'utf8')).pins;
    assert.deepEqual(Object.keys(pins).filter((a) => l!.names.some((_, i) => configuredAt(i) === a)), []);
  });
});
