/**
 * DHCPv4 for network boot: `full` (addresses + boot info) and `proxy` (boot info only, beside the
 * site's DHCP server, also on port 4011). Built from RFC 2131/2132 and RFC 4578.
 *
 * CONTRACT (used by src/netboot/server.ts): the options and handle below. The implementation lives
 * in this folder; keep these names and shapes.
 */
import { constants as osConstants } from 'node:os';
import { bindFailure } from '../../common/errors.js';
import type { BootEvents } from '../events.js';
import type { NetbootMetrics } from '../metrics.js';
import { FullHandler } from './full/handler.js';
import type { Handler } from './handler.js';
import type { Lease, LeaseStore } from './leases/lease.js';
import { JournalLeaseStore } from './leases/store.js';
import { ipToNum, macText, macBytes } from './options.js';
import { ProxyHandler } from './proxy/handler.js';
import { Server, type ServerLimits } from './server.js';
import { NativeListener, type Listener } from './transport.js';

export { BOOT_FILES, CHAIN_MARKER, chooseBoot, classify } from './boot.js';
export type { Lease, LeaseStore, LeaseChange, LeaseState } from './leases/lease.js';
export { MemoryLeaseStore } from './leases/lease.js';
export { JournalLeaseStore } from './leases/store.js';

export interface DhcpServerOptions {
  mode: 'full' | 'proxy';
  /** Serve on this interface only (SO_BINDTODEVICE); replies leave through it. */
  interface: string;
  /** The server's IPv4 address on that interface (siaddr, server identifier, next-server). */
  serverIp: string;
  /** Subnet mask of the served network, dotted (from the interface). */
  netmask: string;
  /** Dynamic pool FIRST-LAST (full mode). */
  range?: { first: string; last: string };
  router?: string;
  dns: string[];
  leaseTimeSec: number;
  /** Fixed addresses by MAC (full mode), from machines[]. */
  reservations: { mac: string; ip: string; hostname?: string }[];
  /** Where boot files come from. */
  boot: {
    /** http://SERVER:PORT — the HTTP server; iPXE gets `${httpBase}/boot.ipxe`, UEFI HTTP boot gets `${httpBase}/<efi binary>`. */
    httpBase: string;
    /** TFTP server address for next-server/siaddr (normally serverIp). */
    tftpServer: string;
    /** Always hand iPXE ROMs our own iPXE binary first (chainload), instead of the script directly. */
    chainload: boolean;
    /** Whether a machine gets boot info at all (profiles with boot: false, unknownMachines: ignore). */
    allowBoot?(mac: string): boolean;
  };
  /** Directory holding the lease database (crash-safe). */
  stateDir: string;
  /** Told about damage found in the lease files at start (default: a line on stderr). */
  onWarning?(message: string): void;
  events: BootEvents;
  metrics: NetbootMetrics;
  /** Server UDP port (default 67); tests may use another. Proxy mode also listens on 4011. */
  port?: number;
  /** Client UDP port replies go to (default 68). */
  clientPort?: number;
  /** Proxy mode's PXE boot-server port (default 4011). */
  bootServerPort?: number;
  /** Lease persistence (default: a JournalLeaseStore in stateDir). */
  store?: LeaseStore;
  /** Listeners to serve on instead of native sockets bound to `interface` (tests, embedding). */
  listeners?: Listener[];
  /** SO_REUSEADDR on the sockets: share the port with other sockets that set it too (tests). Default false, so another DHCP server on the interface is an EADDRINUSE error. */
  reuseAddress?: boolean;
  /** Called with unexpected internal errors (the packet is dropped as `internal-error`). */
  onError?(err: unknown): void;
  /** Overload limits of the receive path (tests); defaults in server.ts. */
  limits?: ServerLimits;
}

export interface DhcpServer {
  /** Current bound, unexpired leases (full mode); empty in proxy mode. */
  leases(): Lease[];
  /** The MAC that holds an IP, so TFTP/HTTP requests can be tied to a machine. */
  macForIp(ip: string): string | undefined;
  close(): Promise<void>;
}

export async function startDhcp(opts: DhcpServerOptions): Promise<DhcpServer> {
  const serverIp = ipToNum(opts.serverIp);
  const tftpServer = ipToNum(opts.boot.tftpServer || opts.serverIp);
  const port = opts.port ?? 67;
  const clientPort = opts.clientPort ?? 68;
  const boot = { httpBase: opts.boot.httpBase, tftpServer: opts.boot.tftpServer || opts.serverIp, chainload: opts.boot.chainload, allowBoot: opts.boot.allowBoot };
  let handler: Handler;
  let store: LeaseStore | undefined;
  let leases: () => Lease[] = () => [];
  let macForIp: (ip: string) => string | undefined;
  if (opts.mode === 'full') {
    const reservations = new Map<string, { ip: number; hostname?: string }>();
    for (const r of opts.reservations) reservations.set(macText(macBytes(r.mac)), { ip: ipToNum(r.ip), hostname: r.hostname });
    store = opts.store ?? new JournalLeaseStore(opts.stateDir, opts.onWarning ? { warn: opts.onWarning } : {});
    const state = await store.load();
    const full = new FullHandler(
      {
        serverIp,
        netmask: ipToNum(opts.netmask),
        range: opts.range ? { first: ipToNum(opts.range.first), last: ipToNum(opts.range.last) } : undefined,
        router: opts.router ? ipToNum(opts.router) : undefined,
        dns: opts.dns.map(ipToNum),
        leaseTimeSec: opts.leaseTimeSec,
        reservations,
        boot,
        tftpServer,
        clientPort,
        serverPort: port,
      },
      store,
      opts.events,
      (n) => opts.metrics.dhcpLeases.set(n),
    );
    full.restore(state);
    handler = full;
    leases = () => full.leases();
    macForIp = (ip) => full.macForIp(ip);
  } else {
    const proxy = new ProxyHandler({ serverIp, netmask: ipToNum(opts.netmask), boot, tftpServer, clientPort, serverPort: port }, opts.events);
    handler = proxy;
    macForIp = (ip) => proxy.macForIp(ip);
  }
  let listeners: Listener[];
  try {
    listeners = opts.listeners ?? [new NativeListener(opts.interface, port, opts.serverIp, opts.reuseAddress)];
    if (!opts.listeners && opts.mode === 'proxy') listeners.push(new NativeListener(opts.interface, opts.bootServerPort ?? 4011, opts.serverIp, opts.reuseAddress));
  } catch (err) {
    await store?.close();
    // Keep the errno name (EADDRINUSE, ENODEV, EPERM ...) so callers can explain it.
    const errno = (err as { errno?: number }).errno;
    const code = errno ? Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] : undefined;
    throw bindFailure(Object.assign(new Error(`DHCP on ${opts.interface}: ${(err as Error).message}`), code ? { code } : {}), 'DHCP', `${opts.interface} (UDP ${port})`);
  }
  const server = new Server(listeners, handler, opts.metrics, opts.onError, opts.limits);
  server.start();
  let closed = false;
  return {
    leases,
    macForIp,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await store?.close();
    },
  };
}
