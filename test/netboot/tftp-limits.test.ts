/**
 * The TFTP server under clients that never acknowledge, on loopback (clients bound to several
 * 127.0.0.x addresses stand in for many hosts): the total cap holds under a burst of requests,
 * one address keeps to its share, a flood that fills the table does not lock a real client out,
 * a client asking `timeout=255` is dropped after `maxStallMs`, and a file too large for the cache
 * costs each transfer one bounded read-ahead, however large its window. Each limit that bites
 * is counted in hearth_tftp_limited_total{limit} and logged (rate-limited). Every wait is bounded.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BootEvent } from '../../src/netboot/events.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { startTftp, type TftpServer, type TftpServerOptions } from '../../src/netboot/tftp/index.js';
import { ackPacket, rrqPacket } from '../../src/netboot/tftp/packet.js';
import { READ_AHEAD } from '../../src/netboot/tftp/transfer.js';
import { run, which } from '../helpers/netns.js';
import { makeTree, parseProm, sum, type Tree } from './lib.js';

const HOST = '127.0.0.1';
const BIG = 8 * 1024 * 1024 + 5;

/** A UDP client on one loopback address that sends requests and keeps whatever comes back. */
class Peer {
  readonly sock = dgram.createSocket('udp4');
  readonly inbox: { msg: Buffer; port: number }[] = [];
  constructor(readonly address: string) {}
  async open(rcvbuf?: number): Promise<this> {
    await new Promise<void>((r) => this.sock.bind(0, this.address, r));
    if (rcvbuf) this.sock.setRecvBufferSize(rcvbuf);
    this.sock.on('message', (msg, r) => this.inbox.push({ msg, port: r.port }));
    return this;
  }
  send(buf: Buffer, port: number): void {
    this.sock.send(buf, port, HOST);
  }
  count(op: number): number {
    return this.inbox.filter((m) => m.msg.readUInt16BE(0) === op).length;
  }
  close(): void {
    this.sock.close();
  }
}

