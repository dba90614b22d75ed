/**
 * The DHCP server's UDP endpoint. Node's dgram cannot bind a socket to one interface
 * (SO_BINDTODEVICE) nor tell which interface/destination a datagram arrived on (IP_PKTINFO), and
 * a DHCP server needs both: it must receive 255.255.255.255 broadcasts on the served link only
 * and send its broadcasts out of that link only, on hosts with several interfaces. The native
 * addon in native/udp_socket.cc opens such a socket and plugs its fd into libuv (uv_poll).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { packagePath } from '../../common/package-root.js';

export interface Datagram {
  data: Buffer;
  srcIp: string;
  srcPort: number;
  /** Destination address of the IP header (255.255.255.255 for broadcasts). */
  dstIp: string;
  /** The local port it arrived on (67, or 4011 in proxy mode). */
  localPort: number;
  /** How long it waited in the socket's receive queue, in ms (kernel receive timestamp); absent when unknown. */
  queuedMs?: number;
}

export interface Listener {
  readonly port: number;
  start(onDatagram: (d: Datagram) => void): void;
  /** Sends out of the served interface; false when the kernel refused (counted by the caller). */
  send(data: Buffer, ip: string, port: number): boolean;
  /**
   * Optional batching: `queue` copies a reply into the socket's send queue (false when it cannot:
   * the queue is full or the address bad; send it with `send`), `flush` sends every queued reply
   * in one system call and calls `result` for each, in the order they were queued.
   */
  queue?(data: Buffer, ip: string, port: number): boolean;
  flush?(result: (sent: boolean) => void): void;
  close(): Promise<void>;
}

interface NativeSocket {
  readonly ifindex: number;
  readonly port: number;
  /**
   * The callback gets datagrams in batches: `count` of them, their bytes one after the other in
   * `data`, the i-th described by meta[6i ..]: offset, length, source address (32-bit number),
   * source port, destination address, queuedMs (-1: unknown). `meta` is rewritten by each batch.
   */
  start(cb: (data: Buffer, count: number) => void, meta: Float64Array): void;
  send(data: Buffer, ip: string, port: number, srcIp?: string): number;
  /** Copies a datagram into the send queue: how many are queued, or -errno (-ENOBUFS: full). */
  queue(data: Buffer, ip: string, port: number, srcIp?: string): number;
  /** Sends the queue with sendmmsg; results[i] is 0 or -errno for the i-th queued. Returns their count. */
  flush(results: Int32Array): number;
  close(): void;
}

interface NativeModule {
  /** The lease journal's write + fdatasync as one thread-pool job: callback(errno or 0, bytes written). */
  appendDurably?(fd: number, data: Buffer, sync: boolean, cb: (errno: number, written: number) => void): void;
  UdpSocket: new (opts: { interface: string; port: number; address?: string; rcvbuf?: number; reuseaddr?: boolean }) => NativeSocket;
}

let loaded: NativeModule | Error | undefined;

/** The compiled addon (build/Release/hearth_udp.node in hearth's package), or why not. */
export function loadNative(): NativeModule | Error {
  // (also used by the lease journal: leases/journal-file.ts)
  if (loaded) return loaded;
  const file = packagePath('build', 'Release', 'hearth_udp.node');
  if (!existsSync(file)) {
    loaded = new Error('the native socket addon is not built (run `npm rebuild` or `npx node-gyp rebuild` in the hearth directory; needs python3, make and g++)');
    return loaded;
  }
  try {
    loaded = createRequire(import.meta.url)(file) as NativeModule;
  } catch (err) {
    loaded = new Error(`cannot load ${file}: ${(err as Error).message}`);
  }
  return loaded;
}

/** Datagrams per batch at most (the addon's kBatch) and numbers describing each (its kMeta). */
const BATCH = 64;
const META = 6;

/**
 * Dotted-quad text of an IPv4 address given as a 32-bit number, made again only when it changes:
 * under load nearly every datagram has the same source (the relay, or 0.0.0.0) and destination
 * (255.255.255.255 or ours), so this spares a string per datagram.
 */
export class AddressText {
  private last = -1;
  private text = '';
  of(address: number): string {
    if (address !== this.last) {
      this.last = address;
      this.text = `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
    }
    return this.text;
  }
}

export class NativeListener implements Listener {
  private readonly sock: NativeSocket;
  /** flush()'s per-datagram results (the native queue holds 64 at most). */
  private readonly results = new Int32Array(64);
  readonly port: number;

  constructor(readonly iface: string, port: number, private readonly srcIp: string, reuseAddress = false) {
    const mod = loadNative();
    if (mod instanceof Error) throw mod;
    this.sock = new mod.UdpSocket({ interface: iface, port, rcvbuf: 4 << 20, reuseaddr: reuseAddress });
    this.port = this.sock.port;
  }

  start(onDatagram: (d: Datagram) => void): void {
    const localPort = this.port;
    const meta = new Float64Array(BATCH * META);
    const src = new AddressText();
    const dst = new AddressText();
    this.sock.start((data, count) => {
      for (let i = 0; i < count; i++) {
        const m = i * META;
        const queued = meta[m + 5]!;
        onDatagram({
          data: data.subarray(meta[m]!, meta[m]! + meta[m + 1]!),
          srcIp: src.of(meta[m + 2]!),
          srcPort: meta[m + 3]!,
          dstIp: dst.of(meta[m + 4]!),
          localPort,
          queuedMs: queued >= 0 ? queued : undefined,
        });
      }
    }, meta);
  }

  send(data: Buffer, ip: string, port: number): boolean {
    return this.sock.send(data, ip, port, this.srcIp) === 0;
  }

  queue(data: Buffer, ip: string, port: number): boolean {
    return this.sock.queue(data, ip, port, this.srcIp) > 0;
  }

  flush(result: (sent: boolean) => void): void {
    const n = this.sock.flush(this.results);
    for (let i = 0; i < n; i++) result(this.results[i] === 0);
  }

  async close(): Promise<void> {
    this.sock.close();
  }
}
