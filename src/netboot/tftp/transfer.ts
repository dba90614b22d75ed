/**
 * One TFTP read transfer: its own socket on an ephemeral port (the transfer ID), the negotiated
 * options, the window of DATA blocks in flight, retransmission on timeout, and the end (done,
 * timed out, aborted) reported once through its context. Whatever timeout the client asked for,
 * a transfer whose client acknowledges nothing for `maxStallMs` ends; a file too large for the
 * cache is read from disk at most READ_AHEAD bytes at a time, however large the window.
 * A file in memory, over the native socket, is sent by a native thread (`serve`): JS then sees no
 * call per block, only the final ACK and its own timer, which reads the thread's progress (as does
 * the slot table, which the slot is told to ask the thread).
 */
import type dgram from 'node:dgram';
import type { Stats } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import type { FileCache } from './cache.js';
import type { TftpConfig } from './config.js';
import { ERR, OP, dataHeader, errorPacket, oackPacket, parsePacket, toNetascii, type Request } from './packet.js';
import { ackedBlock, lastBlockOf, negotiate } from './request.js';
import type { Slot } from './slots.js';
import { openTransferSocket, type ServeLoop, type ServeProgress, type TransferSocket } from './socket.js';

/** Most bytes of a file too large for the cache that one transfer holds read ahead (or one block, if larger). */
export const READ_AHEAD = 256 * 1024;
/** netascii converts in memory; bigger files must use octet. */
const NETASCII_MAX = 16 * 1024 * 1024;
/** Largest set of reused DATA packets per transfer (window x (blksize + 4)); bigger ones send views. */
const RING_MAX = 128 * 1024;
/** A retransmission timer that fires this close to its deadline counts as expired. */
const TIMER_SLACK_MS = 5;

export type TransferResult = 'ok' | 'timeout' | 'aborted' | 'client-error' | 'error';

/** What a transfer needs from the server that runs it. */
export interface TransferContext {
  config: TftpConfig;
  cache: FileCache;
  /** `n` (default 1) datagrams were not served, for `reason`. */
  drop(reason: string, n?: number): void;
  /** `n` (default 1) duplicate or stray ACKs were ignored. */
  duplicateAck(n?: number): void;
  started(): void;
  /** The transfer is being ended because its client acknowledged nothing for `maxStallMs`. */
  stalled(t: Transfer): void;
  /** Called once when the transfer ends, whatever the result. */
  ended(t: Transfer, result: TransferResult, bytes: number): void;
}

export class Transfer {
  private sock?: TransferSocket;
  private fh?: FileHandle;
  /** The whole content, when in memory (cached file or netascii): blocks are sent from it. */
  private data?: Buffer;
  private size = 0;
  private blksize = 512;
  private window = 1;
  private timeout: number;
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
  /** The native send loop, once the socket sends the file itself. */
  private served?: ServeLoop;
  /** Duplicate ACKs of the native loop already counted, and its progress time when `tries` last counted. */
  private dupsCounted = 0;
  private triedAt = 0;
  /** Bytes of the file read from disk (files too large for the cache), from file offset `aheadStart`. */
  private ahead: Buffer = Buffer.alloc(0);
  private aheadStart = 0;
  private reading?: Promise<void>;
  private readonly started = Date.now();
  private sent = 0;
  private done = false;
  private readonly mac: string | undefined;
  private readonly peerAddress: string;
  private readonly peerPort: number;

  constructor(
    private readonly ctx: TransferContext,
    private readonly req: Request,
    private readonly file: string,
    private readonly st: Stats,
    peer: dgram.RemoteInfo,
    /** The server's slot this transfer holds; it records the client's last sign of life. */
    readonly slot: Slot,
  ) {
    this.peerAddress = peer.address;
    this.peerPort = peer.port;
    this.timeout = ctx.config.timeoutMs;
    this.mac = ctx.config.macForIp(peer.address);
  }

