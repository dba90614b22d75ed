/**
 * The HTTP server layer: node:http in, the router's handler, the response written out (text, or
 * a file streamed with progress events), and the request metrics. Handlers live in routes.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bindFailure } from '../../common/errors.js';
import { Jail } from '../jail.js';
import { httpConfig, type HttpConfig, type HttpServerOptions } from './config.js';
import { text, type FileBody, type HttpRequest, type HttpResponse } from './exchange.js';
import { createRouter } from './routes.js';
import { streamFile } from './stream.js';

export interface HttpServer {
  port: number;
  address: string;
  url: string;
  close(): Promise<void>;
}

function clientIp(req: http.IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Streams a file body, reporting the download to progress and its bytes to metrics. */
async function sendFile(cfg: HttpConfig, ip: string, res: http.ServerResponse, f: FileBody): Promise<void> {
  const mac = cfg.macForIp(ip);
  const began = Date.now();
  cfg.events.emit({ kind: 'http-asset-start', at: began, ip, mac, file: f.name, bytes: f.length, detail: f.kind });
  let sent = 0;
  try {
    await streamFile(f.path, res, f.start, f.end, (n) => (sent += n));
    cfg.metrics.httpBytes.inc(sent);
    const now = Date.now();
    cfg.events.emit({ kind: 'http-asset-done', at: now, ip, mac: mac ?? cfg.macForIp(ip), file: f.name, bytes: sent, durationMs: now - began, detail: f.kind });
  } catch {
    cfg.metrics.httpBytes.inc(sent);
    res.destroy();
  }
}

/** Writes a handler's response: headers, then the text or the streamed file (neither for HEAD). */
async function write(cfg: HttpConfig, method: string, ip: string, res: http.ServerResponse, r: HttpResponse): Promise<void> {
  res.writeHead(r.status, r.headers);
  const head = method === 'HEAD';
  if (r.file && !head && r.file.length > 0) return sendFile(cfg, ip, res, r.file);
  res.end(head ? undefined : r.body);
}

export async function startHttp(opts: HttpServerOptions): Promise<HttpServer> {
  const cfg = httpConfig(opts);
  const metrics = cfg.metrics;
  const route = createRouter(cfg, { assets: await Jail.at(cfg.assets), ipxe: await Jail.at(cfg.ipxe) });
  let selfBase = `http://${cfg.address}:${cfg.port}`;
  const base = (req: http.IncomingMessage) => {
    if (cfg.httpBase) return cfg.httpBase;
    const host = req.headers.host;
    return host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? `http://${host}` : selfBase;
  };

  const server = http.createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
    const began = process.hrtime.bigint();
    let routeName = 'error';
    (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const method = req.method ?? 'GET';
      const r = route(method, url.pathname);
      routeName = r.name;
      const request: HttpRequest = { method, path: url.pathname, query: url.searchParams, headers: req.headers, ip: clientIp(req), base: base(req) };
      const response = await r.handle(request);
      await write(cfg, request.method, request.ip, res, response);
      return response.status;
    })().then(
      (status) => {
        metrics.httpRequests.inc({ route: routeName, status: String(status) });
        metrics.httpDuration.observe({ route: routeName }, Number(process.hrtime.bigint() - began) / 1e9);
      },
      () => {
        metrics.httpRequests.inc({ route: 'error', status: '500' });
        if (!res.headersSent) void write(cfg, req.method ?? 'GET', '', res, text(500, 'internal error\n'));
        else res.destroy();
      },
    );
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(bindFailure(e, 'HTTP', `${cfg.address}:${cfg.port}`)));
    server.listen(cfg.port, cfg.address, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  selfBase = `http://${cfg.address}:${a.port}`;
  return {
    port: a.port,
    address: a.address,
    url: `http://${a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
