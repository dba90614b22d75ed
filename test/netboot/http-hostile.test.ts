/**
 * The HTTP server against hostile or broken clients, with raw sockets on loopback and the limits
 * set small: connections over the per-address and total limits are refused (one log line, a
 * metric), a client that stops reading is cut by the send timeout and its file closed, a download
 * under way reports its bytes before it ends, an aborted download leaves progress, a request
 * trickled byte by byte gets 408, malformed requests get 400 or 431, and nothing stays in the
 * server's tables afterwards.
 */
import assert from 'node:assert/strict';
import { truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HttpLimits } from '../../src/netboot/http/config.js';
import { startHttp, type HttpServer } from '../../src/netboot/http/index.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { within, WAIT_MS } from '../helpers/within.js';
import { SPEC_YAML, fdsOn, loopbackHttp, makeTree, parseProm, specFrom, sum, type Tree } from './lib.js';

const CP1 = '52:54:00:00:00:01';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 20 ms, at most 500 times (10 s); fails naming `what` if it never holds. */
async function until(pred: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await pred()) return;
    await sleep(20);
  }
  assert.fail(`never: ${what}`);
}

/** A raw client socket that records what it receives and when it closes. */
interface Raw {
  sock: net.Socket;
  got: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}
async function raw(port: number, localAddress = '127.0.0.1', read = true): Promise<Raw> {
  const sock = net.connect({ host: '127.0.0.1', port, localAddress });
  let data = '';
  let done = false;
  sock.on('error', () => undefined);
  if (read) sock.on('data', (d: Buffer) => (data += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => sock.once('close', () => ((done = true), resolve())));
  await within(WAIT_MS, `a connection to port ${port} from ${localAddress}`, new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('close', () => reject(new Error('closed before connecting')));
  })).catch((e: unknown) => {
    sock.destroy();
    throw e;
  });
  return { sock, got: () => data, closed, isClosed: () => done };
}

