/**
 * The HTTP server's options (its ports to the rest of hearth), and the complete config the
 * server and its route handlers are built from.
 */
import type { RunEventBus } from '../../pipeline/events.js';
import type { BootEvents } from '../events.js';
import { noEvents } from '../events.js';
import type { NetbootMetrics } from '../metrics.js';
import type { MachineProgress } from '../progress/index.js';
import type { BootPlan, ClientIdentity } from '../render/index.js';
import type { HttpRequest, HttpResponse } from './exchange.js';
import { SSE_DEFAULTS, type SseOptions } from './sse.js';

export interface HttpServerOptions {
  address: string;
  port: number;
  /** What a client boots: the profile, kernel, initrds and arguments for its MAC/UUID/hostname. */
  resolveBoot(client: ClientIdentity): BootPlan;
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
  /** Connection limits, timeouts and the log line when a limit bites (defaults: HTTP_LIMITS). */
  limits?: Partial<HttpLimits>;
  /** Where operational lines go (a limit refusing connections); default stderr. */
  log?(line: string): void;
  /** GET /talos/config (http/talos-config.ts); absent: that path is 404. */
  talosConfig?(req: HttpRequest): HttpResponse;
  /** The run's events, streamed to the dashboard at /api/events (404 without). */
  bus?: RunEventBus;
  /** The event stream's heartbeat and bounds (defaults: SSE_DEFAULTS). */
  sse?: Partial<SseOptions>;
}

/** What one client, and all of them, may hold of the server. */
export interface HttpLimits {
  /** A response whose socket takes no bytes for this long is closed (nginx `send_timeout`). */
  sendTimeoutMs: number;
  /** A request whose headers are not complete after this long gets 408 (Node `headersTimeout`). */
  headersTimeoutMs: number;
  /** A request not received whole after this long gets 408 (Node `requestTimeout`, >= headers). */
  requestTimeoutMs: number;
  /** How often Node checks the two above (`connectionsCheckingInterval`). */
  checkIntervalMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveMs: number;
  /** Open connections from one client address; more are refused. */
  perAddress: number;
  /** Open connections in all; more are refused. */
  total: number;
  /** At most one "refused" log line per address (and one for the total) per this interval. */
  logIntervalMs: number;
}

/**
 * Defaults: 60 s send timeout as nginx; 10 s for the request headers (a PXE client sends them in
 * one packet); 64 connections per address (a boot needs 3 or 4, iPXE and UEFI open one per file;
 * room for a NAT or a relay), 1024 in all (nginx's worker_connections default; every connection
 * costs a socket, at most one chunk window and one file descriptor).
 */
export const HTTP_LIMITS: HttpLimits = {
  sendTimeoutMs: 60_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  checkIntervalMs: 1_000,
  keepAliveMs: 10_000,
  perAddress: 64,
  total: 1024,
  logIntervalMs: 60_000,
};

export interface HttpConfig {
  readonly address: string;
  readonly port: number;
  resolveBoot(client: ClientIdentity): BootPlan;
  readonly assets: string;
  readonly ipxe: string;
  readonly metrics: NetbootMetrics;
  readonly events: BootEvents;
  readonly httpBase: string | undefined;
  macForIp(ip: string): string | undefined;
  machines(): MachineProgress[];
  readonly limits: HttpLimits;
  log(line: string): void;
  readonly talosConfig?: (req: HttpRequest) => HttpResponse;
  readonly bus: RunEventBus | undefined;
  readonly sse: SseOptions;
}

export function httpConfig(opts: HttpServerOptions): HttpConfig {
  const { macForIp, machines, resolveBoot } = opts;
  return {
    address: opts.address,
    port: opts.port,
    resolveBoot: (client) => resolveBoot(client),
    assets: opts.assets,
    ipxe: opts.ipxe,
    metrics: opts.metrics,
    events: opts.events ?? noEvents,
    httpBase: opts.httpBase,
    macForIp: macForIp ? (ip) => macForIp(ip) : () => undefined,
    machines: machines ? () => machines() : () => [],
    limits: { ...HTTP_LIMITS, ...opts.limits },
    log: opts.log ?? ((line) => void process.stderr.write(`${line}\n`)),
    ...(opts.talosConfig ? { talosConfig: opts.talosConfig } : {}),
    bus: opts.bus,
    sse: { ...SSE_DEFAULTS, ...opts.sse },
  };
}
