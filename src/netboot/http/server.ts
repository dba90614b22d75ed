/**
 * The HTTP server layer: node:http in, the router's handler, the response written out (text, or
 * a file streamed with progress events), and the request metrics. Handlers live in routes.ts.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { bindFailure } from '../../common/errors.js';
import { Jail } from '../jail.js';
import { httpConfig, type HttpConfig, type HttpServerOptions } from './config.js';
import { text, type FileBody, type HttpRequest, type HttpResponse, type StreamBody } from './exchange.js';
import { ConnectionLimiter } from './limits.js';
import { createRouter, dashboardOnly } from './routes.js';
import { OpenFiles } from './openfiles.js';
import { sendfileAddon, sendfileBody, socketFd } from './sendfile.js';
import { streamFile } from './stream.js';

export interface HttpServer {
  port: number;
  address: string;
  url: string;
  /** What the server holds now: open connections, addresses holding them, file bodies being sent, file descriptors open (shared, kept while idle) and held by transfers. */
  stats(): { connections: number; addresses: number; transfers: number; openFiles: number; heldFiles: number };
  /** Stops serving boots (scripts, assets, iPXE binaries, configs: 404 from now on); the dashboard, its stream and /api/machines stay. */
  stopBooting(): void;
  close(): Promise<void>;
}

/** The answer written to a socket Node's parser gave up on, by the parser's error code. */
const CLIENT_ERRORS: Record<string, { status: string; reason: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: '408 Request Timeout', reason: 'request-timeout' },
  HPE_HEADER_OVERFLOW: { status: '431 Request Header Fields Too Large', reason: 'headers-too-large' },
};