// File bodies go by sendfile(2) (the native addon) or copied: both must hold up.
for (const zeroCopy of [true, false]) describe(`http server under hostile clients (loopback, ${zeroCopy ? 'sendfile' : 'copied'})`, () => {
  let tree: Tree;
  let huge: string;
  before(() => {
    tree = makeTree();
    huge = path.join(tree.assets, 'huge');
    writeFileSync(huge, '');
    truncateSync(huge, 256 * 1024 * 1024); // sparse: far more than the socket buffers hold
  });
  const servers: HttpServer[] = [];
  after(async () => {
    for (const srv of servers) await within(WAIT_MS, 'the server to close', srv.close()); // also those of a test that failed midway
    tree.cleanup();
  });

  /** A server with small limits, its metrics, progress and log lines. */
  async function serve(limits: Partial<HttpLimits>) {
    const metrics = createMetrics();
    const progress = new ProgressTracker({ macForIp: (ip) => (ip === '127.0.0.1' ? CP1 : undefined) });
    const lines: string[] = [];
    const events: string[] = [];
    const loaded = specFrom(SPEC_YAML());
    const srv: HttpServer = await startHttp(
      loopbackHttp(tree, loaded, {
        zeroCopy,
        metrics,
        events: { emit: (e) => (events.push(e.kind), progress.emit(e)) },
        macForIp: (ip) => progress.macForIp(ip),
        limits,
        log: (l) => lines.push(l),
      }),
    );
    servers.push(srv);
    const metric = async (name: string, label = '') => sum(parseProm(await metrics.registry.metrics()), name, label);
    const empty = () => {
      const s = srv.stats();
      return s.connections === 0 && s.addresses === 0 && s.transfers === 0 && s.heldFiles === 0;
    };
    return { srv, progress, lines, events, metric, empty };
  }

  it('refuses connections over the per-address and the total limit, logs once per address, serves the admitted', async () => {
    const s = await serve({ perAddress: 3, total: 5 });
    const kept: Raw[] = [];
    try {
      for (let i = 0; i < 3; i++) kept.push(await raw(s.srv.port));
      await until(() => s.srv.stats().connections === 3, '3 connections counted');
      for (let i = 0; i < 4; i++) {
        const r = await raw(s.srv.port);
        await within(WAIT_MS, 'the server to close a connection over the per-address limit', r.closed).finally(() => r.sock.destroy());
        assert.equal(r.got(), '');
      }
      assert.equal(await s.metric('hearth_http_connections_refused_total', 'reason="per-address"'), 4);
      assert.equal(s.lines.length, 1, s.lines.join('\n'));
      assert.match(s.lines[0]!, /^hearth netboot: HTTP refused a connection from 127\.0\.0\.1: 3 connections from that address open, the limit per address$/);
      // Other addresses are still admitted, up to the total, and served.
      const other = await raw(s.srv.port, '127.0.0.2');
      kept.push(other, await raw(s.srv.port, '127.0.0.3'));
      await until(() => s.srv.stats().connections === 5, '5 connections counted');
      const over = await raw(s.srv.port, '127.0.0.4');
      await within(WAIT_MS, 'the server to close a connection over the total limit', over.closed).finally(() => over.sock.destroy());
      assert.equal(await s.metric('hearth_http_connections_refused_total', 'reason="total"'), 1);
      assert.match(s.lines[1] ?? '', /from 127\.0\.0\.4: 5 connections open, the limit in all$/);
      assert.equal(await s.metric('hearth_http_connections'), 5);
      other.sock.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
      await until(() => other.got().includes('\r\n\r\nok\n'), 'an admitted connection served');
      assert.match(other.got(), /^HTTP\/1\.1 200 /);
    } finally {
      for (const k of kept) k.sock.destroy();
    }
    await until(s.empty, 'the connection table empty once the clients left');
    assert.equal(await s.metric('hearth_http_connections'), 0);
    await within(WAIT_MS, 'the server to close', s.srv.close());
  });

  it('closes a download whose client stops reading after the send timeout, releasing the file and the progress entry', async () => {
    const s = await serve({ sendTimeoutMs: 200 });
    const c = await raw(s.srv.port, '127.0.0.1', false);
    c.sock.pause(); // never reads: the socket buffers fill and the server's writes stall
    c.sock.write('GET /assets/huge HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => s.srv.stats().transfers === 1, 'the transfer started');
    await until(async () => (await s.metric('hearth_http_client_errors_total', 'reason="send-timeout"')) === 1, 'a send timeout');
    await until(s.empty, 'no connection nor transfer left');
    assert.ok(fdsOn(huge) <= 1, 'at most the one shared descriptor stays open (idle)');
    const m = s.progress.get(CP1)!;
    assert.deepEqual(m.active, []);
    assert.match(m.errors[0]!, /^HTTP huge: send timeout \(200 ms without progress\) after \d+ of 268435456 bytes$/);
    assert.ok(s.events.includes('http-asset-abort'));
    assert.ok(!s.events.includes('http-asset-done'));
    const sent = await s.metric('hearth_http_bytes_sent_total');
    assert.ok(sent > 0 && sent < 256 * 1024 * 1024, `bytes counted: ${sent}`);
    c.sock.destroy();
    await within(WAIT_MS, 'the server to close', s.srv.close());
    await until(() => fdsOn(huge) === 0, 'closing the server closes the file');
  });

  it('a download under way reports its bytes before it ends (progress), while the client reads slowly', async () => {
    const s = await serve({ sendTimeoutMs: 5000 });
    const c = await raw(s.srv.port);
    // Reads slowly but steadily: a pause of 20 ms after each chunk (at most a few MiB/s, so the
    // 256 MiB body is far from done when the first progress is due; closed after the checks).
    let resume: NodeJS.Timeout | undefined;
    c.sock.on('data', () => {
      c.sock.pause();
      resume = setTimeout(() => c.sock.resume(), 20);
    });
    try {
      c.sock.write('GET /assets/huge HTTP/1.1\r\nHost: a\r\n\r\n');
      await until(() => s.events.includes('http-asset-progress'), 'a progress event');
      assert.equal(s.srv.stats().transfers, 1, 'still running');
      assert.ok(!s.events.includes('http-asset-done'));
      const m = s.progress.get(CP1)!;
      assert.equal(m.active.length, 1);
    } finally {
      clearTimeout(resume);
      c.sock.destroy();
    }
    await until(s.empty, 'no connection nor transfer left');
    await within(WAIT_MS, 'the server to close', s.srv.close());
  });

  it('an aborted download leaves the active list and is counted', async () => {
    const s = await serve({});
    const c = await raw(s.srv.port);
    c.sock.write('GET /assets/huge HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => c.got().length > 100_000, 'some of the body arrived');
    assert.equal(s.progress.get(CP1)!.active.length, 1);
    c.sock.destroy();
    await until(s.empty, 'no connection nor transfer left');
    assert.ok(fdsOn(huge) <= 1, 'at most the one shared descriptor stays open (idle)');
    assert.deepEqual(s.progress.get(CP1)!.active, []);
    assert.equal(s.progress.get(CP1)!.state, 'aborted huge');
    assert.equal(await s.metric('hearth_http_client_errors_total', 'reason="aborted"'), 1);
    await within(WAIT_MS, 'the server to close', s.srv.close());
    await until(() => fdsOn(huge) === 0, 'closing the server closes the file');
  });

  it('answers a request trickled byte by byte with 408 once the header timeout passes', async () => {
    const s = await serve({ headersTimeoutMs: 200, requestTimeoutMs: 200, checkIntervalMs: 20 });
    const c = await raw(s.srv.port);
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: ');
    for (let i = 0; i < 1000 && !c.isClosed(); i++) {
      c.sock.write('a');
      await sleep(10);
    }
    await within(WAIT_MS, 'the server to close a trickled request', c.closed).finally(() => c.sock.destroy());
    assert.match(c.got(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.equal(await s.metric('hearth_http_client_errors_total', 'reason="request-timeout"'), 1);
    await until(s.empty, 'the connection gone');
    await within(WAIT_MS, 'the server to close', s.srv.close());
  });

  it('answers malformed requests 400 (and oversized headers 431), counted by reason', async () => {
    const s = await serve({});
    const send = async (req: string) => {
      const c = await raw(s.srv.port);
      c.sock.write(req);
      await within(WAIT_MS, `the server to close the connection after ${JSON.stringify(req.slice(0, 30))}`, c.closed).finally(() => c.sock.destroy());
      return c.got();
    };
    assert.match(await send('G@T / HTTP/1.1\r\nHost: a\r\n\r\n'), /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(await send('GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n'), /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(await send(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    assert.equal(await s.metric('hearth_http_client_errors_total', 'reason="bad-request"'), 2);
    assert.equal(await s.metric('hearth_http_client_errors_total', 'reason="headers-too-large"'), 1);
    // A target the parser lets through but that is no URL: 400 from the server, not 500.
    const c = await raw(s.srv.port);
    c.sock.write('GET http://[ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await within(WAIT_MS, 'the server to close the connection after a target that is no URL', c.closed).finally(() => c.sock.destroy());
    assert.match(c.got(), /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(await s.metric('hearth_http_requests_total', 'status="500"'), 0);
    await until(s.empty, 'no connection left');
    await within(WAIT_MS, 'the server to close', s.srv.close());
  });
});
