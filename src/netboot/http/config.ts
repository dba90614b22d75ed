/**
 * The HTTP server's options (its ports to the rest of hearth), and the complete config the
 * server and its route handlers are built from.
 */
import type { BootEvents } from '../events.js';
import { noEvents } from '../events.js';
import type { NetbootMetrics } from '../metrics.js';
import type { MachineProgress } from '../progress/index.js';
import type { BootPlan, ClientIdentity } from '../render/index.js';

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
}

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
  };
}
