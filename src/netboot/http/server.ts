/**
 * The HTTP server layer: connections admitted against the limits, read by the front (front.ts),
 * which hands what it does not take to node:http; each request routed to its handler (routes.ts),
 * the response written out (respond.ts), and the request metrics.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { bindFailure } from '../../common/errors.js';
import { Jail } from '../jail.js';
import { httpConfig, type HttpConfig, type HttpServerOptions } from './config.js';
import { text, type HttpRequest, type HttpResponse } from './exchange.js';
import { frontConnection, type FrontOptions } from './front.js';
import { ConnectionLimiter } from './limits.js';
import type { Outgoing } from './outgoing.js';
import { createRouter, dashboardOnly } from './routes.js';
import { OpenFiles } from './openfiles.js';
import { endStreams, write, writeRaw, type Senders } from './respond.js';
import { sendfileAddon } from './sendfile.js';

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

/** Counts connections in and out against the limits; refuses (closes) those over them. */
function admitConnections(cfg: HttpConfig, server: net.Server, limiter: ConnectionLimiter): void {
  const metrics = cfg.metrics;
  // Prepended: a refused socket is closed before the front reads it.
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
  const baseFor = (host: string | undefined) => {
    if (cfg.httpBase) return cfg.httpBase;
    return host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? `http://${host}` : selfBase;
  };

  /** A request as plain data in; the name of its route (for the metrics) and the handler's response out. */
  const answer = async (method: string, target: string, headers: IncomingHttpHeaders, ip: string): Promise<{ name: string; response: HttpResponse }> => {
    const url = parseTarget(target);
    if (!url) return { name: 'other', response: text(400, 'bad request target\n') };
    const r = route(method, url.pathname);
    const request: HttpRequest = { method, path: url.pathname, query: url.searchParams, headers, ip, base: baseFor(headers.host) };
    return { name: r.name, response: await r.handle(request) };
  };

  /**
   * Answers one request and counts it in the metrics (a stream once it has started, anything else
   * once its body is over). `send` writes a response and resolves when its body is over; `failed`
   * runs when the handler or the writing threw (a 500 if nothing went out yet, else a cut).
   */
  const serve = async (method: string, target: string, headers: IncomingHttpHeaders, ip: string, send: (r: HttpResponse) => Promise<void>, failed: () => void | Promise<void>): Promise<void> => {
    const began = process.hrtime.bigint();
    try {
      const { name, response } = await answer(method, target, headers, ip);
      const over = send(response);
      if (!response.stream || method === 'HEAD') await over;
      metrics.httpRequests.inc({ route: name, status: String(response.status) });
      metrics.httpDuration.observe({ route: name }, Number(process.hrtime.bigint() - began) / 1e9);
      await over;
    } catch {
      metrics.httpRequests.inc({ route: 'error', status: '500' });
      await failed();
    }
  };

  const lim = cfg.limits;
  const limiter = new ConnectionLimiter(lim);
  const senders: Senders = { transfers: new Set<Outgoing>(), files: new OpenFiles(), streams: new Set<Outgoing>() };
  // node:http answers the connections the front hands over (front.ts), for the rest of their life.
  const server = http.createServer(
    {
      keepAliveTimeout: lim.keepAliveMs,
      headersTimeout: lim.headersTimeoutMs,
      requestTimeout: Math.max(lim.requestTimeoutMs, lim.headersTimeoutMs),
      connectionsCheckingInterval: lim.checkIntervalMs,
    },
    (req, res) => {
      const method = req.method ?? 'GET';
      const ip = clientIp(req);
      void serve(method, req.url ?? '/', req.headers, ip, (r) => write(cfg, senders, method, ip, res, r), () => {
        // The connection ends with the 500, as the front's does.
        if (!res.headersSent) void write(cfg, senders, method, ip, res, text(500, 'internal error\n', undefined, { Connection: 'close' }));
        else res.destroy();
      });
    },
  );
  server.on('clientError', (e: NodeJS.ErrnoException, socket: Socket) => onClientError(cfg, e, socket));
  // It never listens itself: 'listening' starts its checks of the header and request timeouts on
  // the connections it is given (node:http sets them up on that event, in Node 20 to 24 alike).
  server.emit('listening');

  const sockets = new Set<Socket>();
  const front: FrontOptions = {
    maxHeadBytes: http.maxHeaderSize,
    headersTimeoutMs: lim.headersTimeoutMs,
    keepAliveMs: lim.keepAliveMs,
    serve: (head, socket) => {
      const ip = normalizeIp(socket.remoteAddress);
      const before = socket.bytesWritten;
      return serve(head.method, head.target, head.headers, ip, (r) => writeRaw(cfg, senders, head.method, ip, socket, head.keepAlive, r), () => {
        if (socket.bytesWritten !== before) return void socket.destroy();
        return writeRaw(cfg, senders, head.method, ip, socket, false, text(500, 'internal error\n')).catch(() => void socket.destroy());
      });
    },
    handOff: (socket, unread) => {
      server.emit('connection', socket);
      if (unread.length > 0) socket.unshift(unread);
      socket.resume();
    },
    onClientError: (reason) => metrics.httpClientErrors.inc({ reason }),
  };
  const listener = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (socket.destroyed) return; // refused by admission
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    frontConnection(socket, front);
  });
  admitConnections(cfg, listener, limiter);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (e) => reject(bindFailure(e, 'HTTP', `${cfg.address}:${cfg.port}`)));
    listener.listen(cfg.port, cfg.address, () => {
      listener.removeAllListeners('error');
      resolve();
    });
  });
  // The addon now, not on the first download, whose first byte would wait for the load (measured:
  // +0.5 MiB idle RSS; a fresh server's first 1 MiB download: first byte 5.0 ms vs 6.8 ms, medians of 10).
  if (cfg.zeroCopy) sendfileAddon();
  const a = listener.address() as AddressInfo;
  selfBase = `http://${cfg.address}:${a.port}`;
  return {
    port: a.port,
    address: a.address,
    url: `http://${a.address}:${a.port}`,
    stats: () => ({ ...limiter.stats(), transfers: senders.transfers.size, openFiles: senders.files.size, heldFiles: senders.files.held }),
    stopBooting: () => {
      if (booting) route = dashboardOnly(route);
      booting = false;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => {
        listener.close(() => {
          senders.files.closeIdle();
          resolve();
        });
      });
      await endStreams(senders.streams);
      for (const socket of sockets) socket.destroy();
      server.close(() => undefined);
      await closed;
    },
  };
}
