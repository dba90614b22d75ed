/**
 * Writing a handler's response (exchange.ts): its head through node:http (`write`) or onto the
 * front's connection (`writeRaw`, outgoing.ts), then its body — the text, a file (sendfile.ts, or
 * copied by stream.ts) with progress events and byte metrics, or an event stream — under the send
 * timeout (nginx `send_timeout`).
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpConfig } from './config.js';
import type { FileBody, HttpResponse, StreamBody } from './exchange.js';
import type { OpenFiles } from './openfiles.js';
import { RawResponse, responseHead, type Outgoing } from './outgoing.js';
import { sendfileAddon, sendfileBody, socketFd } from './sendfile.js';
import { streamFile } from './stream.js';

/** What sending bodies shares across responses: the file transfers running, the open files, the open streams. */
export interface Senders {
  transfers: Set<Outgoing>;
  files: OpenFiles;
  streams: Set<Outgoing>;
}

/** Sends a file body: by sendfile(2) when the addon is there (and not turned off), else copied. */
async function sendBody(cfg: HttpConfig, s: Senders, res: Outgoing, f: FileBody, onBytes: (n: number) => void): Promise<void> {
  const mod = cfg.zeroCopy ? sendfileAddon() : null;
  if (!mod || !f.st || socketFd(res.socket) < 0) return streamFile(f.path, res, f.start, f.end, onBytes);
  const held = await s.files.acquire(f.path, f.st);
  try {
    await sendfileBody(mod, res, held.fd, f.start, f.end, onBytes);
  } finally {
    held.release();
  }
}

/** How often a download under way reports its bytes (live rates on the dashboard). */
const PROGRESS_EVERY_MS = 1000;

/**
 * Sends a file body, reporting the download to progress (started, then done or aborted) and
 * its bytes to metrics; `transfers` holds it while it runs.
 */
async function sendFile(cfg: HttpConfig, s: Senders, ip: string, res: Outgoing, f: FileBody): Promise<void> {
  const transfers = s.transfers;
  const mac = cfg.macForIp(ip);
  const began = Date.now();
  cfg.events.emit({ kind: 'http-asset-start', at: began, ip, mac, file: f.name, bytes: f.length, detail: f.kind });
  transfers.add(res);
  cfg.metrics.httpTransfers.set(transfers.size);
  let sent = 0;
  let reported = began;
  const progress = (n: number) => {
    sent += n;
    const now = Date.now();
    if (now - reported < PROGRESS_EVERY_MS) return;
    reported = now;
    cfg.events.emit({ kind: 'http-asset-progress', at: now, ip, mac, file: f.name, bytes: sent, detail: f.kind });
  };
  try {
    await sendBody(cfg, s, res, f, progress);
    const now = Date.now();
    cfg.events.emit({ kind: 'http-asset-done', at: now, ip, mac: mac ?? cfg.macForIp(ip), file: f.name, bytes: sent, durationMs: now - began, detail: f.kind });
  } catch (e) {
    res.destroy();
    const timedOut = sendTimedOut.has(res);
    if (!timedOut) cfg.metrics.httpClientErrors.inc({ reason: 'aborted' });
    const now = Date.now();
    const why = timedOut ? `send timeout (${cfg.limits.sendTimeoutMs} ms without progress)` : (e as Error).message;
    cfg.events.emit({ kind: 'http-asset-abort', at: now, ip, mac: mac ?? cfg.macForIp(ip), file: f.name, bytes: sent, durationMs: now - began, detail: `${why} after ${sent} of ${f.length} bytes` });
  } finally {
    cfg.metrics.httpBytes.inc(sent);
    transfers.delete(res);
    cfg.metrics.httpTransfers.set(transfers.size);
  }
}

/** Runs a stream body until the client or the stream ends it (the send timeout still applies); resolves when the connection closes. */
function sendStream(res: Outgoing, stream: StreamBody, streams: Set<Outgoing>): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  res.flushHeaders();
  streams.add(res);
  const stop = stream({ write: (chunk) => void res.write(chunk), buffered: () => res.writableLength, end: () => res.end() });
  return new Promise<void>((resolve) =>
    res.once('close', () => {
      streams.delete(res);
      stop();
      resolve();
    }),
  );
}

