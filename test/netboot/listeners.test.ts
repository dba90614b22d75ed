/** Listeners, the event bus and the progress tracker: subscribe and unsubscribe during a delivery take effect from the next event. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Listeners } from '../../src/common/listeners.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { RunEventBus } from '../../src/pipeline/events.js';

test('Listeners: in subscription order, once per function, removed by the returned function', () => {
  const l = new Listeners<() => void>();
  const a = () => undefined;
  const b = () => undefined;
  const offA = l.add(a);
  l.add(b);
  l.add(a);
  assert.deepEqual(l.current, [a, b]);
  offA();
  offA();
  assert.deepEqual(l.current, [b]);
});

test('RunEventBus: a listener added during a delivery gets the next event, not this one; one removed still gets this one', () => {
  const bus = new RunEventBus();
  const seen: string[] = [];
  let offLate: (() => void) | undefined;
  let offSecond: () => void = () => undefined;
  bus.subscribe(({ id }) => {
    seen.push(`first ${id}`);
    if (id === 1) offLate = bus.subscribe((e) => seen.push(`late ${e.id}`));
    if (id === 1) offSecond();
  });
  offSecond = bus.subscribe(({ id }) => seen.push(`second ${id}`));
  const stage = { type: 'stage' as const, at: 0, stage: 'netboot' as const, state: 'started' as const };
  bus.emit(stage);
  bus.emit(stage);
  offLate!();
  bus.emit(stage);
  assert.deepEqual(seen, ['first 1', 'second 1', 'first 2', 'late 2', 'first 3']);
});

test('ProgressTracker: onChange added during a change sees the next change only; removal during one takes effect after it', () => {
  const t = new ProgressTracker();
  const seen: string[] = [];
  let offOther: () => void = () => undefined;
  t.onChange((_m, e) => {
    seen.push(`first ${e.kind}`);
    if (e.kind === 'dhcp-discover') {
      t.onChange((_m2, e2) => seen.push(`late ${e2.kind}`));
      offOther();
    }
  });
  offOther = t.onChange((_m, e) => seen.push(`other ${e.kind}`));
  t.emit({ kind: 'dhcp-discover', at: 1, mac: '52:54:00:00:00:01' });
  t.emit({ kind: 'dhcp-offer', at: 2, mac: '52:54:00:00:00:01', ip: '192.0.2.10' });
  assert.deepEqual(seen, ['first dhcp-discover', 'other dhcp-discover', 'first dhcp-offer', 'late dhcp-offer']);
});
