/**
 * DHCPv4 for network boot: `full` (addresses + boot info) and `proxy` (boot info only, beside the
 * site's DHCP server, also on port 4011). Built from RFC 2131/2132 and RFC 4578.
 *
 * CONTRACT (used by src/netboot/server.ts): the options and handle below. The implementation lives
 * in this folder; keep these names and shapes.
 */
import type { BootEvents } from '../events.js';
import type { NetbootMetrics } from '../metrics.js';

export interface DhcpLease {
  mac: string;
  ip: string;
  hostname?: string;
  /** Epoch ms when it expires. */
  expiresAt: number;
  /** Fixed address from machines[] rather than from the range. */
  fixed: boolean;
}

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
  events: BootEvents;
  metrics: NetbootMetrics;
  /** Server UDP port (default 67); tests may use another. Proxy mode also listens on 4011. */
  port?: number;
  /** Client UDP port replies go to (default 68). */
  clientPort?: number;
}

export interface DhcpServer {
  /** Current leases (full mode); empty in proxy mode. */
  leases(): DhcpLease[];
  /** The MAC that holds an IP, so TFTP/HTTP requests can be tied to a machine. */
  macForIp(ip: string): string | undefined;
  close(): Promise<void>;
}

export async function startDhcp(_opts: DhcpServerOptions): Promise<DhcpServer> {
  throw new Error('DHCP server not implemented yet');
}
