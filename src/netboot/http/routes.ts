/**
 * One small handler per route, each a function from request to response (exchange.ts), built
 * from the server's config at construction:
 *
 *   /healthz         ok
 *   /metrics         Prometheus text of this server's registry
 *   /api/machines    the machines seen and their boot progress (JSON, in pages: ?limit=&after=)
 *   /boot.ipxe       the first iPXE script, chaining to /ipxe with the client's identity
 *   /ipxe?mac=...    the machine's script (resolveBoot), or `exit 1` when it must not boot
 *   /<iPXE binary>   undionly.kpxe, ipxe.efi ... (UEFI HTTP boot)
 *   /assets/<file>   kernel, initrds and other assets (Range, HEAD, ETag)
 *   /talos/config    a machine's Talos config when the server has one (talos-config.ts), else 404
 *   /, /dashboard.*  the web dashboard (dashboard.ts); /api/events its event stream (sse.ts)
 *
 * Once booting stops (`hearth up` after every machine is installed) only the dashboard's routes,
 * /api/machines, /healthz and /metrics answer (dashboardOnly).
 */
import type { Jail } from '../jail.js';
import { IPXE_BINARIES, OPTIONAL_IPXE_BINARIES, TALOS_CONFIG_PATH, normalizeMac, renderBootScript, renderMachineScript } from '../render/index.js';
import type { HttpConfig } from './config.js';
import { text, type HttpRequest, type HttpResponse } from './exchange.js';
import { FileInfoCache, type FileInfo } from './filecache.js';
import { dashboardRoutes } from './dashboard.js';
import { fileResponse } from './files.js';
import { eventsRoute } from './sse.js';

export type Handler = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;

/** A handler and its name in the request metrics. */
export interface Route {
  name: string;
  handle: Handler;
}

export const healthz: Handler = () => text(200, 'ok\n');

export const bootScript: Handler = (req) => text(200, renderBootScript(req.base));

export function metricsRoute(cfg: Pick<HttpConfig, 'metrics'>): Handler {
  const registry = cfg.metrics.registry;
  return async () => text(200, await registry.metrics(), registry.contentType);
}

/** Machines per /api/machines page unless `limit` asks for fewer or more (up to MACHINES_MAX_LIMIT). */
export const MACHINES_LIMIT = 100;
export const MACHINES_MAX_LIMIT = 1000;

/**
 * One page of the machines, ordered by MAC: `?limit=N` (1..1000, default 100) of them after the
 * MAC `?after=`; `next` is the cursor for the following page, absent on the last. The size of an
 * answer is bounded whatever the number of machines tracked.
 */
export function machinesRoute(cfg: Pick<HttpConfig, 'machines'>): Handler {
  return (req) => {
    const rawLimit = req.query.get('limit');
    const limit = rawLimit === null ? MACHINES_LIMIT : /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= MACHINES_MAX_LIMIT)) return text(400, `limit must be a whole number from 1 to ${MACHINES_MAX_LIMIT}\n`);
    const after = req.query.get('after') ?? '';
    const all = cfg.machines().filter((m) => m.mac > after).sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
    const page = all.slice(0, limit);
    const next = all.length > limit ? page[page.length - 1]!.mac : undefined;
    return text(200, `${JSON.stringify({ machines: page, ...(next ? { next } : {}) }, null, 2)}\n`, 'application/json');
  };
}

/** The machine's iPXE script. Only a well-formed MAC in the URL counts; else the lease behind the client's address. */
export function machineScript(cfg: Pick<HttpConfig, 'resolveBoot' | 'macForIp' | 'events'>): Handler {
  return (req) => {
    const q = req.query;
    const rawMac = q.get('mac') || undefined;
    const fromUrl = rawMac && /^[0-9a-f]{12}$/i.test(rawMac.replace(/[:-]/g, '')) ? normalizeMac(rawMac) : undefined;
    const mac = fromUrl ?? cfg.macForIp(req.ip);
    const uuid = q.get('uuid') || undefined;
    const arch = q.get('buildarch') || undefined;
    const platform = q.get('platform') || undefined;
    const plan = cfg.resolveBoot({ mac, uuid });
    cfg.events.emit({
      kind: plan.boot && plan.localBoot ? 'local-boot' : 'http-script',
      at: Date.now(),
      ip: req.ip,
      mac,
      uuid,
      arch: arch ? `${platform ?? 'ipxe'}-${arch}` : undefined,
      file: req.path,
      detail: `profile ${plan.profile}${plan.boot ? '' : ' (no boot)'}`,
    });
    return text(200, renderMachineScript(plan, req.base));
  };
}

