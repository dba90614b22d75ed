/**
 * `hearth up` on bad input and stuck machines: each ends with one clear line and exit 2 (input) or
 * 1 (a machine that never comes up), and leaves nothing half-done.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { runHearth } from '../helpers/cli.js';
import { startHearth, until } from '../platform/helpers.js';
import { upLab, type UpLab } from './up-lab.js';

const oneLine = (stderr: string): string => {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
};

describe('hearth up on bad input', { timeout: 120_000 }, () => {
  let l: UpLab | undefined;
  afterEach(async () => {
    await l?.stop();
    l = undefined;
  });

  test('missing boot assets: exit 2, says how to get them, binds and writes nothing', async () => {
    l = await upLab({ noAssets: true });
    const r = await runHearth(l.args('-o', 'json'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(oneLine(r.stderr), /^error: assets directory \(netboot.assets\) \S+ does not exist: run `hearth image build` first or download https:\/\/\S+ and \S+ into /);
    assert.equal(r.stdout, '');
    assert.equal(existsSync(l.out), false, 'no output directory');
  });

  test('netboot port taken: exit 2, one line, the output directory left as it was', async () => {
    l = await upLab();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(l!.httpPort, '127.0.0.1', r));
    try {
      const r = await runHearth(l.args('-o', 'json'));
      assert.equal(r.code, 2, r.stderr);
      assert.match(oneLine(r.stderr), /^error: HTTP port already in use on 127\.0\.0\.1:\d+/);
      assert.equal(existsSync(l.out), false, `nothing written: ${existsSync(l.out) ? readdirSync(l.out) : ''}`);
    } finally {
      blocker.close();
    }
  });

  test('Ctrl-C while waiting for machines: exit 1, one line saying how to continue, state saved', async () => {
    l = await upLab();
    const run = startHearth(l.args('-o', 'json'));
    await until(() => /netboot serving/.test(run.stdout()) || run.child.exitCode !== null, 60_000, 'netboot to serve');
    run.child.kill('SIGINT');
    assert.equal(await run.wait('up to exit after SIGINT'), 1, run.stderr());
    assert.match(oneLine(run.stderr()), /^error: interrupted during netboot; rerun `hearth up` to continue where it stopped$/);
    assert.ok(existsSync(path.join(l.out, 'state.json')));
    // netboot is closed: its port is free again
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(l!.httpPort, '127.0.0.1', resolve));
    probe.close();
  });

  test('machines that never come up: exit 1 after --timeout, naming each one and its last stage', async () => {
    l = await upLab();
    // 30 s: the three control planes answer in a few seconds alone, but the suite runs files side by side
    const run = startHearth(l.args('--until', 'netboot', '--timeout', '30s', '-o', 'json'));
    // worker1 is never powered on; worker2 stops after its kernel
    await Promise.all([l.powerOn(['cp1', 'cp2', 'cp3']), l.powerOn(['worker2'], 'kernel')]);
    const code = await run.wait('up to give up after --timeout 30s', 120_000);
    assert.equal(code, 1, run.stderr());
    const line = oneLine(run.stderr());
    assert.match(line, /^error: timed out waiting for 2 machines to answer the Talos API: /);
    assert.match(line, /worker1 \(never seen: no DHCP request nor boot script/);
    assert.match(line, /worker2 \(last stage kernel, \d+s ago\)/);
    assert.doesNotMatch(line, /cp1|cp2|cp3/);
    const events = run.stdout().trim().split('\n').map((x) => JSON.parse(x));
    assert.ok(events.some((e) => e.type === 'stage' && e.stage === 'netboot' && e.state === 'failed'));
    assert.equal(l.nodes().reduce((n, d) => n + d.applyCount, 0), 0, 'nothing applied');
    assert.equal(existsSync(path.join(l.out, 'kubeconfig')), false);
  });
});
