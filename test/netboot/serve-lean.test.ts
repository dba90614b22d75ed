/**
 * The pieces that keep `hearth netboot serve` cheap per DHCP exchange: log lines written in
 * batches, and the spec's boot decision remembered per MAC.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { lineBatcher, logLine, writeLogLine } from '../../src/cli/actions/netboot.js';
import type { MachineProgress } from '../../src/netboot/progress/index.js';
import { memoByMac } from '../../src/netboot/server.js';

test('log lines are written together once the delay has passed, in order', (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const writes: string[] = [];
  const log = lineBatcher((text) => writes.push(text), 20);
  log.add('a');
  log.add('b');
  assert.deepEqual(writes, [], 'nothing written before the delay');
  mock.timers.tick(19);
  assert.deepEqual(writes, []);
  mock.timers.tick(1);
  assert.deepEqual(writes, ['a\nb\n']);
  log.add('c');
  mock.timers.tick(20);
  assert.deepEqual(writes, ['a\nb\n', 'c\n']);
  mock.timers.tick(100);
  assert.equal(writes.length, 2, 'no empty writes');
});

test('a full batch is written at once, and flush() writes what waits', (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const writes: string[] = [];
  const log = lineBatcher((text) => writes.push(text), 20, 10);
  log.add('12345');
  log.add('6789');
  assert.deepEqual(writes, ['12345\n6789\n'], '10 bytes waiting: written without waiting for the timer');
  log.add('x');
  log.flush();
  assert.deepEqual(writes, ['12345\n6789\n', 'x\n']);
  mock.timers.tick(50);
  assert.equal(writes.length, 2, 'the flushed batch is not written twice');
  log.flush();
  assert.equal(writes.length, 2);
});

test('lines keep their text and order: multi-byte characters, and a line too long for the buffer written after what waits', (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const writes: string[] = [];
  const log = lineBatcher((text) => writes.push(text), 20, 10);
  log.add('é€');
  const long = 'x'.repeat(5000);
  log.add(long);
  log.add('z');
  mock.timers.tick(20);
  assert.deepEqual(writes, ['é€\n', long + '\n', 'z\n']);
  const many = lineBatcher((text) => writes.push(text), 20, 64);
  writes.length = 0;
  for (let i = 0; i < 100; i++) many.add(`line ${i} ü`);
  many.flush();
  assert.equal(writes.join(''), Array.from({ length: 100 }, (_, i) => `line ${i} ü\n`).join(''));
  assert.ok(writes.length > 1 && writes.every((w) => Buffer.byteLength(w) < 64 + 16), 'written in batches of about maxBytes');
});

test('memoByMac asks once per MAC and forgets the oldest MAC past its cap', () => {
  const asked: string[] = [];
  const allow = memoByMac((mac) => (asked.push(mac), mac.endsWith('1')), 2);
  assert.equal(allow('aa:01'), true);
  assert.equal(allow('aa:02'), false);
  assert.equal(allow('aa:01'), true);
  assert.deepEqual(asked, ['aa:01', 'aa:02']);
  allow('aa:03'); // past the cap of 2: aa:01 goes
  assert.equal(allow('aa:01'), true);
  assert.deepEqual(asked, ['aa:01', 'aa:02', 'aa:03', 'aa:01']);
  const falsy = memoByMac((mac) => (asked.push(mac), false));
  falsy('bb:01');
  falsy('bb:01');
  assert.equal(asked.filter((m) => m === 'bb:01').length, 1, 'a remembered false is not asked again');
});

test('a log line names the time (UTC), the machine and what happened, leaving out what the event lacks', () => {
  const m = { mac: '02:00:00:00:00:01', steps: [], active: [], errors: [], errorCount: 0, firstSeen: 0, lastSeen: 0, state: '' } as MachineProgress;
  const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  assert.equal(logLine(m, { kind: 'dhcp-discover', at, mac: m.mac }), '03:04:05 02:00:00:00:00:01 dhcp-discover');
  assert.equal(logLine(m, { kind: 'dhcp-ack', at: at + 300, mac: m.mac, ip: '192.0.2.10', detail: '' }), '03:04:05 02:00:00:00:00:01 dhcp-ack 192.0.2.10');
  // The next second, a named machine, and every field.
  const named = { ...m, name: 'cp1' };
  const line = logLine(named, { kind: 'http-asset-done', at: at + 1000, ip: '192.0.2.10', file: '/vmlinuz', bytes: 0, durationMs: 12, detail: 'kernel' });
  assert.equal(line, '03:04:06 02:00:00:00:00:01 cp1 http-asset-done 192.0.2.10 /vmlinuz 0B 12ms kernel');
  // An earlier second again (events are not always in time order).
  assert.equal(logLine(m, { kind: 'dhcp-nak', at: at - 5000, detail: 'address in use' }), '03:04:00 02:00:00:00:00:01 dhcp-nak address in use');
});

test('a log line written piece by piece into the batcher is the same text as logLine, also with multi-byte and overlong fields', (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const writes: string[] = [];
  const log = lineBatcher((text) => writes.push(text), 20, 64);
  const m = { mac: '02:00:00:00:00:01', name: 'nœud-1', steps: [], active: [], errors: [], errorCount: 0, firstSeen: 0, lastSeen: 0, state: '' } as MachineProgress;
  const at = Date.UTC(2026, 0, 2, 3, 4, 5);
  const events = [
    { kind: 'dhcp-offer' as const, at, mac: m.mac, ip: '192.0.2.10', detail: 'undionly.kpxe' },
    { kind: 'http-asset-done' as const, at: at + 1000, ip: '192.0.2.10', file: '/vmlinuz', bytes: 4096, durationMs: 3, detail: 'é'.repeat(100) },
    { kind: 'dhcp-ack' as const, at: at + 2000, mac: m.mac, ip: '192.0.2.10' },
  ];
  for (const e of events) writeLogLine(log, m, e);
  log.flush();
  assert.equal(writes.join(''), events.map((e) => logLine(m, e) + '\n').join(''));
  assert.ok(writes.length > 1, 'the overlong field went out on its own');
});
