/**
 * Replies released together leave in one flush of the listener (sendmmsg in the native socket):
 * the server queues them and flushes at the end of the microtask queue, counts each reply as sent
 * or as send-failed by its own result, and when the listener's queue is full flushes what waits
 * before queueing more; a burst of replies (the ACKs of one commit) leaves as the pacer allows
 * (pacer.ts: a token bucket following demand), in shares of 16 per flush, so the one relay they
 * all go to is not flooded (past 4,096 waiting, all at once). In process, with a fake listener
 * that records its calls.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../../src/netboot/metrics.js';
import { Server } from '../../src/netboot/dhcp/server.js';
import type { DhcpRequest, Outcome } from '../../src/netboot/dhcp/handler.js';
import type { Datagram, Listener } from '../../src/netboot/dhcp/transport.js';
import { decode, isDecodeError } from '../../src/netboot/dhcp/packet.js';
import { MessageType, Opt } from '../../src/netboot/dhcp/options.js';
import { clientPacket, metricSum } from './dhcp-lab.js';

/** A listener with a send queue of `capacity` datagrams; `fail` says which xids the "kernel" refuses. */
function batchingListener(capacity: number, fail: (xid: number) => boolean) {
  let deliver: ((d: Datagram) => void) | undefined;
  const queue: number[] = [];
  const flushes: number[][] = [];
  let direct = 0;
  const xidOf = (data: Buffer) => {
    const p = decode(data);
    assert.ok(!isDecodeError(p));
    return p.xid;
  };
  const listener: Listener = {
    port: 67,
    start: (cb) => (deliver = cb),
    send: () => (direct++, true),
    queue: (data) => {
      if (queue.length >= capacity) return false;
      queue.push(xidOf(data)); // the bytes are read now: the server reuses its encode buffer
      return true;
    },
    flush: (result) => {
      flushes.push([...queue]);
      for (const xid of queue.splice(0)) result(!fail(xid));
    },
    close: async () => undefined,
  };
  return { listener, flushes, deliver: (d: Datagram) => deliver!(d), direct: () => direct };
}

function offer(r: DhcpRequest): Outcome {
  return {
    reply: {
      packet: { op: 2, xid: r.packet.xid, chaddr: r.packet.chaddr, options: [[Opt.MESSAGE_TYPE, Buffer.from([MessageType.OFFER])]] },
      type: 'OFFER',
      ip: '255.255.255.255',
      port: 68,
      maxSize: 576,
    },
  };
}

const from = { srcIp: '0.0.0.0', srcPort: 68, dstIp: '255.255.255.255', localPort: 67 };
const discover = (i: number) => clientPacket({ type: 'DISCOVER', mac: `52:54:00:ee:00:${i.toString(16).padStart(2, '0')}`, xid: 100 + i });

test('replies of one tick leave in one flush, each counted by its own result', async () => {
  const metrics = createMetrics();
  const l = batchingListener(64, (xid) => xid === 102);
  const server = new Server([l.listener], { handle: offer }, metrics);
  server.start();
  for (let i = 0; i < 4; i++) l.deliver({ data: discover(i), ...from });
  assert.equal(l.flushes.length, 0, 'nothing is sent before the tick ends');
  await Promise.resolve();
  assert.deepEqual(l.flushes, [[100, 101, 102, 103]]);
  assert.equal(l.direct(), 0);
  // Replies resolved together later (a journal commit) make one more flush.
  const commit = Promise.resolve();
  const server2Handler = { handle: (r: DhcpRequest) => commit.then(() => offer(r)) };
  const l2 = batchingListener(64, () => false);
  const server2 = new Server([l2.listener], server2Handler, createMetrics());
  server2.start();
  for (let i = 0; i < 3; i++) l2.deliver({ data: discover(10 + i), ...from });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(l2.flushes, [[110, 111, 112]]);
  await server.close();
  await server2.close();
  const m = await metrics.registry.metrics();
  assert.equal(metricSum(m, 'hearth_dhcp_packets_sent_total', 'type="offer"'), 3);
  assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="send-failed"'), 1);
});

