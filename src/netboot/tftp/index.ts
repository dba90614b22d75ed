/**
 * A read-only TFTP server (RFC 1350 + RFC 2347/2348/2349/7440) for the iPXE binaries and the boot
 * assets. Each transfer gets its own socket on an ephemeral port; the main socket only takes
 * requests. Paths are jailed: requests naming `..`, absolute paths or symlinks that resolve outside
 * the root are refused. Malformed packets are counted in metrics and dropped, never thrown.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import type { Stats } from 'node:fs';
import { open, readFile, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import path from 'node:path';
import type { BootEvents } from '../events.js';
import { noEvents } from '../events.js';
import type { NetbootMetrics } from '../metrics.js';
import { FileCache } from './cache.js';
import { ERR, OP, dataHeader, errorPacket, oackPacket, parsePacket, toNetascii, type Request } from './packet.js';

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
  /** Concurrent transfers before new requests are refused (default 2048). */
  maxTransfers?: number;
  /**
   * Bytes of served files kept in memory (default 256 MiB; 0: read every transfer from disk).
   * Larger files are read ahead per transfer instead. Entries follow the files' mtime and size.
   */
  cacheBytes?: number;
}

export interface TftpServer {
  port: number;
  address: string;
  /** Transfers in progress. */
  active(): number;
  close(): Promise<void>;
}

/** Bytes read from the file at a time (per transfer, in octet mode). */
const READ_CHUNK = 256 * 1024;
/** netascii converts in memory; bigger files must use octet. */
const NETASCII_MAX = 16 * 1024 * 1024;
/** Largest set of reused DATA packets per transfer (window x (blksize + 4)); bigger ones send views. */
const RING_MAX = 128 * 1024;
/** A retransmission timer that fires this close to its deadline counts as expired. */
const TIMER_SLACK_MS = 5;

/**
 * dgram's lookup for our sockets: peers are always IPv4 literals (from recvmsg), so skip
 * dns.lookup (which validates and defers every send to the next tick) and answer synchronously.
 */
function literalLookup(address: string, options: dns.LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  if (isIPv4(address)) callback(null, address, 4);
  else dns.lookup(address, options, callback);
}

class Refusal extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export async function startTftp(opts: TftpServerOptions): Promise<TftpServer> {
  const metrics = opts.metrics;
  const events = opts.events ?? noEvents;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const retries = opts.retries ?? 5;
  const maxWindow = opts.maxWindow ?? 64;
  const maxBlksize = opts.maxBlksize ?? 65464;
  const maxTransfers = opts.maxTransfers ?? 2048;
  const rootReal = await realpath(opts.root).catch(() => path.resolve(opts.root));
  const files = new Map(Object.entries(opts.files ?? {}));
  const transfers = new Set<Transfer>();
  const fileCache = new FileCache({ maxBytes: opts.cacheBytes });
  let closing = false;

  // Counters bound to their labels once, not looked up per packet.
  const dropCounters = new Map<string, { inc(): void }>();
  const drop = (reason: string) => {
    let c = dropCounters.get(reason);
    if (!c) dropCounters.set(reason, (c = metrics.tftpDropped.labels(reason)));
    c.inc();
  };
  const duplicateAcks = metrics.tftpDropped.labels('duplicate-ack');
  const transfersStarted = metrics.tftpTransfers.labels('started');

