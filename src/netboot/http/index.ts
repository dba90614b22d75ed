/**
 * The HTTP side of network boot (node:http): /boot.ipxe, the per-machine iPXE script, the iPXE
 * binaries (UEFI HTTP boot), the assets (Range, HEAD, ETag; streamed from disk), /api/machines,
 * /metrics and /healthz.
 */
import { open, realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Spec } from '../../spec/index.js';
import type { BootEvents } from '../events.js';
import { noEvents } from '../events.js';
import type { NetbootMetrics } from '../metrics.js';
import type { MachineProgress } from '../progress/index.js';
import { IPXE_BINARIES, OPTIONAL_IPXE_BINARIES, normalizeMac, renderBootScript, renderMachineScript, resolveBoot } from '../render/index.js';

export interface HttpServerOptions {
  address: string;
  port: number;
  spec: Spec;
  /** Directory with the assets (kernel, initrds). */
  assets: string;
  /** Directory with undionly.kpxe, ipxe.efi, snponly.efi. */
  ipxe: string;
  metrics: NetbootMetrics;
  events?: BootEvents;
  /** Base URL put into scripts; default: http://<Host header>. */
  httpBase?: string;
  macForIp?(ip: string): string | undefined;
  machines?(): MachineProgress[];
}

export interface HttpServer {
  port: number;
  address: string;
  url: string;
  close(): Promise<void>;
}

/** Bytes per read from disk and write to the socket. */
const CHUNK = 256 * 1024;
/** Free chunk buffers, reused across responses so downloads allocate (almost) nothing. */
const pool: Buffer[] = [];
const POOL_MAX = 64;
const take = () => pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const give = (b: Buffer) => {
  if (pool.length < POOL_MAX) pool.push(b);
};

/**
 * Copies bytes [start, end] of a file to the response with two reused buffers: the next chunk is
 * read while the previous one is being written, and a buffer is reused only after the socket has
 * taken it (the write callback). Memory per download: 2 x CHUNK, whatever the file size.
 */
async function streamFile(file: string, res: http.ServerResponse, start: number, end: number, onBytes: (n: number) => void): Promise<void> {
  const fh = await open(file, 'r');
  const bufs = [take(), take()];
  const pending: (Promise<void> | undefined)[] = [undefined, undefined];
  let clean = false;
  try {
    let pos = start;
    for (let i = 0; pos <= end; i ^= 1) {
      await pending[i]; // the buffer we are about to fill has been handed to the kernel
      if (res.destroyed) throw new Error('client went away');
      const buf = bufs[i]!;
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error('file shrank while being sent');
      pos += bytesRead;
      const chunk = bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead);
      pending[i] = new Promise<void>((resolve, reject) => res.write(chunk, (err) => (err ? reject(err) : (onBytes(bytesRead), resolve()))));
      pending[i]!.catch(() => undefined);
    }
    await Promise.all(pending);
    await new Promise<void>((resolve) => res.end(resolve));
    clean = true;
  } finally {
    await fh.close().catch(() => undefined);
    // Only recycle buffers the socket has certainly released; after an error leave them to the GC.
    if (clean) bufs.forEach(give);
  }
}

function clientIp(req: http.IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Parses one `bytes=` range against a size. undefined: ignore (serve all); 'bad': 416. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'bad' | undefined {
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m) return undefined; // several ranges or another unit: RFC 9110 allows ignoring Range
  const [, a, b] = m;
  if (a === '' && b === '') return 'bad';
  let start: number;
  let end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) return 'bad';
  }
  if (start >= size) return 'bad';
  return { start, end };
}

