/**
 * /api/events (src/netboot/http/sse.ts): the run's events as Server-Sent Events. The route is
 * driven without sockets through a fake sink (framing, resume by Last-Event-ID, reset when the
 * history no longer reaches back, the bound on what a slow client may queue, heartbeats,
 * unsubscribing), then over loopback: the connection limits apply to streams, a client that goes
 * away frees its connection, closing the server ends the streams.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { BootEvent } from '../../src/netboot/events.js';
import type { MachineProgress } from '../../src/netboot/progress/index.js';
import type { HttpRequest } from '../../src/netboot/http/exchange.js';
import { startHttp, type HttpServer } from '../../src/netboot/http/index.js';
import { SSE_DEFAULTS, eventsRoute, resumeId, type SseOptions } from '../../src/netboot/http/sse.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { RunEventBus, type RunEvent } from '../../src/pipeline/events.js';
import { parseSse, type SseFrame } from '../helpers/sse.js';
import { rejectsWithin, within, WAIT_MS } from '../helpers/within.js';
import { loopbackHttp, makeTree, specFrom, SPEC_YAML, type Tree } from './lib.js';

function req(headers: Record<string, string> = {}): HttpRequest {
  return { method: 'GET', path: '/api/events', query: new URLSearchParams(), headers, ip: '127.0.0.1', base: 'http://127.0.0.1' };
}

function machine(mac: string, state: string, at: number): MachineProgress {
  return { mac, name: 'cp1', ip: '192.0.2.11', firstSeen: 1000, lastSeen: at, state, steps: [{ step: 'dhcp-ack', at, sinceFirstSeen: (at - 1000) / 1000 }], active: [], errors: [], errorCount: 0 };
}

/** A sink standing in for the socket: what was written, whether it was ended, and a settable backlog. */
function fakeSink() {
  const s = { text: '', ended: false, backlog: 0, write: (c: string) => void (s.text += c), buffered: () => s.backlog, end: () => void (s.ended = true) };
  return s;
}

/** Opens the stream on a fake sink; returns the sink, its frames on demand and the close callback. */
function open(bus: RunEventBus | undefined, headers: Record<string, string> = {}, opts: Partial<SseOptions> = {}) {
  const r = eventsRoute(bus, { ...SSE_DEFAULTS, ...opts })(req(headers));
  assert.ok(r.stream, `no stream: ${r.status} ${r.body}`);
  const sink = fakeSink();
  const close = r.stream(sink);
  return { r, sink, close, frames: (): SseFrame[] => parseSse(sink.text) };
}

const events = (frames: SseFrame[]) => frames.filter((f) => f.data !== undefined && f.event === undefined).map((f) => ({ id: Number(f.id), event: JSON.parse(f.data!) as RunEvent }));

