/**
 * `hearth bootstrap --state DIR` (DIR: `hearth netboot serve`'s state directory) marks the machines
 * it brought up installed, so their next network boot is from disk (issue 13 §2); `hearth netboot
 * reinstall` undoes it for one. Runs the real CLI against the five Talos node doubles on loopback.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { InstallMarks } from '../../src/netboot/installs.js';
import { runHearth } from '../helpers/cli.js';
import { lab, MACHINES, type Lab } from '../talos/bootstrap/lab.js';

describe('hearth bootstrap --state marks machines installed', () => {
  let l: Lab | undefined;
  after(() => l?.stop());

  it('every bootstrapped machine is marked; reinstall clears one', async () => {
    l = await lab('v1.13.9');
    const state = path.join(l.dir, 'netboot-state');
    const r = await runHearth(l.args('--timeout', '90s', '--state', state), { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^marked ${MACHINES.join(', ')} installed in ${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/installed\\.json`, 'm'));
    const marks = new InstallMarks(state);
    assert.deepEqual(marks.list().map((m) => m.name), [...MACHINES]);
    assert.deepEqual(marks.list().map((m) => m.mac), MACHINES.map((_, i) => `52:54:00:00:00:0${i + 1}`));
    const re = await runHearth(['netboot', 'reinstall', 'worker1', '-f', l.spec, '--state', state]);
    assert.equal(re.code, 0, re.stderr);
    assert.equal(marks.isInstalled('52:54:00:00:00:04'), false);
    assert.equal(marks.isInstalled('52:54:00:00:00:01'), true);
  });
});
