/**
 * /api/events: the run's event stream (src/pipeline/events.ts) as Server-Sent Events, for the
 * dashboard. Each event goes out as `id: N` + `data: <JSON>`; a client that reconnects sends the
 * last id it saw (Last-Event-ID) and gets what it missed from the bus. When the bus no longer
 * holds that far back (or the id is from another server process), the stream starts with an
 * `event: reset` frame and then the current snapshots and the recent events, so the page starts over.
 *
 * Bounded: a client that does not keep up (more than `maxBufferedBytes` queued for it) is
 * disconnected and resumes from its last id; a comment line every `heartbeatMs` keeps proxies
 * and the send timeout from taking an idle stream for a dead one. The connection itself counts
 * against the server's connection limits like any other.
 */
import type { NumberedEvent, RunEventBus } from '../../pipeline/events.js';
import { publicEvent } from '../../pipeline/public-event.js';
import { text, type HttpRequest, type HttpResponse, type StreamSink } from './exchange.js';

export interface SseOptions {
  /** A comment line this often (ms); well under the send timeout. */
  heartbeatMs: number;
  /** Bytes queued for a client beyond which it is disconnected. */
  maxBufferedBytes: number;
  /** The reconnect delay the client is told (`retry:`), ms. */
  retryMs: number;
  /** Recent events sent with the snapshots when a client starts over (its "last events"). */
  recent: number;
}

export const SSE_DEFAULTS: SseOptions = { heartbeatMs: 15_000, maxBufferedBytes: 1 << 20, retryMs: 2_000, recent: 100 };

/** Frames already made, per event: every open stream sends the same text. */
const frames = new WeakMap<NumberedEvent, string>();

/** One event as an SSE frame. JSON has no raw newlines, so `data:` is one line. */
export function frame(e: NumberedEvent): string {
  let f = frames.get(e);
  if (f === undefined) {
    f = `id: ${e.id}\ndata: ${JSON.stringify(publicEvent(e.event))}\n\n`;
    frames.set(e, f);
  }
  return f;
}

/** The id a client resumes after: Last-Event-ID (a reconnecting EventSource), else 0. */
export function resumeId(req: Pick<HttpRequest, 'headers'>): number {
  const raw = req.headers['last-event-id'];
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v !== undefined && /^\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : 0;
}

/**
 * What a client that last saw `afterId` is sent first: the events after it, or (not covered) a
 * reset and then the snapshots merged with the recent history, in id order.
 */
export function catchUp(bus: RunEventBus, afterId: number, recent: number): { reset: boolean; events: NumberedEvent[] } {
  if (bus.covers(afterId)) return { reset: false, events: bus.since(afterId) };
  const byId = new Map<number, NumberedEvent>();
  for (const e of [...bus.since(0), ...bus.recent(recent)]) byId.set(e.id, e);
  return { reset: true, events: [...byId.values()].sort((a, b) => a.id - b.id) };
}

/** The /api/events handler; 404 on a server without a bus. */
export function eventsRoute(bus: RunEventBus | undefined, opts: SseOptions = SSE_DEFAULTS): (req: HttpRequest) => HttpResponse {
  return (req) => {
    if (!bus) return text(404, 'this server has no event stream\n');
    const headers = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no', 'X-Content-Type-Options': 'nosniff' };
    return { status: 200, headers, stream: (sink) => openStream(bus, sink, resumeId(req), opts) };
  };
}

/** Writes the catch-up and then every new event to `sink`; returns the cleanup for a closed connection. */
function openStream(bus: RunEventBus, sink: StreamSink, afterId: number, opts: SseOptions): () => void {
  let open = true;
  const put = (chunk: string) => {
    if (!open) return;
    if (sink.buffered() > opts.maxBufferedBytes) return stop(true);
    sink.write(chunk);
  };
  // since() and subscribe() run in one turn: no event can fall between them.
  const first = catchUp(bus, afterId, opts.recent);
  put(`retry: ${opts.retryMs}\n${first.reset ? `event: reset\ndata: ${bus.lastId()}\n` : ''}\n`);
  for (const e of first.events) put(frame(e));
  const unsubscribe = bus.subscribe((e) => put(frame(e)));
  const heartbeat = setInterval(() => put(': heartbeat\n\n'), opts.heartbeatMs);
  heartbeat.unref();
  function stop(endIt: boolean): void {
    if (!open) return;
    open = false;
    unsubscribe();
    clearInterval(heartbeat);
    if (endIt) sink.end();
  }
  return () => stop(false);
}