test('a full send queue is flushed before more replies are queued', async () => {
  const metrics = createMetrics();
  const l = batchingListener(2, () => false);
  const server = new Server([l.listener], { handle: offer }, metrics);
  server.start();
  for (let i = 0; i < 5; i++) l.deliver({ data: discover(i), ...from });
  await Promise.resolve();
  assert.deepEqual(l.flushes, [[100, 101], [102, 103], [104]]);
  await server.close();
  const m = await metrics.registry.metrics();
  assert.equal(metricSum(m, 'hearth_dhcp_packets_sent_total', 'type="offer"'), 5);
});

test('a burst of replies leaves paced: what the pacer allows now in shares of 16, the rest at later ticks, in order and all counted', async () => {
  const metrics = createMetrics();
  const l = batchingListener(64, () => false);
  const commit = Promise.resolve();
  const ticks: (() => void)[] = [];
  let clock = 0;
  const server = new Server([l.listener], { handle: (r: DhcpRequest) => commit.then(() => offer(r)) }, metrics, undefined, {
    tick: (fn) => ticks.push(fn),
    paceNow: () => clock,
  });
  server.start();
  for (let i = 0; i < 100; i++) l.deliver({ data: discover(i), ...from });
  await new Promise((r) => setTimeout(r, 0)); // the commit resolves; what the bucket holds (1 ms of 16) goes at once
  assert.deepEqual(l.flushes.map((f) => f.length), [16], 'the bucket, one share');
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.equal(l.flushes.flat().length, 16, 'turns of the loop send nothing more while the clock stands');
  assert.equal(ticks.length, 1, 'one tick asked for');
  ticks.shift()!();
  await Promise.resolve();
  assert.equal(l.flushes.flat().length, 16, 'a tick without time passing sends nothing');
  clock = 1; // 16 per ms at least
  ticks.shift()!();
  await Promise.resolve();
  assert.equal(l.flushes.flat().length, 32, 'one ms: 16 more');
  clock = 100; // a long pause: still one bucket (16), not the 99 ms it missed
  ticks.shift()!();
  await Promise.resolve();
  assert.equal(l.flushes.flat().length, 48, 'at most one bucket after a pause');
  for (let i = 0; i < 10 && ticks.length > 0; i++) {
    clock += 1;
    ticks.shift()!();
    await Promise.resolve();
  }
  assert.equal(ticks.length, 0, 'nothing left to schedule');
  assert.deepEqual(l.flushes.flat(), Array.from({ length: 100 }, (_, i) => 100 + i), 'in order');
  // close() sends what still waits at once.
  for (let i = 0; i < 100; i++) l.deliver({ data: discover(i), ...from });
  await commit;
  await server.close();
  assert.equal(l.flushes.flat().length, 200);
  const m = await metrics.registry.metrics();
  assert.equal(metricSum(m, 'hearth_dhcp_packets_sent_total', 'type="offer"'), 200);
});

test('past 4,096 replies waiting all of them leave on the next try, a share per flush', async () => {
  const l = batchingListener(64, () => false);
  const commit = Promise.resolve();
  const ticks: (() => void)[] = [];
  const server = new Server([l.listener], { handle: (r: DhcpRequest) => commit.then(() => offer(r)) }, createMetrics(), undefined, {
    tick: (fn) => ticks.push(fn),
    paceNow: () => 0,
    maxInflight: 10_000,
  });
  server.start();
  for (let i = 0; i < 16 + 4097; i++) l.deliver({ data: discover(i % 250), ...from });
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(l.flushes.flat().length, 16 + 4097, 'the bucket (16: 1 ms of 16), then the whole backlog once past 4,096');
  assert.ok(l.flushes.every((f) => f.length <= 16), 'every flush is one share at most');
  assert.deepEqual(l.flushes.flat(), Array.from({ length: 16 + 4097 }, (_, i) => 100 + (i % 250)), 'in order');
  await server.close();
});