describe('/api/events without sockets', () => {
  it('reads Last-Event-ID, and ignores one that is not a number', () => {
    assert.equal(resumeId(req({ 'last-event-id': '42' })), 42);
    assert.equal(resumeId(req({ 'last-event-id': ' 7 ' })), 7);
    assert.equal(resumeId(req({ 'last-event-id': '-3' })), 0);
    assert.equal(resumeId(req({ 'last-event-id': 'abc' })), 0);
    assert.equal(resumeId(req({ 'last-event-id': '1'.repeat(40) })), 0);
    assert.equal(resumeId(req()), 0);
  });

  it('answers 404 on a server without an event stream', () => {
    const r = eventsRoute(undefined)(req());
    assert.equal(r.status, 404);
    assert.equal(r.stream, undefined);
  });

  it('a new client gets a reset, the snapshots, then every new event with its id, as one-line JSON', () => {
    const bus = new RunEventBus();
    bus.emit({ type: 'stage', at: 1, stage: 'netboot', state: 'started' });
    bus.emit({ type: 'machine', at: 2, machine: machine('52:54:00:00:00:01', 'DHCP discover', 2000) });
    bus.emit({ type: 'machine', at: 3, machine: machine('52:54:00:00:00:01', 'lease 192.0.2.11', 3000) });
    const s = open(bus);
    assert.match(s.r.headers['Content-Type'] as string, /^text\/event-stream/);
    const first = s.frames();
    assert.equal(first[0]!.retry, String(SSE_DEFAULTS.retryMs));
    assert.equal(first[0]!.event, 'reset');
    // The latest machine snapshot only (id 3), after the stage (id 1); the history's tail adds id 2.
    assert.deepEqual(events(first).map((e) => e.id), [1, 2, 3]);
    bus.emit({ type: 'log', at: 4, level: 'warn', message: 'line\nwith a newline' });
    const all = events(s.frames());
    assert.deepEqual(all.map((e) => e.id), [1, 2, 3, 4]);
    assert.deepEqual(all[3]!.event, { type: 'log', at: 4, level: 'warn', message: 'line\nwith a newline' });
    assert.ok(!s.sink.ended);
    s.close();
  });

  it('a client that reconnects with Last-Event-ID gets exactly what it missed, without a reset', () => {
    const bus = new RunEventBus();
    for (let i = 1; i <= 5; i++) bus.emit({ type: 'log', at: i, level: 'info', message: `m${i}` });
    const s = open(bus, { 'last-event-id': '3' });
    const f = s.frames();
    assert.ok(f.every((x) => x.event !== 'reset'), 'no reset when the history covers the id');
    assert.deepEqual(events(f).map((e) => e.id), [4, 5]);
    s.close();
    const upToDate = open(bus, { 'last-event-id': '5' });
    assert.deepEqual(events(upToDate.frames()), []);
    upToDate.close();
  });

  it('an id the history no longer reaches, or one from another server process, starts the client over', () => {
    const bus = new RunEventBus();
    bus.emit({ type: 'component', at: 1, name: 'cilium', namespace: 'kube-system', state: 'ready', dependsOn: [] });
    for (let i = 0; i < 2500; i++) bus.emit({ type: 'machine', at: 10 + i, machine: machine('52:54:00:00:00:01', `s${i}`, 10 + i) });
    const old = open(bus, { 'last-event-id': '2' }, { recent: 10 });
    const f = old.frames();
    assert.equal(f[0]!.event, 'reset');
    const got = events(f);
    // The component's snapshot (long out of the history) comes along; ids ascend; the last is the bus's last.
    assert.ok(got.some((e) => e.event.type === 'component'));
    assert.deepEqual(got.map((e) => e.id), [...got.map((e) => e.id)].sort((a, b) => a - b));
    assert.equal(got[got.length - 1]!.id, bus.lastId());
    assert.ok(got.length <= 12, `snapshots plus the recent tail only, got ${got.length}`);
    old.close();
    const future = open(bus, { 'last-event-id': String(bus.lastId() + 100) });
    assert.equal(future.frames()[0]!.event, 'reset');
    future.close();
  });

  it('disconnects a client that does not keep up, and writes nothing more to it', () => {
    const bus = new RunEventBus();
    const s = open(bus, {}, { maxBufferedBytes: 1000 });
    bus.emit({ type: 'log', at: 1, level: 'info', message: 'fits' });
    assert.ok(!s.sink.ended);
    s.sink.backlog = 1001;
    const before = s.sink.text.length;
    bus.emit({ type: 'log', at: 2, level: 'info', message: 'over the bound' });
    assert.ok(s.sink.ended, 'the stream is ended when the backlog passes the bound');
    assert.equal(s.sink.text.length, before);
    s.sink.backlog = 0;
    bus.emit({ type: 'log', at: 3, level: 'info', message: 'after the end' });
    assert.equal(s.sink.text.length, before, 'unsubscribed after the end');
  });

  it('sends heartbeat comments while idle, and stops everything when the connection closes', async () => {
    const bus = new RunEventBus();
    const s = open(bus, {}, { heartbeatMs: 5 });
    const deadline = Date.now() + 5000;
    while (!s.frames().some((f) => f.comments.includes('heartbeat')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(s.frames().some((f) => f.comments.includes('heartbeat')), 'a heartbeat comment');
    s.close();
    const len = s.sink.text.length;
    bus.emit({ type: 'log', at: 1, level: 'info', message: 'after close' });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(s.sink.text.length, len, 'no event nor heartbeat after the connection closed');
  });

  it('puts only the fields an event type declares on the wire', () => {
    const bus = new RunEventBus();
    const s = open(bus);
    const m = { ...machine('52:54:00:00:00:01', 'lease', 5), config: 'machine:\n  token: SECRET-TOKEN' } as MachineProgress;
    (m.steps[0] as unknown as Record<string, unknown>).key = 'SECRET-STEP';
    bus.emit({ type: 'machine', at: 5, machine: m });
    bus.emit({ type: 'talos', at: 6, name: 'cp1', phase: 'installing', secret: 'SECRET-TALOS' } as RunEvent);
    bus.emit({ type: 'boot', at: 7, boot: { kind: 'http-script', at: 7, mac: '52:54:00:00:00:01', body: 'SECRET-BODY' } as never });
    assert.ok(!/SECRET/.test(s.sink.text), s.sink.text);
    const got = events(s.frames());
    assert.equal(got.length, 3);
    assert.equal((got[0]!.event as Extract<RunEvent, { type: 'machine' }>).machine.state, 'lease');
    assert.deepEqual(got[1]!.event, { type: 'talos', at: 6, name: 'cp1', phase: 'installing' });
    s.close();
  });
});

/** Opens /api/events over HTTP; resolves with the response once the headers are in (bounded: a request left hanging is destroyed). */
function connect(url: string): Promise<{ res: http.IncomingMessage; req: http.ClientRequest; text: () => string }> {
  let r: http.ClientRequest | undefined;
  const opened = new Promise<{ res: http.IncomingMessage; req: http.ClientRequest; text: () => string }>((resolve, reject) => {
    let text = '';
    r = http.get(`${url}/api/events`, { agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      resolve({ res, req: r!, text: () => text });
    });
    r.on('error', reject);
  });
  return within(WAIT_MS, `the headers of ${url}/api/events (or a refusal)`, opened).catch((e: unknown) => {
    r?.destroy();
    throw e;
  });
}

async function until(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('/api/events over loopback', () => {
  let tree: Tree;
  let srv: HttpServer;
  const bus = new RunEventBus();
  const logs: string[] = [];

  before(async () => {
    tree = makeTree();
    srv = await startHttp(loopbackHttp(tree, specFrom(SPEC_YAML()), { metrics: createMetrics(), bus, limits: { perAddress: 2 }, log: (l) => logs.push(l) }));
  });
  after(async () => {
    await within(WAIT_MS, 'the server to close', srv.close());
    tree.cleanup();
  });

  it('streams events live, counts streams against the per-address limit, and frees a closed one', async () => {
    const a = await connect(srv.url);
    const b = await connect(srv.url);
    assert.equal(a.res.statusCode, 200);
    bus.emit({ type: 'log', at: 1, level: 'info', message: 'hello' });
    await until('the event on both streams', () => a.text().includes('hello') && b.text().includes('hello'));
    assert.equal(srv.stats().connections, 2);
    // A third connection from the same address is over the limit of 2: refused like any other.
    await rejectsWithin(WAIT_MS, 'a refusal of a third connection from the address', connect(srv.url));
    await until('the refusal line', () => logs.some((l) => /limit per address/.test(l)));
    a.req.destroy();
    await until('the closed stream to be released', () => srv.stats().connections === 1);
    const c = await connect(srv.url);
    assert.equal(c.res.statusCode, 200);
    c.req.destroy();
    b.req.destroy();
    await until('all streams released', () => srv.stats().connections === 0);
  });

  it('keeps a quiet stream open past the send timeout with its heartbeats', async () => {
    const tree2 = makeTree();
    const srv2 = await startHttp(loopbackHttp(tree2, specFrom(SPEC_YAML()), { metrics: createMetrics(), bus: new RunEventBus(), limits: { sendTimeoutMs: 300 }, sse: { heartbeatMs: 50 } }));
    try {
      const a = await connect(srv2.url);
      let closed = false;
      a.res.on('close', () => (closed = true));
      try {
        await until('heartbeats over three send timeouts', () => (a.text().match(/: heartbeat/g) ?? []).length >= 18);
        assert.equal(closed, false, 'the stream is still open');
      } finally {
        a.req.destroy();
      }
    } finally {
      await within(WAIT_MS, 'the server to close', srv2.close());
      tree2.cleanup();
    }
  });

  it('reports a download under way with the bytes sent so far (the live rate)', async () => {
    const tree2 = makeTree({ big: 24 * 1024 * 1024 });
    const seen: BootEvent[] = [];
    const srv2 = await startHttp(loopbackHttp(tree2, specFrom(SPEC_YAML()), { metrics: createMetrics(), events: { emit: (e) => void seen.push(e) } }));
    try {
      await within(WAIT_MS * 2, 'the whole of /assets/big', new Promise<void>((resolve, reject) => {
        http.get(`${srv2.url}/assets/big`, { agent: false }, (res) => {
          // Take the first chunk, then stop reading for longer than the report interval.
          res.once('data', () => {
            res.pause();
            setTimeout(() => res.resume(), 1500);
          });
          res.on('data', () => undefined);
          res.on('end', resolve);
        }).on('error', reject);
      }));
      await until('the download to finish', () => seen.some((e) => e.kind === 'http-asset-done'));
      const progress = seen.filter((e) => e.kind === 'http-asset-progress');
      assert.ok(progress.length >= 1, seen.map((e) => e.kind).join(' '));
      // Each report is the bytes the socket had taken by then: all of them is possible when the timer
      // fires between the last send and the completion; while the client paused, fewer.
      for (const e of progress) assert.ok(e.file === 'big' && e.bytes! > 0 && e.bytes! <= 24 * 1024 * 1024, JSON.stringify(e));
      assert.ok(progress.some((e) => e.bytes! < 24 * 1024 * 1024), JSON.stringify(progress));
      assert.deepEqual(seen.map((e) => e.kind).filter((k) => k !== 'http-asset-progress'), ['http-asset-start', 'http-asset-done']);
    } finally {
      await within(WAIT_MS, 'the server to close', srv2.close());
      tree2.cleanup();
    }
  });

  it('ends open streams when the server closes', async () => {
    const tree2 = makeTree();
    const srv2 = await startHttp(loopbackHttp(tree2, specFrom(SPEC_YAML()), { metrics: createMetrics(), bus }));
    const a = await connect(srv2.url);
    const ended = new Promise<void>((r) => a.res.on('close', () => r()));
    await within(WAIT_MS, 'the server to close', srv2.close());
    await within(WAIT_MS, 'the open stream to end when the server closed', ended).finally(() => a.req.destroy());
    tree2.cleanup();
  });
});
