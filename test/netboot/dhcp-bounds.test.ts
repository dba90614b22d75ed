/**
 * Per-client memory in the DHCP handlers stays bounded, and replies go only to the served subnet
 * (issue 11, "Under hostile or broken clients"). In process, no sockets: crafted requests with
 * explicit clocks; assertions on sizes, drop reasons and reply addresses.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentMap } from '../../src/common/recent-map.js';
import { ChainMemory } from '../../src/netboot/dhcp/handler.js';
import { FullHandler, type FullConfig } from '../../src/netboot/dhcp/full/handler.js';
import { ProxyHandler, type ProxyConfig } from '../../src/netboot/dhcp/proxy/handler.js';
import { MemoryLeaseStore } from '../../src/netboot/dhcp/leases/store.js';
import { ipToNum, numToIp } from '../../src/netboot/dhcp/options.js';
import { clientPacket, dhcpRequest as req, pxeOptions, replyPacket as reply } from './dhcp-lab.js';

const SERVER = '192.0.2.1';
const boot = { httpBase: `http://${SERVER}:8080`, tftpServer: SERVER, chainload: false };
const mac = (i: number) => `52:54:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

function proxy(extra: Partial<ProxyConfig> = {}): ProxyHandler {
  return new ProxyHandler({ serverIp: ipToNum(SERVER), netmask: ipToNum('255.255.255.0'), boot, tftpServer: ipToNum(SERVER), ...extra }, { emit: () => undefined });
}

function full(extra: Partial<FullConfig> = {}): FullHandler {
  return new FullHandler(
    { serverIp: ipToNum(SERVER), netmask: ipToNum('255.255.255.0'), range: { first: ipToNum('192.0.2.100'), last: ipToNum('192.0.2.199') }, dns: [], leaseTimeSec: 600, reservations: new Map(), boot, tftpServer: ipToNum(SERVER), ...extra },
    new MemoryLeaseStore(),
    { emit: () => undefined },
  );
}

describe('RecentMap', () => {
  test('set returns the value it replaced; touch makes an entry the newest without writing it', () => {
    const evicted: string[] = [];
    const m = new RecentMap<string, number>(3, (k) => evicted.push(k));
    assert.equal(m.set('a', 1), undefined);
    m.set('b', 2);
    m.set('c', 3);
    assert.equal(m.set('a', 10), 1);
    assert.equal(m.touch('b'), 2);
    assert.equal(m.touch('zz'), undefined);
    assert.equal(m.size, 3, 'touching an absent key adds nothing');
    m.set('d', 4); // past the cap: the oldest is c (a and b were written or touched since)
    assert.deepEqual(evicted, ['c']);
    assert.deepEqual([...m.entries()], [['a', 10], ['b', 2], ['d', 4]]);
  });

  test('keeps at most cap entries, dropping the least recently written', () => {
    const evicted: string[] = [];
    const m = new RecentMap<string, number>(3, (k) => evicted.push(k));
    for (const k of ['a', 'b', 'c']) m.set(k, 1);
    m.set('a', 2); // a is now the newest
    m.set('d', 1);
    assert.equal(m.size, 3);
    assert.deepEqual(evicted, ['b']);
    assert.equal(m.get('a'), 2);
    assert.equal(m.has('b'), false);
  });

  test('pruneOldest stops at the first fresh entry', () => {
    const m = new RecentMap<string, number>(10);
    m.set('old1', 1);
    m.set('old2', 2);
    m.set('fresh', 50);
    m.set('old3', 3); // stale, but behind a fresh one: left for a later prune
    assert.equal(m.pruneOldest((v) => v < 10), 2);
    assert.deepEqual([...m.entries()].map(([k]) => k), ['fresh', 'old3']);
  });

  test('rejects a cap that is not a positive integer', () => {
    assert.throws(() => new RecentMap(0), RangeError);
  });

  test('keeps its order through rewrites, deletes and walks: oldest first, a rewritten key newest', () => {
    const m = new RecentMap<string, number>(100);
    for (const k of ['a', 'b', 'c', 'd']) m.set(k, 0);
    m.set('b', 1);
    m.set('d', 2); // already the newest: stays there
    assert.deepEqual([...m.entries()], [['a', 0], ['c', 0], ['b', 1], ['d', 2]]);
    assert.equal(m.delete('c'), true);
    assert.equal(m.delete('c'), false);
    assert.deepEqual([...m.values()], [0, 1, 2]);
    m.set('c', 3);
    assert.deepEqual([...m.entries()].map(([k]) => k), ['a', 'b', 'd', 'c']);
    // Deleting the entry just visited does not end the walk.
    const seen: string[] = [];
    for (const [k] of m.entries()) {
      seen.push(k);
      m.delete(k);
    }
    assert.deepEqual(seen, ['a', 'b', 'd', 'c']);
    assert.equal(m.size, 0);
    assert.deepEqual([...m.entries()], []);
    m.set('z', 9);
    assert.deepEqual([...m.entries()], [['z', 9]], 'usable again once emptied');
  });

  test('deleteOldest removes the oldest entry that matches, without telling onEvict', () => {
    const evicted: string[] = [];
    const m = new RecentMap<string, { named: boolean }>(100, (k) => evicted.push(k));
    m.set('spec1', { named: true });
    m.set('x1', { named: false });
    m.set('spec2', { named: true });
    m.set('x2', { named: false });
    m.set('x1', { named: false }); // x1 seen again: x2 is now the oldest unnamed
    assert.equal(m.deleteOldest((v) => !v.named), 'x2');
    assert.equal(m.deleteOldest((v) => !v.named), 'x1');
    assert.equal(m.deleteOldest((v) => !v.named), undefined);
    assert.deepEqual([...m.entries()].map(([k]) => k), ['spec1', 'spec2']);
    assert.deepEqual(evicted, []);
    m.pruneOldest(() => true, 1);
    assert.deepEqual(evicted, ['spec1'], 'pruneOldest does tell onEvict');
  });
});

describe('proxy mode: only the served subnet is answered', () => {
  test('a port-4011 REQUEST with an off-subnet ciaddr gets no reply and is not remembered', () => {
    const h = proxy();
    const p = clientPacket({ type: 'REQUEST', mac: mac(1), ciaddr: ipToNum('198.51.100.7'), flags: 0, options: pxeOptions(0) });
    assert.deepEqual(h.handle(req(p, { localPort: 4011, srcIp: '198.51.100.7', dstIp: SERVER })), { drop: 'off-subnet' });
    assert.equal(h.macForIp('198.51.100.7'), undefined);
    assert.equal(h.memory().addresses, 0);
  });

  test('a port-4011 REQUEST without ciaddr from an off-subnet source gets no reply; from the subnet it does', () => {
    const h = proxy();
    const p = clientPacket({ type: 'REQUEST', mac: mac(2), flags: 0, options: pxeOptions(0) });
    assert.deepEqual(h.handle(req(p, { localPort: 4011, srcIp: '198.51.100.9', dstIp: SERVER })), { drop: 'off-subnet' });
    const o = h.handle(req(p, { localPort: 4011, srcIp: '192.0.2.77', dstIp: SERVER }));
    assert.equal(o.reply?.ip, '192.0.2.77');
  });

  test('the network and broadcast addresses count as off the subnet', () => {
    const h = proxy();
    for (const ip of ['192.0.2.0', '192.0.2.255']) {
      const p = clientPacket({ type: 'INFORM', mac: mac(3), ciaddr: ipToNum(ip), flags: 0, options: pxeOptions(0) });
      assert.deepEqual(h.handle(req(p, { localPort: 4011, srcIp: ip, dstIp: SERVER })), { drop: 'off-subnet' }, ip);
    }
  });

  test('an in-subnet ciaddr is answered unicast and mapped to its MAC', () => {
    const h = proxy();
    const p = clientPacket({ type: 'REQUEST', mac: mac(4), ciaddr: ipToNum('192.0.2.60'), flags: 0, options: pxeOptions(0) });
    const o = h.handle(req(p, { localPort: 4011, srcIp: '192.0.2.60', dstIp: SERVER }));
    assert.equal(o.reply?.ip, '192.0.2.60');
    assert.equal(h.macForIp('192.0.2.60'), mac(4));
  });

  test('the address → MAC memory is capped; the least recently reported address goes', () => {
    const h = proxy({ netmask: ipToNum('255.255.0.0'), ipMemory: 100 });
    const ipOf = (i: number) => numToIp(ipToNum('192.0.0.10') + i);
    for (let i = 0; i < 1000; i++) {
      const p = clientPacket({ type: 'REQUEST', mac: mac(i), ciaddr: ipToNum(ipOf(i)), flags: 0, options: pxeOptions(0) });
      assert.ok(h.handle(req(p, { localPort: 4011, srcIp: ipOf(i), dstIp: SERVER })).reply, `reply ${i}`);
    }
    assert.equal(h.memory().addresses, 100);
    assert.equal(h.macForIp(ipOf(999)), mac(999));
    assert.equal(h.macForIp(ipOf(900)), mac(900));
    assert.equal(h.macForIp(ipOf(899)), undefined);
  });
});

describe('full mode: INFORM only from the served subnet', () => {
  test('an INFORM naming an off-subnet ciaddr is dropped; one from the subnet is answered there', async () => {
    const h = full();
    const off = clientPacket({ type: 'INFORM', mac: mac(10), ciaddr: ipToNum('198.51.100.20'), flags: 0 });
    assert.deepEqual(await h.handle(req(off, { srcIp: '198.51.100.20', dstIp: SERVER })), { drop: 'off-subnet' });
    const offSrc = clientPacket({ type: 'INFORM', mac: mac(10), flags: 0 });
    assert.deepEqual(await h.handle(req(offSrc, { srcIp: '198.51.100.21', dstIp: SERVER })), { drop: 'off-subnet' });
    const on = clientPacket({ type: 'INFORM', mac: mac(10), ciaddr: ipToNum('192.0.2.20'), flags: 0 });
    const o = await h.handle(req(on, { srcIp: '192.0.2.20', dstIp: SERVER }));
    assert.equal(o.reply?.ip, '192.0.2.20');
    assert.equal(reply(o).yiaddr, 0);
  });
});

describe('full mode: an ACK never goes to an off-subnet ciaddr', () => {
  test('a SELECTING REQUEST carrying a foreign ciaddr is acknowledged by broadcast', async () => {
    const h = full();
    const offer = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(20) }))));
    const p = clientPacket({ type: 'REQUEST', mac: mac(20), requestedIp: numToIp(offer.yiaddr), serverId: SERVER, ciaddr: ipToNum('198.51.100.30') });
    const o = await h.handle(req(p));
    assert.equal(reply(o).yiaddr, offer.yiaddr);
    assert.equal(o.reply?.ip, '255.255.255.255');
  });
});

describe('full mode: pending offers and declined addresses are bounded', () => {
  test('expired offers are dropped as new ones are made, so a MAC storm keeps the offers at the pool size', async () => {
    const h = full({ offerHoldMs: 1000 });
    let now = 1_000_000;
    for (let i = 0; i < 5000; i++) {
      now += 50; // 20 unexpired offers at any time
      const o = await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(i) }), { now }));
      assert.ok(o.reply, `offer ${i}: ${o.drop}`);
    }
    assert.ok(h.memory().offers <= 21, `offers held: ${h.memory().offers}`);
  });

  test('past the offer cap the oldest offer goes and its address is offered again', async () => {
    const h = full({ offerMemory: 10, range: { first: ipToNum('192.0.2.100'), last: ipToNum('192.0.2.119') } });
    const now = 1_000_000;
    const first = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(0) }), { now })));
    for (let i = 1; i < 20; i++) assert.ok((await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(i) }), { now }))).reply, `offer ${i}`);
    assert.equal(h.memory().offers, 10);
    // All 20 offers are unexpired, but only the newest 10 are held: the first address is free again.
    const next = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(20) }), { now })));
    assert.equal(next.yiaddr, first.yiaddr);
  });

  test('declined addresses rest for declineHoldMs and are forgotten after, as new declines come', async () => {
    const h = full({ declineHoldMs: 1000, range: { first: ipToNum('192.0.2.100'), last: ipToNum('192.0.2.199') } });
    let now = 1_000_000;
    for (let i = 0; i < 300; i++) {
      now += 100; // each decline rests 1 s: about 10 at a time
      const m = mac(i);
      const offer = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: m }), { now })));
      const ip = numToIp(offer.yiaddr);
      assert.ok((await h.handle(req(clientPacket({ type: 'REQUEST', mac: m, requestedIp: ip, serverId: SERVER }), { now }))).reply, `ack ${i}`);
      assert.deepEqual(await h.handle(req(clientPacket({ type: 'DECLINE', mac: m, requestedIp: ip, serverId: SERVER }), { now })), {});
    }
    assert.ok(h.memory().declined <= 11, `declined held: ${h.memory().declined}`);
    assert.equal(h.memory().leases, 0);
  });
});

describe('chain memory (chainload: true)', () => {
  test('bounded by its cap, the oldest MAC going first', () => {
    const c = new ChainMemory(120_000, 1000);
    for (let i = 0; i < 20_000; i++) c.mark(mac(i), 1, 5_000);
    assert.equal(c.size, 1000);
    assert.equal(c.recent(mac(19_999), 2, 5_001), true);
    assert.equal(c.recent(mac(0), 2, 5_001), false);
  });

  test('entries past the window are dropped as new marks come', () => {
    const c = new ChainMemory(1000, 1_000_000);
    for (let i = 0; i < 10_000; i++) c.mark(mac(i), 1, i * 10); // 100 marks per window
    assert.ok(c.size <= 101, `chain memory: ${c.size}`);
  });

  test('a UEFI iPXE that was chainloaded gets the script in its next session, with 30,000 other MACs chaining around it', () => {
    const h = proxy({ boot: { ...boot, chainload: true }, chainMemory: 16_384 });
    const efi = pxeOptions(7, { ipxe: true }); // the marker does not survive the chain on UEFI
    const discover = (m: string, xid: number, now: number) => reply(h.handle(req(clientPacket({ type: 'DISCOVER', mac: m, xid, options: efi }), { now })));
    let now = 2_000_000;
    for (let i = 10; i < 20_010; i++) assert.equal(discover(mac(i), 1, (now += 1)).file, 'snponly.efi');
    assert.equal(discover(mac(1), 1, (now += 1)).file, 'snponly.efi');
    for (let i = 20_010; i < 30_010; i++) discover(mac(i), 1, (now += 1));
    assert.equal(h.memory().chained, 16_384);
    assert.equal(discover(mac(1), 2, (now += 1)).file, `${boot.httpBase}/boot.ipxe`, 'the chained iPXE gets the script');
    // The earliest MACs were pushed out by the cap: their next session is taken for a ROM again.
    assert.equal(discover(mac(10), 2, (now += 1)).file, 'snponly.efi');
  });
});

describe('server: requests waiting on the lease store are bounded', () => {
  test('past maxInflight, datagrams are dropped as overloaded until the waiting ones finish', async () => {
    const { Server } = await import('../../src/netboot/dhcp/server.js');
    const { createMetrics } = await import('../../src/netboot/metrics.js');
    const metrics = createMetrics();
    let deliver: ((d: import('../../src/netboot/dhcp/transport.js').Datagram) => void) | undefined;
    const sent: string[] = [];
    const listener = { port: 67, start: (f: typeof deliver) => (deliver = f), send: (_b: Buffer, ip: string) => (sent.push(ip), true), close: async () => undefined };
    const waiting: (() => void)[] = [];
    let handled = 0;
    const handler = {
      handle: () => {
        handled++;
        return new Promise<{ drop: string }>((resolve) => waiting.push(() => resolve({ drop: 'test-done' })));
      },
    };
    const server = new Server([listener], handler, metrics, () => undefined, { maxInflight: 3 });
    server.start();
    const datagram = (i: number) => ({ data: clientPacket({ type: 'REQUEST', mac: mac(i), requestedIp: '192.0.2.100', serverId: SERVER }), srcIp: '0.0.0.0', srcPort: 68, dstIp: '255.255.255.255', localPort: 67 });
    for (let i = 0; i < 5; i++) deliver!(datagram(i));
    assert.equal(handled, 3);
    const dropped = async (reason: string) => (await metrics.dhcpDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
    assert.equal(await dropped('overloaded'), 2);
    for (const w of waiting.splice(0)) w();
    await new Promise((r) => setImmediate(r));
    deliver!(datagram(9));
    assert.equal(handled, 4, 'served again once the waiting requests finished');
    for (const w of waiting.splice(0)) w();
    await server.close();
  });
});
