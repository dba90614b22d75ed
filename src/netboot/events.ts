/**
 * Boot progress events. Every protocol server (DHCP, TFTP, HTTP) reports what it did for which
 * machine through one BootEvents sink; the progress tracker turns them into per-machine timelines
 * (the live table, `hearth netboot machines`, /api/machines).
 */

export type BootEventKind =
  | 'dhcp-discover'
  | 'dhcp-offer'
  | 'dhcp-request'
  | 'dhcp-ack'
  | 'dhcp-nak'
  | 'dhcp-release'
  | 'dhcp-decline'
  | 'dhcp-inform'
  | 'tftp-start'
  | 'tftp-done'
  | 'tftp-error'
  | 'http-script'
  | 'http-asset-start'
  | 'http-asset-done'
  /** A download under way: `bytes` sent so far (at most one a second per download). */
  | 'http-asset-progress'
  /** A download that ended early: the client went away or stopped reading (send timeout). */
  | 'http-asset-abort'
  /** A Talos machine config served (GET /talos/config): mac, ip, file = the URL path, bytes; detail = machine name. */
  | 'talos-config'
  /** A Talos config request refused (403): ip = the requester, detail = why. */
  | 'talos-config-refused'
  /** An installed machine was served the local-boot script (boot from its disk). */
  | 'local-boot';

export interface BootEvent {
  kind: BootEventKind;
  /** Milliseconds since the epoch. */
  at: number;
  /** Lower-case colon MAC when the server knows it (DHCP always; TFTP/HTTP via the lease or URL). */
  mac?: string;
  /** The client's IP address (the leased one for DHCP offers and acks). */
  ip?: string;
  /** File name (TFTP), URL path (HTTP). */
  file?: string;
  /** Bytes transferred (done events). */
  bytes?: number;
  /** Transfer duration in ms (done events). */
  durationMs?: number;
  /** Client architecture from DHCP option 93 (`bios`, `efi-x64`, `efi-arm64`, `ipxe` ...). */
  arch?: string;
  uuid?: string;
  hostname?: string;
  /** Free text: the boot file offered, an error message. */
  detail?: string;
}

export interface BootEvents {
  emit(event: BootEvent): void;
}

/** A sink that drops everything (for servers run without progress tracking). */
export const noEvents: BootEvents = { emit: () => undefined };