/** Answers a request Node could not parse (or that timed out) and closes the connection. */
function onClientError(cfg: HttpConfig, err: NodeJS.ErrnoException, socket: Socket): void {
  const known = CLIENT_ERRORS[err.code ?? ''] ?? { status: '400 Bad Request', reason: 'bad-request' };
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight) {
    cfg.metrics.httpClientErrors.inc({ reason: err.code === 'ECONNRESET' ? 'reset' : known.reason });
    socket.destroy();
    return;
  }
  cfg.metrics.httpClientErrors.inc({ reason: known.reason });
  socket.end(`HTTP/1.1 ${known.status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}

function normalizeIp(a: string | undefined): string {
  const ip = a ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** The request target as a URL: origin-form (`/path?q`) taken as a path (so `//x` is no host), else absolute-form; undefined if malformed. */
function parseTarget(target: string): URL | undefined {
  try {
    return new URL(target.startsWith('/') ? `http://x${target}` : target);
  } catch {
    return undefined;
  }
}

function clientIp(req: http.IncomingMessage): string {
  return normalizeIp(req.socket.remoteAddress);
}

/** What sending bodies shares across responses: the file transfers running, the open files, the open streams. */
interface Senders {
  transfers: Set<http.ServerResponse>;
  files: OpenFiles;
  streams: Set<http.ServerResponse>;
}

/** Sends a file body: by sendfile(2) when the addon is there (and not turned off), else copied. */
async function sendBody(cfg: HttpConfig, s: Senders, res: http.ServerResponse, f: FileBody, onBytes: (n: number) => void): Promise<void> {
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
async function sendFile(cfg: HttpConfig, s: Senders, ip: string, res: http.ServerResponse, f: FileBody): Promise<void> {
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
    const timedOut = (res as TimedResponse)[SEND_TIMED_OUT] === true;
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

/** Runs a stream body until the client or the stream ends it (the send timeout still applies). */
function sendStream(res: http.ServerResponse, stream: StreamBody, streams: Set<http.ServerResponse>): void {
  if (res.destroyed) return;
  res.flushHeaders();
  streams.add(res);
  const stop = stream({ write: (chunk) => void res.write(chunk), buffered: () => res.writableLength, end: () => res.end() });
  res.once('close', () => {
    streams.delete(res);
    stop();
  });
}

/** How long closing waits for open streams to take what was written to them before cutting them. */
const STREAM_DRAIN_MS = 1000;

/** Ends every open stream so its client gets what was written before the close (the run's last events); bounded. */
async function endStreams(streams: Set<http.ServerResponse>): Promise<void> {
  if (streams.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const ended = [...streams].map((res) => new Promise<void>((resolve) => res.end(resolve)));
  await Promise.race([Promise.all(ended), new Promise<void>((resolve) => (timer = setTimeout(resolve, STREAM_DRAIN_MS)))]);
  clearTimeout(timer);
}

const SEND_TIMED_OUT = Symbol('send timed out');
type TimedResponse = http.ServerResponse & { [SEND_TIMED_OUT]?: boolean };

/**
 * Writes a handler's response: headers, then the text or the streamed file (neither for HEAD).
 * A response whose socket takes nothing for the send timeout is destroyed (nginx `send_timeout`).
 */
async function write(cfg: HttpConfig, transfers: Senders, method: string, ip: string, res: http.ServerResponse, r: HttpResponse): Promise<void> {
  res.setTimeout(cfg.limits.sendTimeoutMs, () => {
    (res as TimedResponse)[SEND_TIMED_OUT] = true;
    cfg.metrics.httpClientErrors.inc({ reason: 'send-timeout' });
    res.destroy();
  });
  res.writeHead(r.status, r.headers);
  const head = method === 'HEAD';
  if (r.file && !head && r.file.length > 0) return sendFile(cfg, transfers, ip, res, r.file);
  if (r.stream && !head) return sendStream(res, r.stream, transfers.streams);
  res.end(head ? undefined : r.body);
}

/** Counts connections in and out against the limits; refuses (closes) those over them. */
function admitConnections(cfg: HttpConfig, server: http.Server, limiter: ConnectionLimiter): void {
  const metrics = cfg.metrics;
  // Prepended: a refused socket is closed before node:http starts parsing it.
  server.prependListener('connection', (socket: Socket) => {
    const ip = normalizeIp(socket.remoteAddress);
    const refused = limiter.admit(ip);
    if (refused) {
      metrics.httpRefused.inc({ reason: refused });
      const line = limiter.refusalLine(ip, refused);
      if (line) cfg.log(line);
      socket.destroy();
      return;
    }
    metrics.httpConnections.set(limiter.stats().connections);
    socket.once('close', () => {
      limiter.release(ip);
      metrics.httpConnections.set(limiter.stats().connections);
    });
  });
}

export async function startHttp(opts: HttpServerOptions): Promise<HttpServer> {
  const cfg = httpConfig(opts);
  const metrics = cfg.metrics;
  let booting = true;
  let route = createRouter(cfg, { assets: await Jail.at(cfg.assets), ipxe: await Jail.at(cfg.ipxe) });
  let selfBase = `http://${cfg.address}:${cfg.port}`;
  const base = (req: http.IncomingMessage) => {
    if (cfg.httpBase) return cfg.httpBase;
    const host = req.headers.host;
    return host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? `http://${host}` : selfBase;
  };

  const lim = cfg.limits;
  const limiter = new ConnectionLimiter(lim);
  const transfers: Senders = { transfers: new Set<http.ServerResponse>(), files: new OpenFiles(), streams: new Set<http.ServerResponse>() };
  const server = http.createServer(
    {
      keepAliveTimeout: lim.keepAliveMs,
      headersTimeout: lim.headersTimeoutMs,
      requestTimeout: Math.max(lim.requestTimeoutMs, lim.headersTimeoutMs),
      connectionsCheckingInterval: lim.checkIntervalMs,
    },
    (req, res) => {
      const began = process.hrtime.bigint();
      let routeName = 'error';
      (async () => {
        const url = parseTarget(req.url ?? '/');
        const method = req.method ?? 'GET';
        if (!url) {
          routeName = 'other';
          await write(cfg, transfers, method, clientIp(req), res, text(400, 'bad request target\n'));
          return 400;
        }
        const r = route(method, url.pathname);
        routeName = r.name;
        const request: HttpRequest = { method, path: url.pathname, query: url.searchParams, headers: req.headers, ip: clientIp(req), base: base(req) };
        const response = await r.handle(request);
        await write(cfg, transfers, request.method, request.ip, res, response);
        return response.status;
      })().then(
        (status) => {
          metrics.httpRequests.inc({ route: routeName, status: String(status) });
          metrics.httpDuration.observe({ route: routeName }, Number(process.hrtime.bigint() - began) / 1e9);
        },
        () => {
          metrics.httpRequests.inc({ route: 'error', status: '500' });
          if (!res.headersSent) void write(cfg, transfers, req.method ?? 'GET', '', res, text(500, 'internal error\n'));
          else res.destroy();
        },
      );
    },
  );
  admitConnections(cfg, server, limiter);
  server.on('clientError', (e: NodeJS.ErrnoException, socket: Socket) => onClientError(cfg, e, socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(bindFailure(e, 'HTTP', `${cfg.address}:${cfg.port}`)));
    server.listen(cfg.port, cfg.address, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  // The addon now, not on the first download, whose first byte would wait for the load (measured:
  // +0.5 MiB idle RSS; a fresh server's first 1 MiB download: first byte 5.0 ms vs 6.8 ms, medians of 10).
  if (cfg.zeroCopy) sendfileAddon();
  const a = server.address() as AddressInfo;
  selfBase = `http://${cfg.address}:${a.port}`;
  return {
    port: a.port,
    address: a.address,
    url: `http://${a.address}:${a.port}`,
    stats: () => ({ ...limiter.stats(), transfers: transfers.transfers.size, openFiles: transfers.files.size, heldFiles: transfers.files.held }),
    stopBooting: () => {
      if (booting) route = dashboardOnly(route);
      booting = false;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          transfers.files.closeIdle();
          resolve();
        });
      });
      await endStreams(transfers.streams);
      server.closeAllConnections();
      await closed;
    },
  };
}
