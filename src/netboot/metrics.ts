import { Counter, Gauge, Histogram, Registry } from './prom.js';

/**
 * One Prometheus registry per netboot server (not the global one), so tests and several
 * servers in one process never share counters. Served at /metrics.
 */
export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    dhcpReceived: new Counter({ name: 'hearth_dhcp_packets_received_total', help: 'DHCP packets received, by message type', labelNames: ['type'], registers }),
    dhcpSent: new Counter({ name: 'hearth_dhcp_packets_sent_total', help: 'DHCP packets sent, by message type', labelNames: ['type'], registers }),
    dhcpDropped: new Counter({ name: 'hearth_dhcp_packets_dropped_total', help: 'DHCP packets dropped, by reason', labelNames: ['reason'], registers }),
    dhcpLeases: new Gauge({ name: 'hearth_dhcp_leases', help: 'Active DHCP leases', registers }),
    tftpTransfers: new Counter({ name: 'hearth_tftp_transfers_total', help: 'TFTP transfers, by result', labelNames: ['result'], registers }),
    tftpBytes: new Counter({ name: 'hearth_tftp_bytes_sent_total', help: 'TFTP payload bytes sent', registers }),
    tftpDropped: new Counter({ name: 'hearth_tftp_packets_dropped_total', help: 'TFTP packets dropped, by reason', labelNames: ['reason'], registers }),
    tftpActive: new Gauge({ name: 'hearth_tftp_active_transfers', help: 'TFTP transfers in progress', registers }),
    tftpLimited: new Counter({ name: 'hearth_tftp_limited_total', help: 'TFTP limits that bit, by limit (client-limit, busy, evicted, stalled)', labelNames: ['limit'], registers }),
    tftpReadBuffer: new Gauge({ name: 'hearth_tftp_read_buffer_bytes', help: 'Bytes read ahead from disk and held by TFTP transfers of files too large for the cache', registers }),
    httpRequests: new Counter({ name: 'hearth_http_requests_total', help: 'HTTP requests, by route and status', labelNames: ['route', 'status'], registers }),
    httpBytes: new Counter({ name: 'hearth_http_bytes_sent_total', help: 'HTTP body bytes sent', registers }),
    httpConnections: new Gauge({ name: 'hearth_http_connections', help: 'HTTP connections open', registers }),
    httpTransfers: new Gauge({ name: 'hearth_http_active_transfers', help: 'HTTP file bodies being sent', registers }),
    httpRefused: new Counter({ name: 'hearth_http_connections_refused_total', help: 'HTTP connections refused, by the limit that refused them', labelNames: ['reason'], registers }),
    httpClientErrors: new Counter({
      name: 'hearth_http_client_errors_total',
      help: 'HTTP connections closed for the client: malformed requests, timeouts, aborted downloads',
      labelNames: ['reason'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'hearth_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['route'],
      buckets: [0.001, 0.01, 0.1, 1, 10, 60],
      registers,
    }),
  };
}

export type NetbootMetrics = ReturnType<typeof createMetrics>;

/** The part of a Counter (prom.ts) with one label that `labelCounters` needs. */
export interface LabelledCounter {
  labels(value: string): { inc(n?: number): void };
}

/**
 * `inc(label)` for a counter with one label, each label's child looked up once and reused, so the
 * per-packet paths do no label lookup. The labels are the servers' own fixed reasons and types,
 * so the set stays small.
 */
export function labelCounters(counter: LabelledCounter): (label: string, n?: number) => void {
  const children = new Map<string, { inc(n?: number): void }>();
  return (label, n = 1) => {
    let c = children.get(label);
    if (!c) children.set(label, (c = counter.labels(label)));
    c.inc(n);
  };
}
