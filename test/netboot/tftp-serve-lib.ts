/**
 * The native serving threads of TFTP transfer sockets (native/tftp_engine.h), driven through
 * openTransferSocket on loopback with lock-step clients written here; run with threads of their
 * own (tftp-serve.test.ts) and on the shared engines only (tftp-serve-shared.test.ts).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { ackPacket } from '../../src/netboot/tftp/packet.js';
import { openTransferSocket, type TransferSocket } from '../../src/netboot/tftp/socket.js';

const HOST = '127.0.0.1';
const BLKSIZE = 512;
/** Transfers at once: more than get a thread of their own (64), many per shared engine. */
export const TRANSFERS = 80;
const WAIT_MS = 20_000;

/** A client socket that collects what reaches it. */
async function client(): Promise<{ sock: dgram.Socket; port: number; next(): Promise<Buffer> }> {
  const sock = dgram.createSocket('udp4');
  const inbox: Buffer[] = [];
  let waiter: (() => void) | undefined;
  sock.on('message', (m) => {
    inbox.push(m);
    waiter?.();
  });
  await new Promise<void>((r) => sock.bind(0, HOST, r));
  const next = async (): Promise<Buffer> => {
    const deadline = Date.now() + WAIT_MS;
    while (inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no datagram within the wait');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        waiter = () => {
          clearTimeout(t);
          waiter = undefined;
          r();
        };
      });
    }
    return inbox.shift()!;
  };
  return { sock, port: (sock.address() as { port: number }).port, next };
}

const send = (s: dgram.Socket, pkt: Buffer, port: number) => new Promise<void>((r) => s.send(pkt, port, HOST, () => r()));

/** Serves TRANSFERS transfers at once and checks every block arrives once and in order. */
export async function serveManyAtOnce(t: TestContext): Promise<void> {
  const data = randomBytes(64 * 1024 + 100);
  const lastBlock = Math.floor(data.length / BLKSIZE) + 1;
  const clients = await Promise.all(Array.from({ length: TRANSFERS }, () => client()));
  const finals: number[] = [];
  const socks: TransferSocket[] = [];
  try {
    for (const c of clients) {
      const s = await openTransferSocket(HOST, { address: HOST, port: c.port }, { ack: (b) => finals.push(b), other: () => assert.fail('no other datagram'), dropped: () => assert.fail('nothing dropped') });
      socks.push(s);
    }
    if (!socks[0]!.serve) return t.skip('the native addon is not built');
    // All served before any client answers: every transfer is alive at once.
    for (const s of socks) s.serve!(data, BLKSIZE, 1, lastBlock, 1, Date.now());
    const received = await Promise.all(
      clients.map(async (c, i) => {
        const parts: Buffer[] = [];
        for (let b = 1; b <= lastBlock; b++) {
          const pkt = await c.next();
          assert.equal(pkt.readUInt16BE(0), 3, `transfer ${i}: DATA`);
          assert.equal(pkt.readUInt16BE(2), b, `transfer ${i}: block ${b} in order, none twice`);
          parts.push(pkt.subarray(4));
          await send(c.sock, ackPacket(b), socks[i]!.port);
        }
        return Buffer.concat(parts);
      }),
    );
    received.forEach((r, i) => assert.ok(r.equals(data), `transfer ${i}: the file byte for byte`));
    const deadline = Date.now() + WAIT_MS;
    while (finals.length < TRANSFERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(finals, Array(TRANSFERS).fill(lastBlock), 'the ACK of the last block of each reaches JS, once');
  } finally {
    for (const s of socks) s.close();
    for (const c of clients) c.sock.close();
  }
}

/**
 * A stranger floods a served transfer's port. `counted`: each datagram reaches JS or is counted as
 * dropped (a transfer on the shared engines); else the kernel turns them all away (a transfer with
 * a thread of its own, its socket connected). Either way the transfer goes on.
 */
export async function strangerFlood(t: TestContext, counted: boolean): Promise<void> {
  const data = randomBytes(8 * BLKSIZE + 1);
  const lastBlock = Math.floor(data.length / BLKSIZE) + 1;
  const c = await client();
  const stranger = await client();
  let others = 0;
  let foreign = 0;
  let fromPeer = 0;
  let final = -1;
  const s = await openTransferSocket(HOST, { address: HOST, port: c.port }, {
    ack: (b) => (final = b),
    other: (_m, _a, p) => {
      assert.equal(p, stranger.port);
      others++;
    },
    dropped: (f, p) => {
      foreign += f;
      fromPeer += p;
    },
  });
  try {
    if (!s.serve) return t.skip('the native addon is not built');
    s.serve(data, BLKSIZE, 1, lastBlock, 1, Date.now());
    const first = await c.next();
    assert.equal(first.readUInt16BE(2), 1, 'block 1 first');
    // In batches the socket's receive buffer holds, each accounted for before the next.
    const FLOOD = 400;
    const BATCH = 40;
    const deadline = Date.now() + WAIT_MS;
    for (let sent = BATCH; sent <= FLOOD; sent += BATCH) {
      await Promise.all(Array.from({ length: BATCH }, () => send(stranger.sock, Buffer.from([0, 4, 0, 0]), s.port)));
      // The event loop held for a while after the first batch: the serving thread reads the
      // batch meanwhile and must let go of what does not fit its queue for JS.
      if (sent === BATCH) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      if (!counted) continue;
      while (others + foreign < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(others + foreign, sent, `handed over ${others}, counted ${foreign}`);
    }
    if (counted) assert.ok(foreign > 0, 'a batch larger than the queue for JS, read while JS was busy, is partly counted as dropped');
    else {
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(others + foreign, 0, 'the connected socket never sees a stranger');
    }
    assert.equal(fromPeer, 0);
    await send(c.sock, ackPacket(1), s.port);
    for (let b = 2; b <= lastBlock; b++) {
      const pkt = await c.next();
      assert.equal(pkt.readUInt16BE(2), b);
      await send(c.sock, ackPacket(b), s.port);
    }
    while (final < 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(final, lastBlock);
  } finally {
    s.close();
    c.sock.close();
    stranger.sock.close();
  }
}