/** Where handlers find files: a jail, or its cache (filecache.ts). */
type Files = Pick<Jail, 'resolve'> | FileInfoCache;

/** The response for a file found by `Files` (with its cached validators when it has them). */
const foundFile = (req: HttpRequest, f: FileInfo | { file: string; st: FileInfo['st'] }, name: string, kind: string) =>
  fileResponse(req, f.file, f.st, name, kind, 'etag' in f ? f : undefined);

/** An iPXE binary from the ipxe directory; `name` is the decoded path without its leading slash. */
export function ipxeBinary(jail: Files, name: string): Handler {
  return async (req) => {
    const found = await jail.resolve(name);
    if ('refused' in found) return text(404, `${name} not found\n`);
    return foundFile(req, found, name, 'bootfile');
  };
}

/** A file under the assets directory; `rel` is the decoded path after /assets/. */
export function asset(jail: Files, cfg: Pick<HttpConfig, 'resolveBoot' | 'macForIp'>, rel: string): Handler {
  return async (req) => {
    const found = await jail.resolve(rel);
    if ('refused' in found) return text(404, 'not found\n');
    // What the file is for the machine fetching it: its kernel, one of its initrds, or another file.
    const plan = cfg.resolveBoot({ mac: cfg.macForIp(req.ip) });
    const kind = rel === plan.kernel ? 'kernel' : plan.initrd.includes(rel) ? 'initrd' : 'asset';
    return foundFile(req, found, rel, kind);
  };
}

const IPXE_NAMES: ReadonlySet<string> = new Set([...IPXE_BINARIES, ...OPTIONAL_IPXE_BINARIES]);
const ASSETS = '/assets/';

/** A path's percent-encoding decoded, or undefined when it is malformed. */
function decodePath(p: string): string | undefined {
  try {
    return decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

/** The router: which handler answers a method and (still encoded) path. */
export function createRouter(cfg: HttpConfig, jails: { assets: Jail; ipxe: Jail }): (method: string, path: string) => Route {
  const fixed = new Map<string, Route>([
    ['/healthz', { name: 'healthz', handle: healthz }],
    ['/metrics', { name: 'metrics', handle: metricsRoute(cfg) }],
    ['/api/machines', { name: 'api', handle: machinesRoute(cfg) }],
    ['/boot.ipxe', { name: 'boot.ipxe', handle: bootScript }],
    ['/ipxe', { name: 'script', handle: machineScript(cfg) }],
    ['/api/events', { name: 'events', handle: eventsRoute(cfg.bus, cfg.sse) }],
  ]);
  if (cfg.talosConfig) fixed.set(TALOS_CONFIG_PATH, { name: 'talos-config', handle: cfg.talosConfig });
  for (const [p, handle] of dashboardRoutes()) fixed.set(p, { name: 'dashboard', handle });
  const notAllowed: Route = { name: 'other', handle: () => text(405, 'method not allowed\n', undefined, { Allow: 'GET, HEAD' }) };
  const notFound: Route = { name: 'other', handle: () => text(404, 'not found\n') };
  const badPath = (name: string): Route => ({ name, handle: () => text(400, 'bad path\n') });
  const files = { assets: new FileInfoCache(jails.assets), ipxe: new FileInfoCache(jails.ipxe) };
  return (method, p) => {
    if (method !== 'GET' && method !== 'HEAD') return notAllowed;
    const hit = fixed.get(p);
    if (hit) return hit;
    if (p.startsWith(ASSETS)) {
      const rel = decodePath(p.slice(ASSETS.length));
      return rel === undefined ? badPath('asset') : { name: 'asset', handle: asset(files.assets, cfg, rel) };
    }
    const name = decodePath(p.slice(1));
    if (name === undefined) return badPath('other');
    if (IPXE_NAMES.has(name)) return { name: 'ipxe', handle: ipxeBinary(files.ipxe, name) };
    return notFound;
  };
}

/** The routes that outlive booting: the dashboard, its stream, /api/machines, /healthz, /metrics. */
const DASHBOARD_ROUTE_NAMES: ReadonlySet<string> = new Set(['dashboard', 'events', 'api', 'healthz', 'metrics']);

/** The router with booting stopped: boot scripts, assets, iPXE binaries and configs answer 404. */
export function dashboardOnly(router: (method: string, path: string) => Route): (method: string, path: string) => Route {
  const stopped: Route = { name: 'stopped', handle: () => text(404, 'netboot has stopped serving boots; only the dashboard is served\n') };
  return (method, p) => {
    const r = router(method, p);
    return DASHBOARD_ROUTE_NAMES.has(r.name) || r.name === 'other' ? r : stopped;
  };
}
