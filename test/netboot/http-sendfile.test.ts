/**
 * File bodies sent by sendfile(2) (the native addon) and by copying, over raw loopback sockets:
 * pipelined keep-alive requests get whole, byte-identical bodies in order (the headers of each
 * response before its body, nothing of one body in another); a client that reads slowly but keeps
 * reading is not cut by the send timeout even when the download lasts longer than it; a file
 * replaced on disk is served in its new version once the file cache has checked it again; the
 * shared descriptors are closed with the server. A body an engine thread sends keeps the socket
 * corked until its end (full packets), and the engine uncorks it as it finishes.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHttp, type HttpServer } from '../../src/netboot/http/index.js';
import { sendfileAddon, socketFd } from '../../src/netboot/http/sendfile.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { within } from '../helpers/within.js';
import { SPEC_YAML, fdsOn, loopbackHttp, makeTree, specFrom, type Tree } from './lib.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bound on one exchange: a 24 MiB body read slowly takes seconds here; a stalled one fails naming it. */
const EXCHANGE_MS = 120_000;

/** The first request line of `requests`, to name a stalled exchange. */
const firstLine = (requests: string) => requests.slice(0, requests.indexOf('\r\n'));

/** Splits raw bytes received on one connection into responses (Content-Length framed). */
function responses(raw: Buffer): { head: string; body: Buffer }[] {
  const out: { head: string; body: Buffer }[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = raw.subarray(at, end).toString('latin1');
    const len = Number(/^content-length: (\d+)$/im.exec(head)?.[1] ?? 0);
    out.push({ head, body: raw.subarray(end + 4, end + 4 + len) });
    at = end + 4 + len;
  }
  return out;
}

/** Sends `requests` on one connection and collects everything until the server closes it or `want` bytes came (bounded). */
async function exchange(port: number, requests: string, want: number, readSlowly?: { everyBytes: number; pauseMs: number }): Promise<Buffer> {
  const sock = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  let got = 0;
  let sincePause = 0;
  const closed = new Promise<void>((resolve, reject) => {
    sock.once('connect', () => sock.write(requests));
    sock.on('error', reject);
    sock.on('close', () => resolve());
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= want) return void sock.end();
      sincePause += d.length;
      if (readSlowly && sincePause >= readSlowly.everyBytes) {
        sincePause = 0;
        sock.pause();
        setTimeout(() => sock.resume(), readSlowly.pauseMs);
      }
    });
  });
  await within(EXCHANGE_MS, `the server to close the connection of ${firstLine(requests)} (${got} bytes so far)`, closed).finally(() => sock.destroy());
  return Buffer.concat(chunks);
}

/** Sends `requests` on one connection and collects until `count` whole responses came; then closes it (bounded). */
async function exchangeUntil(port: number, requests: string, count: number): Promise<Buffer> {
  const sock = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  const got = new Promise<Buffer>((resolve, reject) => {
    const done = () => {
      sock.destroy();
      resolve(Buffer.concat(chunks));
    };
    sock.once('connect', () => sock.write(requests));
    sock.on('error', reject);
    sock.on('close', done);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      const rs = responses(Buffer.concat(chunks));
      const last = rs[count - 1];
      if (last && last.body.length === Number(/^content-length: (\d+)$/im.exec(last.head)?.[1])) done();
    });
  });
  return within(EXCHANGE_MS, `${count} whole responses to ${firstLine(requests)}`, got).finally(() => sock.destroy());
}

