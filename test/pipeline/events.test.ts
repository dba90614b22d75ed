import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunEventBus } from '../../src/pipeline/events.js';
import type { MachineProgress } from '../../src/netboot/progress/index.js';

function machine(mac: string, name?: string): MachineProgress {
  return { mac, ...(name ? { name } : {}), firstSeen: 0, lastSeen: 0, state: 'seen', steps: [], active: [], errors: [], errorCount: 0 };
}

test('machine snapshots are bounded: made-up MACs go first, machines in the spec stay', () => {
  const bus = new RunEventBus(3);
  bus.emit({ type: 'machine', at: 1, machine: machine('aa:00:00:00:00:01', 'cp1') });
  for (let i = 0; i < 50; i++) bus.emit({ type: 'machine', at: 2, machine: machine(`bb:00:00:00:00:${i.toString(16).padStart(2, '0')}`) });
  const macs = bus.since(0).flatMap((e) => (e.event.type === 'machine' ? [e.event.machine.mac] : []));
  assert.equal(macs.length, 3);
  assert.ok(macs.includes('aa:00:00:00:00:01'), 'the spec machine is kept');
  assert.deepEqual(macs.slice(1), ['bb:00:00:00:00:30', 'bb:00:00:00:00:31'], 'the latest made-up MACs');
});

test('since: the history after an id it still holds, else the latest snapshots', () => {
  const bus = new RunEventBus();
  bus.emit({ type: 'stage', at: 1, stage: 'netboot', state: 'started' });
  bus.emit({ type: 'machine', at: 2, machine: machine('aa:00:00:00:00:01', 'cp1') });
  bus.emit({ type: 'machine', at: 3, machine: { ...machine('aa:00:00:00:00:01', 'cp1'), state: 'got kernel' } });
  bus.emit({ type: 'log', at: 4, level: 'info', message: 'hello' });
  assert.deepEqual(bus.since(2).map((e) => e.id), [3, 4]);
  // A fresh view (or an id from another process) starts from the snapshots: one per machine, the latest.
  const fresh = bus.since(0);
  assert.deepEqual(fresh.map((e) => e.id), [1, 3]);
  assert.deepEqual(bus.since(99).map((e) => e.id), [1, 3]);
});

test('the history is a ring of the latest events: resumes within it, snapshots before it', () => {
  assert.throws(() => new RunEventBus(10, 0), RangeError);
  const bus = new RunEventBus(10, 3);
  assert.equal(bus.covers(0), false);
  assert.deepEqual(bus.recent(5), []);
  for (let i = 1; i <= 5; i++) bus.emit({ type: 'log', at: i, level: 'info', message: `m${i}` });
  assert.equal(bus.lastId(), 5);
  assert.deepEqual(bus.recent(2).map((e) => e.id), [4, 5]);
  assert.deepEqual(bus.recent(10).map((e) => e.id), [3, 4, 5], 'only the last 3 are held');
  assert.equal(bus.covers(2), true, 'the events after 2 (3, 4, 5) are all held');
  assert.deepEqual(bus.since(2).map((e) => e.id), [3, 4, 5]);
  assert.deepEqual(bus.since(4).map((e) => e.id), [5]);
  assert.equal(bus.covers(1), false, 'event 2 was let go');
  assert.deepEqual(bus.since(1), [], 'not covered: the snapshots (none for log lines)');
  bus.emit({ type: 'log', at: 6, level: 'info', message: 'm6' });
  assert.deepEqual(bus.since(3).map((e) => [e.id, e.event.type === 'log' && e.event.message]), [
    [4, 'm4'],
    [5, 'm5'],
    [6, 'm6'],
  ]);
});
