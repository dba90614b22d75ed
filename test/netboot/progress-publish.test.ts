/**
 * What publishProgress puts on the run's event bus: a machine snapshot per change that later
 * events do not alter (the tracker replaces its arrays instead of changing them, so the snapshot
 * is a shallow copy), the boot event tied to its MAC, and the tracker's per-machine steps bounded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendBounded, MAX_STEPS, ProgressTracker, type MachineProgress } from '../../src/netboot/progress/index.js';
import { publishProgress } from '../../src/netboot/server.js';
import { RunEventBus, type RunEvent } from '../../src/pipeline/events.js';

const MAC = '02:00:00:00:00:01';
const IP = '192.0.2.11';

function wired(): { tracker: ProgressTracker; events: RunEvent[] } {
  const tracker = new ProgressTracker({ macForIp: (ip) => (ip === IP ? MAC : undefined) });
  const bus = new RunEventBus();
  publishProgress(tracker, bus);
  const events: RunEvent[] = [];
  bus.subscribe((n) => events.push(n.event));
  return { tracker, events };
}

const machines = (events: RunEvent[]): MachineProgress[] => events.flatMap((e) => (e.type === 'machine' ? [e.machine] : []));

describe('publishProgress', () => {
  it('a published snapshot keeps its steps, downloads and errors whatever happens later', () => {
    const { tracker, events } = wired();
    tracker.emit({ kind: 'dhcp-discover', at: 1000, mac: MAC });
    tracker.emit({ kind: 'http-asset-start', at: 2000, ip: IP, file: 'vmlinuz', bytes: 100, detail: 'kernel' });
    tracker.emit({ kind: 'dhcp-nak', at: 2500, mac: MAC, detail: 'wrong address' });
    const early = machines(events).at(-1)!;
    const frozen = JSON.stringify(early);

    tracker.emit({ kind: 'http-asset-progress', at: 3000, ip: IP, file: 'vmlinuz', bytes: 50, detail: 'kernel' });
    tracker.emit({ kind: 'dhcp-decline', at: 3500, mac: MAC });
    tracker.emit({ kind: 'http-asset-done', at: 4000, ip: IP, file: 'vmlinuz', bytes: 100, durationMs: 2000, detail: 'kernel' });
    for (let i = 0; i < 300; i++) tracker.emit({ kind: 'dhcp-ack', at: 5000 + i, mac: MAC, ip: IP });

    assert.equal(JSON.stringify(early), frozen);
    assert.deepEqual(early.steps.map((s) => s.step), ['dhcp-discover']);
    assert.deepEqual(early.active, [{ file: 'vmlinuz', since: 2000, bytes: 100, kind: 'kernel' }]);
    assert.deepEqual(early.errors, ['dhcp-nak: wrong address']);
    // The progress in between was published with the bytes sent so far, the tracker is current.
    const progress = machines(events).find((m) => m.active[0]?.sent === 50);
    assert.ok(progress, 'a snapshot with 50 bytes sent');
    const now = tracker.get(MAC)!;
    assert.deepEqual(now.active, []);
    assert.equal(now.errors.length, 2);
    assert.equal(now.errorCount, 2);
  });

  it('puts each boot event on the bus with its MAC, except the per-second download progress', () => {
    const { tracker, events } = wired();
    tracker.emit({ kind: 'dhcp-ack', at: 1, mac: MAC, ip: IP });
    tracker.emit({ kind: 'http-asset-start', at: 2, ip: IP, file: 'vmlinuz', bytes: 10, detail: 'kernel' });
    tracker.emit({ kind: 'http-asset-progress', at: 3, ip: IP, file: 'vmlinuz', bytes: 5, detail: 'kernel' });
    const boots = events.flatMap((e) => (e.type === 'boot' ? [e.boot] : []));
    assert.deepEqual(
      boots.map((b) => [b.kind, b.mac]),
      [
        ['dhcp-ack', MAC],
        ['http-asset-start', MAC],
      ],
    );
    assert.equal(machines(events).length, 3);
  });
});

describe('progress steps', () => {
  it('keeps the latest MAX_STEPS (64) steps of a machine', () => {
    assert.equal(MAX_STEPS, 64);
    const t = new ProgressTracker();
    for (let i = 0; i < 1000; i++) t.emit({ kind: 'dhcp-discover', at: i, mac: MAC, detail: `d${i}` });
    const steps = t.get(MAC)!.steps;
    assert.equal(steps.length, 64);
    assert.equal(steps[0]!.detail, 'd936');
    assert.equal(steps.at(-1)!.detail, 'd999');
  });

  it('appendBounded returns a new array with the latest items and leaves its input alone', () => {
    const a = [1, 2, 3];
    assert.deepEqual(appendBounded(a, 4, 3), [2, 3, 4]);
    assert.deepEqual(appendBounded(a, 4, 5), [1, 2, 3, 4]);
    assert.deepEqual(appendBounded([], 1, 1), [1]);
    assert.deepEqual(a, [1, 2, 3]);
  });
});