for (const zeroCopy of [true, false]) {
  const how = zeroCopy ? 'sendfile' : 'copied';
  describe(`http file bodies (${how})`, { skip: zeroCopy && !sendfileAddon() && 'the native addon is not built' }, () => {
    let tree: Tree;
    let srv: HttpServer;
    const big = 24 * 1024 * 1024 + 4321;
    before(async () => {
      tree = makeTree({ big: big });
      srv = await startHttp(loopbackHttp(tree, specFrom(SPEC_YAML()), { metrics: createMetrics(), zeroCopy, limits: { sendTimeoutMs: 1000 } }));
    });
    after(async () => {
      await within(30_000, 'the server to close', srv.close());
      tree.cleanup();
    });

    it('pipelined requests on one connection get whole bodies, in order', async () => {
      const req = (p: string, extra = '') => `GET ${p} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;
      const raw = await exchange(srv.port, req('/assets/big') + req('/assets/vmlinuz', 'Range: bytes=1000-1999\r\n') + req('/healthz') + req('/assets/big', 'Connection: close\r\n'), Infinity);
      const rs = responses(raw);
      assert.deepEqual(
        rs.map((r) => r.head.split('\r\n')[0]),
        ['HTTP/1.1 200 OK', 'HTTP/1.1 206 Partial Content', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK'],
      );
      assert.ok(rs[0]!.body.equals(tree.files.big!), 'first body');
      assert.ok(rs[1]!.body.equals(tree.files.vmlinuz!.subarray(1000, 2000)), 'the range');
      assert.equal(rs[2]!.body.toString(), 'ok\n');
      assert.ok(rs[3]!.body.equals(tree.files.big!), 'last body');
    });

    it('a client reading slowly but steadily is not cut by the send timeout, however long it takes', async () => {
      // Pauses of 100 ms (a tenth of the 1 s send timeout) every 512 KiB: 24 MiB is far more than
      // the loopback socket buffers hold, and the download needs many more pauses than fit in one
      // send timeout, so it only completes if every bit of progress pushes the timeout back.
      const raw = await exchange(srv.port, 'GET /assets/big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', Infinity, { everyBytes: 512 * 1024, pauseMs: 100 });
      const [r] = responses(raw);
      assert.ok(r, 'a response');
      assert.equal(r.body.length, tree.files.big!.length);
      assert.ok(r.body.equals(tree.files.big!));
      assert.equal(srv.stats().heldFiles, 0);
    });

    it('a file replaced on disk is served in its new version once the cache checks it again', async () => {
      const get = async () => responses(await exchange(srv.port, 'GET /assets/exact512 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', Infinity))[0]!;
      const first = await get();
      assert.ok(first.body.equals(tree.files.exact512!));
      const fresh = randomBytes(700);
      writeFileSync(path.join(tree.dir, 'next'), fresh);
      renameSync(path.join(tree.dir, 'next'), path.join(tree.assets, 'exact512'));
      let r = await get();
      // The file cache checks a name again at most once a second: bounded wait, not a timing assertion.
      for (let i = 0; i < 100 && r.body.length !== 700; i++) {
        await sleep(50);
        r = await get();
      }
      assert.ok(r.body.equals(fresh), 'the new content');
      assert.notEqual(/^etag: (.*)$/im.exec(r.head)?.[1], /^etag: (.*)$/im.exec(first.head)?.[1], 'a new ETag');
    });

    it('a connection that served several bodies leaves no descriptor behind once it closes', async () => {
      const sockets = () => readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
        } catch {
          return false;
        }
      }).length;
      const before = sockets();
      const req = 'GET /assets/vmlinuz HTTP/1.1\r\nHost: a\r\n\r\n';
      const want = 3 * (tree.files.vmlinuz!.length + 200);
      // Ten keep-alive connections, three bodies each; the client closes once it has them.
      const raws = await Promise.all(Array.from({ length: 10 }, () => exchangeUntil(srv.port, req.repeat(3), 3)));
      for (const raw of raws) assert.deepEqual(responses(raw).map((r) => r.body.equals(tree.files.vmlinuz!)), [true, true, true], `${raw.length} of ~${want} bytes`);
      for (let i = 0; i < 100 && sockets() > before; i++) await sleep(20);
      assert.equal(sockets(), before, 'every socket the connections used (and their duplicates) is closed');
    });

    it('closing the server closes the shared descriptors', async () => {
      await exchange(srv.port, 'GET /assets/vmlinuz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', Infinity);
      const file = path.join(tree.assets, 'vmlinuz');
      await within(30_000, 'the server to close', srv.close());
      for (let i = 0; i < 100 && fdsOn(file) > 0; i++) await sleep(20);
      assert.equal(fdsOn(file), 0);
      srv = await startHttp(loopbackHttp(tree, specFrom(SPEC_YAML()), { metrics: createMetrics(), zeroCopy }));
    });
  });
}

describe('a body sent by an engine thread', { skip: !sendfileAddon() && 'the native addon is not built' }, () => {
  it('keeps the socket corked while it sends and uncorks it as it ends', async () => {
    const mod = sendfileAddon()!;
    const tree = makeTree({ big: 24 * 1024 * 1024 + 4321 });
    const size = tree.files.big!.length;
    const file = openSync(path.join(tree.assets, 'big'), 'r');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    client.pause();
    const sock = await accepted;
    const sender = new mod.Sender(socketFd(sock));
    try {
      assert.equal(sender.cork(true), 0);
      const done = new Promise<[number, number]>((resolve) => assert.equal(sender.stream(file, 0, size, (sent, status) => resolve([sent, status])), 0));
      // The paused client takes far less than 24 MiB: the engine sends what the buffers hold, then waits.
      for (let i = 0; i < 200 && sender.sent() === 0; i++) await sleep(10);
      assert.ok(sender.sent() > 0 && sender.sent() < size, `part of the body sent (${sender.sent()} of ${size})`);
      assert.equal(sender.corked(), true, 'corked while the engine sends');
      let got = 0;
      client.on('data', (d: Buffer) => (got += d.length));
      client.resume();
      assert.deepEqual(await done, [size, 0]);
      assert.equal(sender.corked(), false, 'uncorked once the body is sent');
      for (let i = 0; i < 500 && got < size; i++) await sleep(10);
      assert.equal(got, size, 'every byte arrived');
    } finally {
      sender.close();
      client.destroy();
      sock.destroy();
      await new Promise((resolve) => server.close(resolve));
      closeSync(file);
      tree.cleanup();
    }
  });
});