  /** Maps a requested name to a real file inside the jail, or refuses. */
  async function resolveFile(name: string): Promise<{ real: string; st: Stats }> {
    const clean = name.replace(/\\/g, '/');
    if (clean.includes('\0')) throw new Refusal(ERR.ACCESS, 'access violation', 'bad-path');
    if (clean.startsWith('/')) throw new Refusal(ERR.ACCESS, 'absolute paths are not served', 'absolute-path');
    const segs = clean.split('/');
    if (segs.some((s) => s === '..')) throw new Refusal(ERR.ACCESS, 'access violation', 'traversal');
    const mapped = files.get(clean);
    let candidate: string;
    let jail: string;
    if (mapped) {
      candidate = mapped;
      jail = await realpath(path.dirname(mapped)).catch(() => path.dirname(mapped));
    } else {
      candidate = path.join(rootReal, ...segs.filter((s) => s !== '' && s !== '.'));
      jail = rootReal;
    }
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      throw new Refusal(ERR.NOT_FOUND, 'file not found', 'not-found');
    }
    if (real !== jail && !real.startsWith(jail + path.sep)) throw new Refusal(ERR.ACCESS, 'access violation', 'outside-root');
    const st = await stat(real).catch(() => undefined);
    if (!st) throw new Refusal(ERR.NOT_FOUND, 'file not found', 'not-found');
    if (!st.isFile()) throw new Refusal(ERR.NOT_FOUND, 'not a file', 'not-a-file');
    return { real, st };
  }

  const main = dgram.createSocket({ type: 'udp4', reuseAddr: false, lookup: literalLookup });
  main.on('error', () => undefined);
  main.on('message', (msg, rinfo) => {
    handleRequest(msg, rinfo).catch(() => drop('internal'));
  });
  await new Promise<void>((resolve, reject) => {
    main.once('error', reject);
    main.bind({ address: opts.address, port: opts.port, exclusive: true }, () => {
      main.off('error', reject);
      resolve();
    });
  });
  try {
    main.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    /* best effort */
  }

  async function handleRequest(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    if (closing) return;
    const p = parsePacket(msg);
    const reply = (code: number, text: string) => main.send(errorPacket(code, text), rinfo.port, rinfo.address);
    if (p.kind === 'invalid') return drop(p.reason);
    if (p.kind !== 'request') {
      // ACK/DATA/ERROR/OACK on the request port belong to no transfer.
      return drop(`stray-${p.kind}`);
    }
    const req = p.req;
    if (req.op === OP.WRQ) {
      reply(ERR.ACCESS, 'this server is read-only');
      return drop('write-refused');
    }
    if (req.mode !== 'octet' && req.mode !== 'netascii') {
      reply(ERR.ILLEGAL_OP, `transfer mode ${req.mode} is not supported`);
      return drop('bad-mode');
    }
    if (transfers.size >= maxTransfers) {
      reply(ERR.UNDEFINED, 'server busy, try again');
      return drop('busy');
    }
    let file: { real: string; st: Stats };
    try {
      file = await resolveFile(req.filename);
    } catch (e) {
      if (e instanceof Refusal) {
        reply(e.code, e.message);
        events.emit({ kind: 'tftp-error', at: Date.now(), ip: rinfo.address, mac: opts.macForIp?.(rinfo.address), file: req.filename, detail: e.message });
        return drop(e.reason);
      }
      throw e;
    }
    const t = new Transfer(req, file.real, file.st, rinfo);
    transfers.add(t);
    metrics.tftpActive.set(transfers.size);
    try {
      await t.start();
    } catch (e) {
      t.finish('error', e instanceof Error ? e.message : String(e));
    }
  }

  class Transfer {
    private readonly sock: dgram.Socket;
    private fh?: FileHandle;
    /** The whole content, when in memory (cached file or netascii): blocks are sent from it. */
    private data?: Buffer;
    private size = 0;
    private blksize = 512;
    private window = 1;
    private timeout = timeoutMs;
    private lastBlock = 0; // absolute number of the final block
    private base = 1; // first unacknowledged block (absolute)
    private oackPending = false;
    private oack?: Buffer;
    private tries = 0;
    /** One timer per transfer; it checks `lastSend` when it fires instead of being re-armed per packet. */
    private timer?: NodeJS.Timeout;
    private lastSend = 0;
    /** Reused DATA packets (full-size blocks), one per window slot, when small enough. */
    private ring?: Buffer[];
    private cache = Buffer.alloc(0);
    private cacheStart = 0; // file offset of cache[0]
    private reading?: Promise<void>;
    private readonly started = Date.now();
    private sent = 0;
    private done = false;
    private readonly mac: string | undefined;
    private readonly peerAddress: string;
    private readonly peerPort: number;

    constructor(
      private readonly req: Request,
      private readonly file: string,
      private readonly st: Stats,
      peer: dgram.RemoteInfo,
    ) {
      this.peerAddress = peer.address;
      this.peerPort = peer.port;
      this.mac = opts.macForIp?.(peer.address);
      this.sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
      this.sock.on('error', () => undefined);
      this.sock.on('message', (m, r) => this.onMessage(m, r));
    }

    async start(): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        this.sock.once('error', reject);
        this.sock.bind({ address: opts.address, port: 0 }, () => {
          this.sock.off('error', reject);
          resolve();
        });
      });
      try {
        this.sock.setSendBufferSize(1024 * 1024);
      } catch {
        /* best effort */
      }
      if (this.req.mode === 'netascii') {
        if (this.st.size > NETASCII_MAX) throw new Refusal(ERR.UNDEFINED, 'file too large for netascii; use octet mode', 'netascii-too-large');
        this.data = (await fileCache.get(this.file, this.st, 'netascii', toNetascii)) ?? toNetascii(await readFile(this.file));
      } else {
        this.data = await fileCache.get(this.file, this.st);
        if (!this.data) {
          this.fh = await open(this.file, 'r');
          this.size = (await this.fh.stat()).size;
        }
      }
      if (this.data) this.size = this.data.length;
      if (this.done) return; // aborted while loading
      // Options (RFC 2347): answer the ones we support with an OACK; ignore the rest.
      const accepted: [string, string][] = [];
      for (const [name, value] of this.req.options) {
        const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
        if (name === 'blksize' && n >= 8) {
          this.blksize = Math.min(n, maxBlksize);
          accepted.push(['blksize', String(this.blksize)]);
        } else if (name === 'tsize' && n >= 0) {
          accepted.push(['tsize', String(this.size)]);
        } else if (name === 'timeout' && n >= 1 && n <= 255) {
          this.timeout = n * 1000;
          accepted.push(['timeout', String(n)]);
        } else if (name === 'windowsize' && n >= 1 && n <= 65535) {
          this.window = Math.min(n, maxWindow);
          accepted.push(['windowsize', String(this.window)]);
        }
      }
      this.lastBlock = Math.floor(this.size / this.blksize) + 1;
      if (this.data && this.window * (this.blksize + 4) <= RING_MAX && this.lastBlock > 1) {
        const slab = Buffer.allocUnsafeSlow(this.window * (this.blksize + 4));
        this.ring = [];
        for (let i = 0; i < this.window; i++) {
          const pkt = slab.subarray(i * (this.blksize + 4), (i + 1) * (this.blksize + 4));
          pkt[0] = 0;
          pkt[1] = OP.DATA;
          this.ring.push(pkt);
        }
      }
      transfersStarted.inc();
      events.emit({ kind: 'tftp-start', at: this.started, ip: this.peerAddress, mac: this.mac, file: this.req.filename, bytes: this.size });
      if (accepted.length > 0) {
        this.oack = oackPacket(accepted);
        this.oackPending = true;
        this.sendOack();
      } else {
        this.sendWindow();
      }
    }

    private sendOack(): void {
      this.sock.send(this.oack!, this.peerPort, this.peerAddress);
      this.arm();
    }

    /** Notes a send; the timer, when not running, is started (it re-checks `lastSend` when it fires). */
    private arm(): void {
      this.lastSend = Date.now();
      if (!this.timer) this.timer = setTimeout(this.onTimer, this.timeout);
    }

    private readonly onTimer = (): void => {
      this.timer = undefined;
      if (this.done) return;
      const idle = Date.now() - this.lastSend;
      // Something was sent since the timer started: wait out the rest of the timeout from then.
      if (idle < this.timeout - TIMER_SLACK_MS) {
        this.timer = setTimeout(this.onTimer, this.timeout - idle);
        return;
      }
      if (++this.tries > retries) {
        this.finish('timeout', 'client stopped answering');
        return;
      }
      if (this.oackPending) this.sendOack();
      else this.sendWindow();
    };

    /** Bytes [off, off+len) of the file, from the read-ahead buffer (files too large for the cache). */
    private async chunk(off: number, len: number): Promise<Buffer> {
      const end = Math.min(off + len, this.size);
      while (this.reading) await this.reading;
      if (!(off >= this.cacheStart && end <= this.cacheStart + this.cache.length)) {
        const want = Math.min(Math.max(READ_CHUNK, len), this.size - off);
        const buf = Buffer.allocUnsafe(want);
        this.reading = (async () => {
          let got = 0;
          while (got < want) {
            const { bytesRead } = await this.fh!.read(buf, got, want - got, off + got);
            if (bytesRead === 0) break;
            got += bytesRead;
          }
          this.cache = buf.subarray(0, got);
          this.cacheStart = off;
        })();
        try {
          await this.reading;
        } finally {
          this.reading = undefined;
        }
      }
      return this.cache.subarray(off - this.cacheStart, Math.min(end, this.cacheStart + this.cache.length) - this.cacheStart);
    }

    /**
     * Sends the window at `base`. From memory (the usual case) it is synchronous: each full-size
     * block is copied into its reused packet (header and payload rewritten together, so a packet
     * still queued in libuv never goes out half old, half new); the short last block and big
     * blocks go as a fresh header plus a view of the file's bytes.
     */
    private sendWindow(): void {
      const first = this.base;
      if (this.data) return this.emitWindow(first, this.data, 0);
      const count = Math.min(this.window, this.lastBlock - first + 1);
      const off = (first - 1) * this.blksize;
      const end = Math.min(off + count * this.blksize, this.size);
      if (off >= this.cacheStart && end <= this.cacheStart + this.cache.length) return this.emitWindow(first, this.cache, this.cacheStart);
      this.chunk(off, count * this.blksize).then(
        () => {
          if (!this.done && first === this.base) this.emitWindow(first, this.cache, this.cacheStart);
        },
        (e) => this.finish('error', String(e)),
      );
    }

    /** Sends blocks first.. of the window from `src`, which holds the file from offset `srcStart`. */
    private emitWindow(first: number, src: Buffer, srcStart: number): void {
      const blksize = this.blksize;
      const last = Math.min(first + this.window - 1, this.lastBlock);
      const ring = this.ring;
      for (let b = first; b <= last; b++) {
        const s = (b - 1) * blksize - srcStart;
        const e = Math.min(s + blksize, this.size - srcStart, src.length);
        if (ring !== undefined && e - s === blksize) {
          const pkt = ring[(b - 1) % this.window]!;
          pkt[2] = (b >>> 8) & 0xff;
          pkt[3] = b & 0xff;
          src.copy(pkt, 4, s, e);
          this.sock.send(pkt, this.peerPort, this.peerAddress);
        } else {
          this.sock.send([dataHeader(b), src.subarray(s, e)], this.peerPort, this.peerAddress);
        }
      }
      this.arm();
    }

    private onMessage(msg: Buffer, r: dgram.RemoteInfo): void {
      try {
        if (this.done) return;
        if (r.port !== this.peerPort || r.address !== this.peerAddress) {
          // RFC 1350: a packet from a wrong TID gets an error; the transfer goes on.
          this.sock.send(errorPacket(ERR.UNKNOWN_TID, 'unknown transfer ID'), r.port, r.address);
          drop('unknown-tid');
          return;
        }
        // The hot path: a well-formed ACK, read without building a parsed object.
        if (msg.length === 4 && msg[0] === 0 && msg[1] === OP.ACK) return this.onAck((msg[2]! << 8) | msg[3]!);
        const p = parsePacket(msg);
        if (p.kind === 'error') {
          this.finish(p.code === ERR.OPTION_REFUSED ? 'aborted' : 'client-error', p.message);
          return;
        }
        drop(p.kind === 'invalid' ? p.reason : `unexpected-${p.kind}`);
      } catch {
        drop('internal');
      }
    }

    private onAck(block: number): void {
      if (this.oackPending) {
        if (block !== 0) return void drop('unexpected-ack');
        this.oackPending = false;
        this.tries = 0;
        this.sendWindow();
        return;
      }
      // Which absolute block does this (16-bit, wrapping) number acknowledge? Only ones in flight count.
      const inFlight = Math.min(this.window, this.lastBlock - this.base + 1);
      const delta = (block - (this.base & 0xffff) + 0x10000) & 0xffff;
      if (delta >= inFlight) {
        // A duplicate or old ACK: ignoring it is what avoids the sorcerer's apprentice bug.
        duplicateAcks.inc();
        return;
      }
      const acked = this.base + delta;
      this.sent += (delta + 1) * this.blksize;
      this.base = acked + 1;
      this.tries = 0;
      if (acked >= this.lastBlock) {
        this.finish('ok');
        return;
      }
      this.sendWindow();
    }

    finish(result: 'ok' | 'timeout' | 'aborted' | 'client-error' | 'error', detail?: string): void {
      if (this.done) return;
      this.done = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      transfers.delete(this);
      metrics.tftpActive.set(transfers.size);
      metrics.tftpTransfers.inc({ result });
      const bytes = result === 'ok' ? this.size : Math.min(this.sent, this.size);
      metrics.tftpBytes.inc(bytes);
      if (result === 'error') this.sock.send(errorPacket(ERR.UNDEFINED, detail ?? 'error'), this.peerPort, this.peerAddress, () => this.close());
      else this.close();
      const now = Date.now();
      events.emit({
        kind: result === 'ok' ? 'tftp-done' : 'tftp-error',
        at: now,
        ip: this.peerAddress,
        mac: this.mac,
        file: this.req.filename,
        bytes,
        durationMs: now - this.started,
        ...(result === 'ok' ? {} : { detail: `${result}${detail ? `: ${detail}` : ''}` }),
      });
    }

    private close(): void {
      try {
        this.sock.close();
      } catch {
        /* already closed */
      }
      void this.fh?.close().catch(() => undefined);
    }
  }

  const addr = main.address();
  return {
    port: addr.port,
    address: addr.address,
    active: () => transfers.size,
    close: async () => {
      closing = true;
      for (const t of [...transfers]) t.finish('aborted', 'server shutting down');
      fileCache.clear();
      await new Promise<void>((resolve) => main.close(() => resolve()));
    },
  };
}