  /** Binds the transfer's socket, loads the file, negotiates and sends the OACK or first window. */
  async start(): Promise<void> {
    const sock = await openTransferSocket(this.ctx.config.address, { address: this.peerAddress, port: this.peerPort }, { ack: (b) => this.onAckSafe(b), other: (m, a, p) => this.onMessage(m, a, p), dropped: (f, p) => this.onDropped(f, p) }, this.ctx.config.nativeSockets);
    if (this.done) return sock.close(); // ended while the socket was being opened
    this.sock = sock;
    await this.load();
    if (this.done) return; // aborted while loading
    const n = negotiate(this.req.options, this.size, this.ctx.config);
    this.blksize = n.blksize;
    this.window = n.window;
    this.timeout = n.timeoutMs;
    this.lastBlock = lastBlockOf(this.size, this.blksize);
    if (this.data && !sock.serve && this.window * (this.blksize + 4) <= RING_MAX && this.lastBlock > 1) this.ring = dataRing(this.window, this.blksize);
    this.ctx.started();
    this.ctx.config.events.emit({ kind: 'tftp-start', at: this.started, ip: this.peerAddress, mac: this.mac, file: this.req.filename, bytes: this.size });
    if (n.accepted.length > 0) {
      this.oack = oackPacket(n.accepted);
      this.oackPending = true;
      this.sendOack();
    } else {
      this.sendWindow();
    }
  }

  /** The content in memory when it fits the cache (or is netascii), else an open file to read ahead from. */
  private async load(): Promise<void> {
    const cache = this.ctx.cache;
    if (this.req.mode === 'netascii') {
      if (this.st.size > NETASCII_MAX) throw new Error('file too large for netascii; use octet mode');
      this.data = await cache.get(this.file, this.st, 'netascii', toNetascii);
      // Converted in memory: outside the shared cache, only as much as one read-ahead.
      if (!this.data && this.st.size > READ_AHEAD) throw new Error('file too large for netascii; use octet mode');
      this.data ??= toNetascii(await readFile(this.file));
    } else {
      this.data = await cache.get(this.file, this.st);
      if (!this.data) {
        this.fh = await open(this.file, 'r');
        this.size = (await this.fh.stat()).size;
      }
    }
    if (this.data) this.size = this.data.length;
  }

  /** The client's address, for log lines. */
  get peer(): string {
    return this.peerAddress;
  }

  /** Bytes of the file this transfer holds read ahead from disk now (0 when sent from memory). */
  readAheadBytes(): number {
    return this.ahead.length;
  }

  private sendOack(): void {
    this.sock!.send(this.oack!);
    this.arm();
  }

  /** Notes a send; the timer, when not running, is started (it re-checks `lastSend` when it fires). */
  private arm(): void {
    const now = (this.lastSend = Date.now());
    if (!this.timer) this.timer = setTimeout(this.onTimer, Math.min(this.timeout, this.stallLeft(now)));
  }

  /** Time left, ms, before the client's silence (since `lastProgress`) reaches `maxStallMs` (at least 1). */
  private stallLeft(now: number, lastProgress = this.slot.lastProgress()): number {
    return Math.max(1, this.ctx.config.maxStallMs - (now - lastProgress));
  }

