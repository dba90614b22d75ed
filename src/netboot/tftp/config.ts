/**
 * The TFTP server's configuration: the options a caller gives, and the complete, read-only
 * config (defaults filled in) the server loop and its transfers are built from.
 */
import type { BootEvents } from '../events.js';
import { noEvents } from '../events.js';
import type { NetbootMetrics } from '../metrics.js';
import type { NegotiationLimits } from './request.js';

export interface TftpServerOptions {
  /** Address to bind (the server's address on the boot interface). */
  address: string;
  /** UDP port for requests (69; tests use a high one; 0 picks a free one). */
  port: number;
  /** Directory served for every name not in `files`. */
  root: string;
  /** Extra names mapped to files outside root (the iPXE binaries by name). */
  files?: Record<string, string>;
  metrics: NetbootMetrics;
  events?: BootEvents;
  /** Client IP -> MAC (from the DHCP leases), for progress events. */
  macForIp?(ip: string): string | undefined;
  /** Retransmission timeout when the client asks for none, ms (default 1000). */
  timeoutMs?: number;
  /** Retransmissions before a transfer is abandoned (default 5). */
  retries?: number;
  /** Largest windowsize granted (default 64). */
  maxWindow?: number;
  /** Largest blksize granted (default 65464, the RFC maximum). */
  maxBlksize?: number;
  /** Concurrent transfers in total (default 2048); see slots.ts for what happens when full. */
  maxTransfers?: number;
  /** Concurrent transfers one client address may hold (default 8). */
  maxPerClient?: number;
  /**
   * Longest a transfer waits for an ACK that moves it on, ms, whatever timeout × retries the
   * client negotiated (default 30000); then it ends as timed out.
   */
  maxStallMs?: number;
  /** A full table hands the slot of a client silent this long (ms, default 2000) to a newcomer. */
  evictIdleMs?: number;
  /** Where limit notices go (default: stderr, prefixed `hearth: `); at most one per kind per `noticeIntervalMs`. */
  log?(line: string): void;
  /** Least time between two notices of the same limit, ms (default 60000). */
  noticeIntervalMs?: number;
  /**
   * Bytes of served files kept in memory (default 256 MiB; 0: read every transfer from disk).
   * Larger files are read ahead per transfer instead. Entries follow the files' mtime and size.
   */
  cacheBytes?: number;
  /** Transfer sockets from the native addon when it is built (default true); false: node:dgram. */
  nativeSockets?: boolean;
}

export interface TftpConfig extends NegotiationLimits {
  readonly address: string;
  readonly port: number;
  readonly root: string;
  readonly files: Readonly<Record<string, string>>;
  readonly metrics: NetbootMetrics;
  readonly events: BootEvents;
  macForIp(ip: string): string | undefined;
  readonly retries: number;
  readonly maxTransfers: number;
  readonly maxPerClient: number;
  readonly maxStallMs: number;
  readonly evictIdleMs: number;
  log(line: string): void;
  readonly noticeIntervalMs: number;
  readonly cacheBytes: number | undefined;
  readonly nativeSockets: boolean;
}

export function tftpConfig(opts: TftpServerOptions): TftpConfig {
  const macForIp = opts.macForIp;
  return {
    address: opts.address,
    port: opts.port,
    root: opts.root,
    files: { ...opts.files },
    metrics: opts.metrics,
    events: opts.events ?? noEvents,
    macForIp: macForIp ? (ip) => macForIp(ip) : () => undefined,
    timeoutMs: opts.timeoutMs ?? 1000,
    retries: opts.retries ?? 5,
    maxWindow: opts.maxWindow ?? 64,
    maxBlksize: opts.maxBlksize ?? 65464,
    maxTransfers: opts.maxTransfers ?? 2048,
    maxPerClient: opts.maxPerClient ?? 8,
    maxStallMs: opts.maxStallMs ?? 30_000,
    evictIdleMs: opts.evictIdleMs ?? 2000,
    log: opts.log ?? ((line) => process.stderr.write(`hearth: ${line}\n`)),
    noticeIntervalMs: opts.noticeIntervalMs ?? 60_000,
    cacheBytes: opts.cacheBytes,
    nativeSockets: opts.nativeSockets ?? true,
  };
}
