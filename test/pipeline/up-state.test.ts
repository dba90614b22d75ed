/**
 * The parts of `hearth up` that need no network: DIR/state.json (atomic, folded writes, bad files
 * refused as input), the follower turning netboot and Talos events into stages on the bus, and the
 * summary's per-stage times.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../../src/common/errors.js';
import { RunEventBus, type RunEvent } from '../../src/pipeline/events.js';
import { Follower } from '../../src/pipeline/up/follow.js';
import { publishProgress } from '../../src/netboot/server.js';
import { emptyState, loadState, StateFile } from '../../src/pipeline/up/state.js';
import { machineSummaries } from '../../src/pipeline/up/summary.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { loadSpec } from '../../src/spec/index.js';
import { tmpDir, writeSpec } from '../talos/helpers.js';

describe('hearth up state', () => {
  test('state.json: saved atomically, writes folded, read back; a file that is not ours is invalid input', async () => {
    const dir = tmpDir('up-state');
    assert.equal(await loadState(dir), undefined);
    const f = new StateFile(dir, emptyState('c', 1000));
    f.stage('cp1', 'kernel', 1500, '192.0.2.100');
    const writes = [f.save(), f.save(), f.save()];
    await Promise.all(writes);
    await f.flush();
    assert.deepEqual(readdirSync(dir), ['state.json'], 'no temporary file left');
    const back = await loadState(dir);
    assert.deepEqual(back!.machines.cp1, { stage: 'kernel', stages: { kernel: 1500 }, address: '192.0.2.100', installed: false });
    // the first time a stage was reached stays
    assert.equal(f.stage('cp1', 'kernel', 9999), false);
    assert.equal(f.state.machines.cp1!.stages.kernel, 1500);
    writeFileSync(path.join(dir, 'state.json'), '{"version": 7}');
    await assert.rejects(loadState(dir), (e) => e instanceof InputError && /not a hearth up state file/.test(e.message));
    writeFileSync(path.join(dir, 'state.json'), 'half a wri');
    await assert.rejects(loadState(dir), (e) => e instanceof InputError && /is not JSON/.test(e.message));
  });

  test('the follower: netboot steps and Talos phases become stages, on the bus and in the state; the summary times them', async () => {
    const { file, dir } = writeSpec(undefined, tmpDir('up-follow'));
    const spec = loadSpec(file).spec;
    const bus = new RunEventBus();
    const seen: RunEvent[] = [];
    bus.subscribe((e) => seen.push(e.event));
    const state = new StateFile(dir, emptyState('mycloud', 0));
    let now = 0;
    const follower = new Follower(spec, bus, state, () => now);
    const progress = new ProgressTracker({ nameForMac: (mac) => follower.nameForMac(mac) });
    // as in hearth up: netboot puts the machines' progress on the run's bus, the follower turns it into stages
    publishProgress(progress, bus);
    progress.onChange((m, e) => follower.netboot(m, e));
    const mac = '52:54:00:00:00:01';
    progress.emit({ kind: 'http-script', at: 1000, mac, ip: '192.0.2.100', file: '/ipxe', detail: 'profile default' });
    progress.emit({ kind: 'http-asset-start', at: 1100, mac, ip: '192.0.2.100', file: 'vmlinuz' });
    progress.emit({ kind: 'http-asset-done', at: 1600, mac, ip: '192.0.2.100', file: 'vmlinuz', detail: 'kernel', bytes: 1000, durationMs: 500 });
    progress.emit({ kind: 'http-asset-done', at: 2600, mac, ip: '192.0.2.100', file: 'initramfs.xz', detail: 'initrd', bytes: 5000, durationMs: 1000 });
    // a machine not in the spec is on the bus but has no stages
    progress.emit({ kind: 'http-script', at: 2700, mac: '02:00:00:00:00:99', ip: '192.0.2.150', file: '/ipxe' });
    // zero-touch netboot's kinds (a netboot without them never sends them): config fetched, refused
    const zeroTouch = (kind: string, at: number, m: string, detail?: string) => progress.emit({ kind: kind as 'http-script', at, mac: m, ip: '192.0.2.101', file: '/talos/config', detail });
    zeroTouch('talos-config', 3000, '52:54:00:00:00:02');
    zeroTouch('talos-config-refused', 3100, '52:54:00:00:00:03', 'config-once');
    assert.deepEqual(state.state.machines.cp2!.stages, { config: 3000 });
    assert.equal(state.state.machines.cp3!.stage, 'waiting', 'a refused config moves nothing on');
    assert.ok(seen.some((e) => e.type === 'talos' && e.name === 'cp2' && e.phase === 'config-fetched'));
    assert.ok(seen.some((e) => e.type === 'log' && e.level === 'warn' && /^cp3: config refused to 192\.0\.2\.101 \(config-once\)$/.test(e.message)));
    now = 4000;
    follower.talos('cp1', 'maintenance', '192.0.2.100');
    now = 5000;
    follower.talos('cp1', 'applied', '192.0.2.100');
    now = 9000;
    follower.talos('cp1', 'running', '192.0.2.11');
    await state.flush();

    assert.deepEqual(
      seen.filter((e) => e.type === 'talos').map((e) => (e.type === 'talos' ? [e.name, e.phase, e.address] : [])),
      [['cp2', 'config-fetched', '192.0.2.101'], ['cp1', 'maintenance', '192.0.2.100'], ['cp1', 'applied', '192.0.2.100'], ['cp1', 'running', '192.0.2.11']],
    );
    assert.equal(seen.filter((e) => e.type === 'machine').length, 7);
    assert.equal(follower.last('cp1').stage, 'running');
    assert.equal(follower.address('cp1'), '192.0.2.11');
    const saved = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8'));
    assert.deepEqual(saved.machines.cp1.stages, { script: 1000, kernel: 1600, initrd: 2600, maintenance: 4000, applied: 5000, running: 9000 });
    assert.deepEqual(Object.keys(saved.machines).sort(), spec.machines.map((m) => m.name).sort());
    const cp1 = machineSummaries(spec, state.state).find((m) => m.name === 'cp1')!;
    assert.deepEqual(cp1.stages, [
      { stage: 'script', tookMs: 0 },
      { stage: 'kernel', tookMs: 600 },
      { stage: 'initrd', tookMs: 1000 },
      { stage: 'maintenance', tookMs: 1400 },
      { stage: 'applied', tookMs: 1000 },
      { stage: 'running', tookMs: 4000 },
    ]);
    assert.equal(cp1.totalMs, 8000);
  });
});