  /** Notes that the client moved the transfer on (an ACK of the OACK or of new blocks). */
  private progressed(): void {
    this.slot.progressed(Date.now());
    this.tries = 0;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.done) return;
    const now = Date.now();
    const served = this.served?.progress();
    const lastProgress = served?.lastProgress ?? this.slot.lastProgress();
    // However long a timeout the client negotiated, a silent client keeps its slot this long at most.
    if (now - lastProgress >= this.ctx.config.maxStallMs - TIMER_SLACK_MS) {
      this.ctx.stalled(this);
      this.finish('timeout', `no acknowledgement for ${this.ctx.config.maxStallMs} ms`);
      return;
    }
    if (served) {
      this.countDuplicates(served);
      // The socket moved the window since the last retry: the retries start again.
      if (served.lastProgress !== this.triedAt) {
        this.triedAt = served.lastProgress;
        this.tries = 0;
      }
    }
    const idle = now - (served ? served.lastSend : this.lastSend);
    // Something was sent since the timer started: wait out the rest of the timeout from then.
    if (idle < this.timeout - TIMER_SLACK_MS) {
      this.timer = setTimeout(this.onTimer, Math.min(this.timeout - idle, this.stallLeft(now, lastProgress)));
      return;
    }
    if (++this.tries > this.ctx.config.retries) {
      this.finish('timeout', 'client stopped answering');
      return;
    }
    if (this.oackPending) this.sendOack();
    else this.sendWindow();
  };

  /**
   * Sends the window at `base`. From memory (the usual case) it is synchronous: each full-size
   * block is copied into its reused packet (header and payload rewritten together, so a packet
   * still queued in libuv never goes out half old, half new); the short last block and big
   * blocks go as a fresh header plus a view of the file's bytes.
   */
  private sendWindow(): void {
    const sock = this.sock!;
    if (this.data && sock.serve) {
      if (this.served) this.served.resend();
      else this.serveNatively(sock.serve, this.data);
      if (!this.timer) this.timer = setTimeout(this.onTimer, Math.min(this.timeout, this.stallLeft(Date.now())));
      return;
    }
    const first = this.base;
    const last = Math.min(first + this.window - 1, this.lastBlock);
    if (this.data) {
      this.emitBlocks(first, last, this.data, 0);
      this.arm();
      return;
    }
    this.sendFromDisk(first, last).catch((e) => this.finish('error', String(e)));
  }

  /**
   * Hands the send loop to a native thread, from the window at `base`. The thread handles every
   * ACK from then on, so the slot is told to read the client's progress from it.
   */
  private serveNatively(serve: NonNullable<TransferSocket['serve']>, data: Buffer): void {
    this.triedAt = this.slot.lastProgress();
    const loop = (this.served = serve(data, this.blksize, this.window, this.lastBlock, this.base, this.triedAt));
    this.slot.follow(() => loop.progress().lastProgress);
  }

  /** Counts the duplicate ACKs the native loop ignored since the last count. */
  private countDuplicates(p: ServeProgress): void {
    const n = p.duplicateAcks - this.dupsCounted;
    if (n <= 0) return;
    this.dupsCounted += n;
    this.ctx.duplicateAck(n);
  }

  /** Sends blocks first..last of a file too large for the cache, reading READ_AHEAD bytes at a time. */
  private async sendFromDisk(first: number, last: number): Promise<void> {
    for (let b = first; b <= last; ) {
      let upTo = this.aheadThrough(b, last);
      if (upTo < b) {
        await this.readAhead((b - 1) * this.blksize);
        if (this.done || first !== this.base) return; // ended, or acknowledged meanwhile
        upTo = this.aheadThrough(b, last);
        if (upTo < b) throw new Error('file shrank while being sent');
      }
      this.emitBlocks(b, upTo, this.ahead, this.aheadStart);
      b = upTo + 1;
    }
    this.arm();
  }

  /** The last block of b..last wholly in the read-ahead bytes, or b - 1 when block b is not. */
  private aheadThrough(b: number, last: number): number {
    const bs = this.blksize;
    const end = this.aheadStart + this.ahead.length;
    if ((b - 1) * bs < this.aheadStart || Math.min(b * bs, this.size) > end) return b - 1;
    return Math.min(last, end >= this.size ? this.lastBlock : Math.floor(end / bs));
  }

  /** Replaces the read-ahead bytes with the file's from `off`: READ_AHEAD bytes (whole blocks) or one block. */
  private async readAhead(off: number): Promise<void> {
    while (this.reading) await this.reading;
    const want = Math.min(Math.max(READ_AHEAD - (READ_AHEAD % this.blksize), this.blksize), this.size - off);
    const buf = Buffer.allocUnsafe(want);
    this.reading = (async () => {
      let got = 0;
      while (got < want) {
        const { bytesRead } = await this.fh!.read(buf, got, want - got, off + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (this.done) return;
      this.holdAhead(buf.subarray(0, got), off);
    })();
    try {
      await this.reading;
    } finally {
      this.reading = undefined;
    }
  }

  /** Holds `bytes` (file offset `start`) as the read-ahead, keeping the server's gauge in step. */
  private holdAhead(bytes: Buffer, start: number): void {
    this.ctx.config.metrics.tftpReadBuffer.inc(bytes.length - this.ahead.length);
    this.ahead = bytes;
    this.aheadStart = start;
  }

  /** Sends blocks first..last from `src`, which holds the file from offset `srcStart`. */
  private emitBlocks(first: number, last: number, src: Buffer, srcStart: number): void {
    const blksize = this.blksize;
    const ring = this.ring;
    const sock = this.sock!;
    for (let b = first; b <= last; b++) {
      const s = (b - 1) * blksize - srcStart;
      const e = Math.min(s + blksize, this.size - srcStart, src.length);
      if (ring !== undefined && e - s === blksize) {
        const pkt = ring[(b - 1) % this.window]!;
        pkt[2] = (b >>> 8) & 0xff;
        pkt[3] = b & 0xff;
        src.copy(pkt, 4, s, e);
        sock.send(pkt);
      } else {
        sock.sendParts(dataHeader(b), src.subarray(s, e));
      }
    }
  }

  /** A well-formed ACK from the peer (the hot path: no parsed object, no address compared in JS). */
  private onAckSafe(block: number): void {
    try {
      if (!this.done) this.onAck(block);
    } catch {
      this.ctx.drop('internal');
    }
  }

  /** Any other datagram on the transfer's port. */
  private onMessage(msg: Buffer, address: string, port: number): void {
    try {
      if (this.done) return;
      if (port !== this.peerPort || address !== this.peerAddress) {
        // RFC 1350: a packet from a wrong TID gets an error; the transfer goes on.
        this.sock?.sendTo(errorPacket(ERR.UNKNOWN_TID, 'unknown transfer ID'), address, port);
        this.ctx.drop('unknown-tid');
        return;
      }
      const p = parsePacket(msg);
      if (p.kind === 'error') {
        this.finish(p.code === ERR.OPTION_REFUSED ? 'aborted' : 'client-error', p.message);
        return;
      }
      this.ctx.drop(p.kind === 'invalid' ? p.reason : `unexpected-${p.kind}`);
    } catch {
      this.ctx.drop('internal');
    }
  }

  /**
   * Datagrams the native thread read and let go while JS had not yet taken those before (a flood):
   * `foreign` from other senders (they get no error packet), `fromPeer` from the client.
   */
  private onDropped(foreign: number, fromPeer: number): void {
    if (foreign > 0) this.ctx.drop('unknown-tid', foreign);
    if (fromPeer > 0) this.ctx.drop('overflow', fromPeer);
  }

  private onAck(block: number): void {
    if (this.served) {
      // The native thread handles every ACK while it serves; it hands over the one of the last block.
      this.base = this.served.progress().base;
      if (this.base > this.lastBlock) this.finish('ok');
      return;
    }
    if (this.oackPending) {
      if (block !== 0) return void this.ctx.drop('unexpected-ack');
      this.oackPending = false;
      this.progressed();
      this.sendWindow();
      return;
    }
    const acked = ackedBlock(block, this.base, this.window, this.lastBlock);
    if (acked === undefined) return this.ctx.duplicateAck();
    this.sent += (acked - this.base + 1) * this.blksize;
    this.base = acked + 1;
    this.progressed();
    if (acked >= this.lastBlock) {
      this.finish('ok');
      return;
    }
    this.sendWindow();
  }

  /** Ends the transfer (once): stops its timer, closes its socket, reports the result. */
  finish(result: TransferResult, detail?: string): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const served = this.served?.progress();
    if (served) {
      this.countDuplicates(served);
      this.sent = (served.base - 1) * this.blksize;
    }
    const bytes = result === 'ok' ? this.size : Math.min(this.sent, this.size);
    this.ctx.ended(this, result, bytes);
    this.close(result === 'error' ? errorPacket(ERR.UNDEFINED, detail ?? 'error') : undefined);
    const now = Date.now();
    this.ctx.config.events.emit({
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

  /** Closes the socket (after sending `last`, an error for the client) and the file. */
  private close(last?: Buffer): void {
    this.holdAhead(Buffer.alloc(0), 0);
    this.sock?.close(last);
    this.sock = undefined;
    void this.fh?.close().catch(() => undefined);
  }
}

/** `window` reused DATA packets of `blksize` payload, carved from one slab, opcode preset. */
function dataRing(window: number, blksize: number): Buffer[] {
  const slab = Buffer.allocUnsafeSlow(window * (blksize + 4));
  const ring: Buffer[] = [];
  for (let i = 0; i < window; i++) {
    const pkt = slab.subarray(i * (blksize + 4), (i + 1) * (blksize + 4));
    pkt[0] = 0;
    pkt[1] = OP.DATA;
    ring.push(pkt);
  }
  return ring;
}
