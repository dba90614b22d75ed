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
