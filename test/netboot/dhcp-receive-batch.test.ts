/**
 * The native DHCP socket hands datagrams to JS in batches: their bytes one after the other in one
 * Buffer, and per datagram its offset, length, addresses, port and age in a reused number array
 * (native/udp_socket.cc). Here many datagrams of different sizes wait in the socket's queue before
 * it starts, so they arrive in a few batches, and each must come out whole, in order, with its
 * own source port. On loopback only (127.0.0.1), with the socket bound to `lo`; needs root.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { AddressText, NativeListener, type Datagram } from '../../src/netboot/dhcp/transport.js';

test('AddressText turns a 32-bit address into dotted-quad text and follows each change', () => {
  const t = new AddressText();
  assert.equal(t.of(0xc0000201), '192.0.2.1');
  assert.equal(t.of(0xc0000201), '192.0.2.1');
  assert.equal(t.of(0xffffffff), '255.255.255.255');
  assert.equal(t.of(0), '0.0.0.0');
  assert.equal(t.of(0xc6336407), '198.51.100.7');
});

test('a queue of 150 datagrams comes out whole and in order, each with its own source', { skip: process.getuid?.() !== 0 && 'needs root (SO_BINDTODEVICE)' }, async () => {
  const listener = new NativeListener('lo', 0, '127.0.0.1');
  const senders = [createSocket('udp4'), createSocket('udp4')];
  try {
    await Promise.all(senders.map((s) => new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))));
    const total = 150;
    const payload = (i: number) => Buffer.alloc(1 + ((i * 37) % 600), i & 255); // 1..600 bytes, filled with i
    for (let i = 0; i < total; i++) {
      await new Promise<void>((resolve, reject) => senders[i % 2]!.send(payload(i), listener.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    }
    const got: Datagram[] = [];
    const all = new Promise<void>((resolve) =>
      listener.start((d) => {
        got.push({ ...d, data: Buffer.from(d.data) });
        if (got.length === total) resolve();
      }),
    );
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`only ${got.length} of ${total} datagrams arrived`)), 5000).unref());
    await Promise.race([all, timeout]);
    for (let i = 0; i < total; i++) {
      const d = got[i]!;
      assert.deepEqual(d.data, payload(i), `datagram ${i}`);
      assert.equal(d.srcIp, '127.0.0.1');
      assert.equal(d.srcPort, senders[i % 2]!.address().port, `datagram ${i}'s source port`);
      assert.equal(d.dstIp, '127.0.0.1');
      assert.equal(d.localPort, listener.port);
      assert.ok(d.queuedMs === undefined || d.queuedMs >= 0);
    }
  } finally {
    for (const s of senders) s.close();
    await listener.close();
  }
});