export async function startHttp(opts: HttpServerOptions): Promise<HttpServer> {
  const metrics = opts.metrics;
  const events = opts.events ?? noEvents;
  const assetsReal = await realpath(opts.assets).catch(() => path.resolve(opts.assets));
  const ipxeReal = await realpath(opts.ipxe).catch(() => path.resolve(opts.ipxe));

  const base = (req: http.IncomingMessage) => {
    if (opts.httpBase) return opts.httpBase;
    const host = req.headers.host;
    return host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? `http://${host}` : `http://${opts.address}:${server.address() ? (server.address() as AddressInfo).port : opts.port}`;
  };

  /** The file behind a request path inside a jail, or undefined (404). */
  async function jailed(root: string, rel: string): Promise<string | undefined> {
    const segs = rel.split('/');
    if (segs.some((s) => s === '..' || s.includes('\0') || s.includes('\\'))) return undefined;
    try {
      const real = await realpath(path.join(root, ...segs.filter((s) => s !== '' && s !== '.')));
      return real.startsWith(root + path.sep) ? real : undefined;
    } catch {
      return undefined;
    }
  }

  /** What an asset is for the machine fetching it: its kernel, one of its initrds, or another file. */
  function assetKind(mac: string | undefined, file: string): string {
    const plan = resolveBoot(opts.spec, { mac });
    if (file === plan.kernel) return 'kernel';
    if (plan.initrd.includes(file)) return 'initrd';
    return 'asset';
  }

  async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, name: string, kind: string): Promise<number> {
    const st = await stat(file);
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}-${st.ino.toString(16)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', st.mtime.toUTCString());
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-cache');
    const inm = req.headers['if-none-match'];
    if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) {
      res.writeHead(304);
      res.end();
      return 304;
    }
    let start = 0;
    let end = st.size - 1;
    let status = 200;
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (range && (!ifRange || ifRange === etag)) {
      const r = parseRange(range, st.size);
      if (r === 'bad') {
        res.writeHead(416, { 'Content-Range': `bytes */${st.size}` });
        res.end();
        return 416;
      }
      if (r) {
        ({ start, end } = r);
        status = 206;
        res.setHeader('Content-Range', `bytes ${start}-${end}/${st.size}`);
      }
    }
    const length = st.size === 0 ? 0 : end - start + 1;
    res.setHeader('Content-Length', length);
    res.writeHead(status);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return status;
    }
    const ip = clientIp(req);
    const mac = opts.macForIp?.(ip);
    const began = Date.now();
    events.emit({ kind: 'http-asset-start', at: began, ip, mac, file: name, bytes: length, detail: kind });
    let sent = 0;
    try {
      await streamFile(file, res, start, end, (n) => (sent += n));
      metrics.httpBytes.inc(sent);
      const now = Date.now();
      events.emit({ kind: 'http-asset-done', at: now, ip, mac: mac ?? opts.macForIp?.(ip), file: name, bytes: sent, durationMs: now - began, detail: kind });
    } catch {
      metrics.httpBytes.inc(sent);
      res.destroy();
    }
    return status;
  }

  function text(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): number {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(res.req.method === 'HEAD' ? undefined : body);
    return status;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<[string, number]> {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return ['other', text(res, 405, 'method not allowed\n')];
    }
    if (p === '/healthz') return ['healthz', text(res, 200, 'ok\n')];
    if (p === '/metrics') return ['metrics', text(res, 200, await metrics.registry.metrics(), metrics.registry.contentType)];
    if (p === '/api/machines') {
      return ['api', text(res, 200, `${JSON.stringify({ machines: opts.machines?.() ?? [] }, null, 2)}\n`, 'application/json')];
    }
    const ip = clientIp(req);
    if (p === '/boot.ipxe') {
      return ['boot.ipxe', text(res, 200, renderBootScript(base(req)))];
    }
    if (p === '/ipxe') {
      const rawMac = url.searchParams.get('mac') || undefined;
      // Only a well-formed MAC from the URL counts; otherwise the lease behind the client's address.
      const fromUrl = rawMac && /^[0-9a-f]{12}$/i.test(rawMac.replace(/[:-]/g, '')) ? normalizeMac(rawMac) : undefined;
      const mac = fromUrl ?? opts.macForIp?.(ip);
      const uuid = url.searchParams.get('uuid') || undefined;
      const arch = url.searchParams.get('buildarch') || undefined;
      const platform = url.searchParams.get('platform') || undefined;
      const plan = resolveBoot(opts.spec, { mac, uuid });
      events.emit({
        kind: 'http-script',
        at: Date.now(),
        ip,
        mac,
        uuid,
        arch: arch ? `${platform ?? 'ipxe'}-${arch}` : undefined,
        file: p,
        detail: `profile ${plan.profile}${plan.boot ? '' : ' (no boot)'}`,
      });
      return ['script', text(res, 200, renderMachineScript(plan, base(req)))];
    }
    const name = decodeURIComponent(p.slice(1));
    if ((IPXE_BINARIES as readonly string[]).includes(name) || (OPTIONAL_IPXE_BINARIES as readonly string[]).includes(name)) {
      const file = await jailed(ipxeReal, name);
      if (!file) return ['ipxe', text(res, 404, `${name} not found\n`)];
      return ['ipxe', await sendFile(req, res, file, name, 'bootfile')];
    }
    if (p.startsWith('/assets/')) {
      let rel: string;
      try {
        rel = p.slice('/assets/'.length).split('/').map(decodeURIComponent).join('/');
      } catch {
        return ['asset', text(res, 400, 'bad path\n')];
      }
      const file = await jailed(assetsReal, rel);
      const st = file ? await stat(file).catch(() => undefined) : undefined;
      if (!file || !st?.isFile()) return ['asset', text(res, 404, 'not found\n')];
      return ['asset', await sendFile(req, res, file, rel, assetKind(opts.macForIp?.(ip), rel))];
    }
    return ['other', text(res, 404, 'not found\n')];
  }

  const server = http.createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
    const began = process.hrtime.bigint();
    handle(req, res).then(
      ([route, status]) => {
        metrics.httpRequests.inc({ route, status: String(status) });
        metrics.httpDuration.observe({ route }, Number(process.hrtime.bigint() - began) / 1e9);
      },
      () => {
        metrics.httpRequests.inc({ route: 'error', status: '500' });
        if (!res.headersSent) text(res, 500, 'internal error\n');
        else res.destroy();
      },
    );
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
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