/** Waits (bounded) until `cond` holds. */
async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('tftp limits under silent clients', { timeout: 120_000 }, () => {
  let tree: Tree;
  let out: string;
  const open: { srv: TftpServer; peers: Peer[] }[] = [];

  before(() => {
    tree = makeTree({ 'big.bin': BIG });
    out = mkdtempSync(path.join(os.tmpdir(), 'hearth-tftp-limits-'));
  });
  after(async () => {
    for (const o of open) {
      o.peers.forEach((p) => p.close());
      await o.srv.close();
    }
    tree.cleanup();
  });

  /** A server on loopback with `opts`, its metrics, events and log lines. */
  async function server(opts: Partial<TftpServerOptions>) {
    const metrics = createMetrics();
    const events: BootEvent[] = [];
    const lines: string[] = [];
    const srv = await startTftp({ address: HOST, port: 0, root: tree.assets, metrics, events: { emit: (e) => events.push(e) }, log: (l) => lines.push(l), ...opts });
    const peers: Peer[] = [];
    open.push({ srv, peers });
    const peer = async (address: string, rcvbuf?: number) => {
      const p = await new Peer(address).open(rcvbuf);
      peers.push(p);
      return p;
    };
    const limited = async (limit: string) => sum(parseProm(await metrics.registry.metrics()), 'hearth_tftp_limited_total', `limit="${limit}"`);
    return { srv, metrics, events, lines, peer, limited };
  }

  const tftpGet = async (srv: TftpServer, file: string) => {
    const dest = path.join(out, `get-${Math.random().toString(36).slice(2)}`);
    const r = await run(['tftp', '-m', 'binary', HOST, String(srv.port), '-c', 'get', file, dest]);
    return { ...r, data: existsSync(dest) ? readFileSync(dest) : undefined };
  };

  it('never starts more transfers than the cap, however many requests arrive at once', async () => {
    const s = await server({ maxTransfers: 16, maxPerClient: 1000, evictIdleMs: Number.MAX_SAFE_INTEGER, timeoutMs: 60_000, maxStallMs: 60_000 });
    const peers = await Promise.all(Array.from({ length: 10 }, (_, i) => s.peer(`127.0.0.${i + 2}`)));
    for (let k = 0; k < 20; k++) for (const p of peers) p.send(rrqPacket('vmlinuz', 'octet'), s.srv.port);
    const replies = () => peers.reduce((n, p) => n + p.inbox.length, 0);
    await until(() => replies() >= 200, '200 replies (DATA or ERROR)');
    const started = s.events.filter((e) => e.kind === 'tftp-start').length;
    assert.equal(started, 16, 'transfers started');
    assert.equal(s.srv.active(), 16);
    assert.equal(peers.reduce((n, p) => n + p.count(3), 0), 16, 'first DATA blocks');
    assert.equal(peers.reduce((n, p) => n + p.count(5), 0), 184, 'busy errors');
    assert.equal(await s.limited('busy'), 184);
    assert.equal(s.lines.length, 1, `one rate-limited line: ${s.lines.join(' | ')}`);
    assert.match(s.lines[0]!, /^tftp limit busy: all 16 slots busy/);
  });

  it('holds one address to its share; other addresses are still served', { skip: !which('tftp') && 'tftp-hpa is not installed' }, async () => {
    const s = await server({ maxPerClient: 8, evictIdleMs: Number.MAX_SAFE_INTEGER, maxStallMs: 60_000 });
    const hog = await s.peer('127.0.0.2');
    for (let k = 0; k < 20; k++) hog.send(rrqPacket('vmlinuz', 'octet', { timeout: 255 }), s.srv.port);
    await until(() => hog.inbox.length >= 20, '20 replies');
    assert.equal(hog.count(6), 8, 'OACKs: transfers admitted');
    const errors = hog.inbox.filter((m) => m.msg.readUInt16BE(0) === 5);
    assert.equal(errors.length, 12);
    assert.match(errors[0]!.msg.subarray(4).toString('latin1'), /too many transfers from this address/);
    assert.equal(s.srv.active(), 8);
    assert.equal(await s.limited('client-limit'), 12);
    assert.match(s.lines.join('\n'), /tftp limit client-limit: 127\.0\.0\.2 already holds 8 transfers/);
    const r = await tftpGet(s.srv, 'initramfs.xz');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.data?.equals(tree.files['initramfs.xz']!), 'byte-identical');
  });

  it('a flood of silent timeout=255 requests filling the table does not lock out a real client', { skip: !which('tftp') && 'tftp-hpa is not installed' }, async () => {
    // evictIdleMs 0: every flooder is already "silent long enough" (the default, 2 s, would only make the test wait).
    const s = await server({ maxTransfers: 32, maxPerClient: 8, evictIdleMs: 0, maxStallMs: 60_000 });
    const flood = await Promise.all(Array.from({ length: 8 }, (_, i) => s.peer(`127.0.0.${i + 2}`)));
    // One host after another, each answered before the next (a request whose slot is taken over
    // while its name is still being resolved is dropped unanswered, which would blur the count).
    for (const p of flood) {
      for (let k = 0; k < 8; k++) p.send(rrqPacket('vmlinuz', 'octet', { timeout: 255, blksize: 1468 }), s.srv.port);
      await until(() => p.count(6) === 8, `8 OACKs at ${p.address}`);
    }
    assert.equal(s.srv.active(), 32, 'the table is full of silent transfers');
    assert.equal(await s.limited('evicted'), 32, 'the second half of the flood took over the first half');
    const r = await tftpGet(s.srv, 'initramfs.xz');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.data?.equals(tree.files['initramfs.xz']!), 'byte-identical');
    assert.equal(await s.limited('evicted'), 33);
    assert.equal(await s.limited('busy'), 0);
    // The client is done once it has sent its last ACK; the server's event follows when that ACK arrives.
    await until(() => s.events.some((e) => e.kind === 'tftp-done' && e.ip === HOST), 'the real client\'s tftp-done event');
    const done = s.events.filter((e) => e.kind === 'tftp-done' && e.ip === HOST);
    assert.equal(done.length, 1);
    assert.ok(s.events.some((e) => e.kind === 'tftp-error' && /its slot went to another client/.test(e.detail ?? '')));
    assert.match(s.lines.join('\n'), /^tftp limit evicted: gave the slot of 127\.0\.0\.2 \(silent \d+ ms\) to 127\.0\.0\.6$/);
    assert.equal(s.lines.length, 1, 'one line for 33 evictions (rate-limited)');
  });

  it('a client that keeps acknowledging keeps its slot while the transfer socket answers its ACKs', async () => {
    const evictIdleMs = 1000;
    const s = await server({ maxTransfers: 1, evictIdleMs, timeoutMs: 60_000, maxStallMs: 60_000 });
    const p = await s.peer('127.0.0.2');
    p.send(rrqPacket('vmlinuz', 'octet'), s.srv.port);
    await until(() => p.count(3) === 1, 'block 1');
    const tid = p.inbox[0]!.port;
    // Lock-step, one block at a time, until the transfer is older than evictIdleMs: only ACKs
    // (handled by the socket, not by JS) keep it from looking stale to the slot table.
    const t0 = Date.now();
    let block = 1;
    for (; Date.now() - t0 < evictIdleMs + 200; block++) {
      p.send(ackPacket(block), tid);
      await until(() => p.count(3) === block + 1, `block ${block + 1}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(block < 300_001 / 512, 'the file outlasts the loop');
    // Block `block` has just arrived, sent on the ACK of the one before: the client is alive.
    const q = await s.peer('127.0.0.3');
    q.send(rrqPacket('vmlinuz', 'octet'), s.srv.port);
    await until(() => q.inbox.length === 1, 'an answer to the newcomer');
    assert.equal(q.count(5), 1, 'the newcomer is told the server is busy');
    assert.equal(await s.limited('evicted'), 0);
    assert.equal(await s.limited('busy'), 1);
    p.send(ackPacket(block), tid);
    await until(() => p.count(3) === block + 1, 'the transfer goes on');
    p.send(Buffer.from([0, 5, 0, 0, 0]), tid);
    await until(() => s.srv.active() === 0, 'the transfer to end');
  });

  it('ends a transfer whose client asked timeout=255 and went silent after maxStallMs', async () => {
    const s = await server({ maxStallMs: 300 });
    const p = await s.peer('127.0.0.2');
    p.send(rrqPacket('vmlinuz', 'octet', { timeout: 255 }), s.srv.port);
    const q = await s.peer('127.0.0.3');
    q.send(rrqPacket('vmlinuz', 'octet', { timeout: 255, blksize: 1468 }), s.srv.port);
    // q acknowledges the OACK, then goes silent in the middle of the data.
    await until(() => q.inbox.length >= 1, 'an OACK for q');
    q.send(ackPacket(0), q.inbox[0]!.port);
    await until(() => s.events.filter((e) => e.kind === 'tftp-error').length >= 2, 'both transfers to end');
    for (const e of s.events.filter((e) => e.kind === 'tftp-error')) assert.match(e.detail ?? '', /^timeout: no acknowledgement for 300 ms$/);
    assert.ok(q.count(3) >= 1, 'q got data before going silent');
    assert.equal(s.srv.active(), 0);
    assert.equal(await s.limited('stalled'), 2);
    assert.equal(sum(parseProm(await s.metrics.registry.metrics()), 'hearth_tftp_transfers_total', 'result="timeout"'), 2);
  });

  it('holds at most one read-ahead per transfer of a file larger than the cache, whatever the window', async () => {
    const s = await server({ cacheBytes: 0, maxStallMs: 60_000, timeoutMs: 60_000 });
    const blksize = 32768;
    const window = 64; // 2 MiB in flight per transfer, eight times the read-ahead
    const peers = await Promise.all([2, 3, 4].map((i) => s.peer(`127.0.0.${i}`, 4 * 1024 * 1024)));
    for (const p of peers) p.send(rrqPacket('big.bin', 'octet', { blksize, windowsize: window }), s.srv.port);
    await until(() => peers.every((p) => p.count(6) === 1), 'three OACKs');
    for (const p of peers) p.send(ackPacket(0), p.inbox[0]!.port);
    await until(() => peers.every((p) => p.count(3) >= window), 'a whole window at each client');
    const held = (await s.metrics.tftpReadBuffer.get()).values[0]!.value;
    assert.ok(held > 0 && held <= 3 * READ_AHEAD, `read-ahead held by 3 silent transfers: ${held} bytes`);
    // What arrived is the file, block by block.
    const file = tree.files['big.bin']!;
    for (const p of peers) {
      const data = p.inbox.filter((m) => m.msg.readUInt16BE(0) === 3);
      for (const m of data) {
        const b = m.msg.readUInt16BE(2);
        assert.ok(m.msg.subarray(4).equals(file.subarray((b - 1) * blksize, b * blksize)), `block ${b}`);
      }
    }
    peers.forEach((p) => p.send(Buffer.from([0, 5, 0, 0, 0]), p.inbox[0]!.port));
    await until(() => s.srv.active() === 0, 'the transfers to end');
    assert.equal((await s.metrics.tftpReadBuffer.get()).values[0]!.value, 0, 'nothing held once they end');
  });

  it('refuses netascii for a file larger than both the cache and the read-ahead (it would be held whole)', async () => {
    const s = await server({ cacheBytes: 0 });
    const p = await s.peer('127.0.0.2');
    p.send(rrqPacket('big.bin', 'netascii'), s.srv.port);
    p.send(rrqPacket('text.txt', 'netascii'), s.srv.port);
    await until(() => p.inbox.length >= 2, 'two replies');
    const err = p.inbox.find((m) => m.msg.readUInt16BE(0) === 5);
    assert.match(err?.msg.subarray(4).toString('latin1') ?? '', /file too large for netascii; use octet mode/);
    const data = p.inbox.find((m) => m.msg.readUInt16BE(0) === 3);
    assert.equal(data?.msg.subarray(4).toString('latin1'), 'line one\r\nline two\r\0\r\nbare\r\0cr\r\n');
  });

  it('sends a file larger than the cache byte-identical with a window larger than the read-ahead', { skip: !which('atftp') && 'atftp is not installed' }, async () => {
    const s = await server({ cacheBytes: 0 });
    const dest = path.join(out, 'atftp-big');
    const r = await run(['atftp', '--option', 'blksize 8192', '--option', 'windowsize 64', '--get', '-r', 'big.bin', '-l', dest, HOST, String(s.srv.port)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(readFileSync(dest).equals(tree.files['big.bin']!), 'byte-identical');
  });
});