/** How long closing waits for open streams to take what was written to them before cutting them. */
const STREAM_DRAIN_MS = 1000;

/** Ends every open stream so its client gets what was written before the close (the run's last events); bounded. */
export async function endStreams(streams: Set<Outgoing>): Promise<void> {
  if (streams.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const ended = [...streams].map((res) => new Promise<void>((resolve) => res.end(resolve)));
  await Promise.race([Promise.all(ended), new Promise<void>((resolve) => (timer = setTimeout(resolve, STREAM_DRAIN_MS)))]);
  clearTimeout(timer);
}

/** Responses the send timeout cut (their abort says so, and is not counted as the client's). */
const sendTimedOut = new WeakSet<Outgoing>();

/** The send timeout fired on `res`: counted, marked, and the connection cut (nginx `send_timeout`). */
function cutStalled(cfg: HttpConfig, res: Outgoing): void {
  sendTimedOut.add(res);
  cfg.metrics.httpClientErrors.inc({ reason: 'send-timeout' });
  res.destroy();
}

/**
 * Writes a response's body once its head is set: the text, the file, or the stream (none for
 * HEAD). Resolves when the body is over: the text or file with the kernel, the stream closed.
 */
async function writeBody(cfg: HttpConfig, s: Senders, method: string, ip: string, res: Outgoing, r: HttpResponse): Promise<void> {
  const head = method === 'HEAD';
  if (r.file && !head && r.file.length > 0) return sendFile(cfg, s, ip, res, r.file);
  if (r.stream && !head) return sendStream(res, r.stream, s.streams);
  if (r.body !== undefined && !head) res.write(r.body);
  // Over once the kernel has it all, or once the connection is gone (then end's callback may never run).
  await new Promise<void>((resolve) => {
    res.once('close', resolve);
    res.end(resolve);
  });
}

/**
 * Writes a handler's response through node:http: headers, then the body (writeBody). A response
 * whose socket takes nothing for the send timeout is destroyed (nginx `send_timeout`). Resolves
 * when the body is over.
 */
export function write(cfg: HttpConfig, s: Senders, method: string, ip: string, res: ServerResponse, r: HttpResponse): Promise<void> {
  res.setTimeout(cfg.limits.sendTimeoutMs, () => cutStalled(cfg, res));
  // The reason phrase given, not kept from an earlier writeHead that threw (a 500 after it said "500 OK").
  res.writeHead(r.status, STATUS_CODES[r.status] ?? 'Unknown', r.headers);
  return writeBody(cfg, s, method, ip, res, r);
}

/**
 * Writes a handler's response on the front's connection (RawResponse); the socket's timeout is
 * the send timeout while it runs. A stream body has no length, so its connection ends with it.
 * Resolves when the body is over.
 */
export async function writeRaw(cfg: HttpConfig, s: Senders, method: string, ip: string, socket: Socket, keepAlive: boolean, r: HttpResponse): Promise<void> {
  const streaming = r.stream !== undefined && method !== 'HEAD';
  const persist = keepAlive && !streaming;
  const res = new RawResponse(socket, responseHead(r.status, r.headers, persist, cfg.limits.keepAliveMs), persist);
  const onTimeout = () => cutStalled(cfg, res);
  // An event stream ends when its client stops sending (it will never read to an end of its own).
  const onEnd = () => res.end();
  socket.setTimeout(cfg.limits.sendTimeoutMs);
  socket.on('timeout', onTimeout);
  if (streaming && socket.readableEnded) setImmediate(onEnd);
  else if (streaming) socket.once('end', onEnd);
  try {
    await writeBody(cfg, s, method, ip, res, r);
  } finally {
    socket.off('timeout', onTimeout);
    socket.off('end', onEnd);
  }
}
