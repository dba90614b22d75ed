/**
 * An HTTP proxy that stands between a client and a test double and breaks things on purpose: it
 * answers chosen requests with an error (403, 410, 5xx, a Status in a watch stream) and can cut
 * every connection and refuse new ones for a while (an API server restarting, a VIP failing over).
 * Plain HTTP only; everything else is passed through untouched.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { within, WAIT_MS } from './within.js';

export interface FaultRule {
  /** Which requests: method and a pattern on path + query. */
  readonly method?: string;
  readonly path: RegExp;
  /** How many matching requests get the fault (Infinity for all). */
  times: number;
  /** The HTTP status to answer with. */
  readonly status: number;
  /** The body (a Kubernetes Status by default); with `stream`, sent as one watch-event line with status 200. */
  readonly body?: unknown;
  /** Answer 200 and put `body` in the stream as a watch event, then end (how a real API server reports 410 Gone). */
  readonly stream?: boolean;
}

export function kubeStatus(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FaultProxy {
  private server = http.createServer((req, res) => this.handle(req, res));
  private readonly sockets = new Set<Socket>();
  private readonly upstreams = new Set<http.ClientRequest>();
  private port = 0;
  readonly rules: FaultRule[] = [];
  /** Every request seen (method, path with query), in order. */
  readonly seen: { method: string; path: string; fault?: number }[] = [];
  /** Watches passed through and still open. */
  openWatches = 0;

  constructor(private readonly target: string) {
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<string> {
    await this.listen();
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  fail(rule: FaultRule): void {
    this.rules.push(rule);
  }

  /** Drops every connection and stops listening: clients see resets, then "connection refused". */
  async cut(): Promise<void> {
    for (const u of this.upstreams) u.destroy();
    for (const s of this.sockets) s.destroy();
    await within(WAIT_MS, 'the fault proxy to stop listening', new Promise<void>((r) => this.server.close(() => r())));
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    await this.listen();
  }

  /** Listens on this.port; fails (rather than waiting forever) when the port was taken meanwhile. */
  private listen(): Promise<void> {
    const server = this.server;
    const listening = new Promise<void>((resolve, reject) => {
      const failed = (e: Error) => reject(new Error(`the fault proxy cannot listen on 127.0.0.1:${this.port}: ${e.message}`));
      server.once('error', failed);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', failed);
        resolve();
      });
    });
    return within(WAIT_MS, `the fault proxy to listen on 127.0.0.1:${this.port}`, listening);
  }

  async stop(): Promise<void> {
    for (const u of this.upstreams) u.destroy();
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await within(WAIT_MS, 'the fault proxy to close', new Promise<void>((r) => this.server.close(() => r())));
  }

  /** A kubeconfig for the proxy (the double's plain-HTTP one, pointed here). */
  kubeconfig(doubleKubeconfig: string, doubleUrl: string): string {
    return doubleKubeconfig.split(doubleUrl).join(this.url);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = req.url ?? '/';
    const rule = this.rules.find((r) => r.times > 0 && (!r.method || r.method === req.method) && r.path.test(path));
    if (rule) {
      rule.times--;
      this.seen.push({ method: req.method ?? '', path, fault: rule.status });
      req.resume();
      const body = rule.body ?? kubeStatus(rule.status, http.STATUS_CODES[rule.status]?.replace(/ /g, '') ?? 'Unknown', `injected ${rule.status}`);
      if (rule.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: body })}\n`);
      } else {
        res.writeHead(rule.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      }
      return;
    }
    this.seen.push({ method: req.method ?? '', path });
    const watch = /[?&]watch=(true|1)/.test(path);
    const up = http.request(`${this.target}${path}`, { method: req.method, headers: req.headers }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      if (watch) {
        this.openWatches++;
        ures.on('close', () => this.openWatches--);
      }
      ures.pipe(res);
    });
    this.upstreams.add(up);
    up.on('close', () => this.upstreams.delete(up));
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  }
}
