/**
 * Server(listeners, handler): the receive path shared by every mode. Decodes each datagram,
 * rejects what is not a well-formed BOOTREQUEST from an Ethernet client, hands the rest to the
 * mode's handler and sends the reply out of the served interface. Nothing thrown by a packet
 * escapes: every datagram is counted as received and, when nothing is done with it, as dropped
 * with a reason. Requests waiting on the lease store are bounded (`maxInflight`): past it, new
 * datagrams are dropped as `overloaded` until commits complete, so a flood cannot queue without end.
 *
 * Above capacity, work goes to the exchanges already under way. Once datagrams have been arriving
 * late — each having waited in the socket's receive queue longer than `maxQueuedMs` (kernel receive
 * timestamps) — for `sustainMs` on end, the server is behind rather than taking a burst or coming
 * back from a stall (its start, a pause of the process), and late DISCOVERs are dropped as
 * `overloaded` before any work is spent on them, while REQUESTs are still answered. The first
 * datagram on time ends it. Without that, a server past its capacity spends its time offering
 * addresses whose REQUESTs then wait behind more DISCOVERs (or are dropped by the kernel when the
 * queue is full), and completed exchanges fall as the offered rate rises. The client retransmits
 * its DISCOVER (RFC 2131 §4.1).
 */

export interface ServerLimits {
  /** Requests waiting on the lease store at most (default 4,096). */
  maxInflight?: number;
  /** A datagram that waited longer than this in the receive queue is late (default 200 ms). */
  maxQueuedMs?: number;
  /** Late DISCOVERs are shed once datagrams have been late for this long on end (default 1 s). */
  sustainMs?: number;
  /** The clock for `sustainMs` (tests). */
  now?(): number;
  /** Runs `fn` at the next pace tick (tests; default a 1 ms timer). */
  tick?(fn: () => void): void;
  /** The pacer's clock in ms, fractions allowed (tests; default performance.now). */
  paceNow?(): number;
}
import { performance } from 'node:perf_hooks';
import { labelCounters, type NetbootMetrics } from '../metrics.js';
import type { DhcpRequest, Handler, Outcome } from './handler.js';
import { MessageType, messageTypeName, Opt, type MessageTypeName } from './options.js';
import { decode, encodeTransient, isDecodeError } from './packet.js';
import { MacTexts } from './text-cache.js';
import { Pacer } from './pacer.js';
import type { Datagram, Listener } from './transport.js';

/**
 * Replies queued for one flush (one sendmmsg) at most; the pacer (pacer.ts) decides how many leave
 * at a time: a backlog released at once — the ACKs of one journal commit, the replies to what
 * queued up while the process was held up — leaves at about 1.5 times the rate requests arrived
 * at over the last 100 ms (at least 16 per ms) instead of back to back. Sent back to back they
 * overflowed the receive buffer of the relay they all go to: perfdhcp's avalanche of 200 (its ACKs
 * lost, a 1 s retransmission each), and near the ceiling every exchange hearth lost in
 * bench/netboot/dhcp-loss.sh (docs/netboot-dhcp.md, Benchmark).
 */
const PACE = 16;
/** Replies waiting past which all of them leave at once (a share per flush): never queue without end. */
const MAX_DEFERRED = 4096;
/** Metric label of each message type (lower case), made once rather than per packet. */
const LABEL = Object.fromEntries(Object.keys(MessageType).map((t) => [t, t.toLowerCase()])) as Record<MessageTypeName, string>;

export class Server {
  private readonly received: (type: string) => void;
  private readonly sent: (type: string) => void;
  private readonly dropped: (reason: string) => void;
  /** Each client's MAC text, made once for its packets rather than per packet. */
  private readonly macs = new MacTexts();
  private inflight = 0;
  private closing = false;
  private readonly maxInflight: number;
  private readonly maxQueuedMs: number;
  private readonly sustainMs: number;
  private readonly now: () => number;
  private readonly tick: (fn: () => void) => void;
  /** Since when every datagram has been late (undefined: the last one was on time). */
  private lateSince: number | undefined;
  /** Per listener, the metric labels of the replies queued in it and not yet flushed. */
  private readonly queued = new Map<Listener, string[]>();
  private flushScheduled = false;
  /** Replies the pacer held back, in order, sent as it allows (at the next replies or pace tick). */
  private deferred: [Outcome, Listener][] = [];
  /** Index of the first reply in `deferred` not yet sent. */
  private head = 0;
  private drainScheduled = false;
  private readonly pacer: Pacer;

  constructor(
    private readonly listeners: Listener[],
    private readonly handler: Handler,
    metrics: NetbootMetrics,
    private readonly onError: (err: unknown) => void = () => undefined,
    limits: ServerLimits = {},
  ) {
    this.maxInflight = limits.maxInflight ?? 4096;
    this.maxQueuedMs = limits.maxQueuedMs ?? 200;
    this.sustainMs = limits.sustainMs ?? 1000;
    this.now = limits.now ?? Date.now;
    this.tick = limits.tick ?? ((fn) => void setTimeout(fn, 1));
    this.pacer = new Pacer(limits.paceNow ?? (() => performance.now()));
    this.received = labelCounters(metrics.dhcpReceived);
    this.sent = labelCounters(metrics.dhcpSent);
    this.dropped = labelCounters(metrics.dhcpDropped);
  }

  start(): void {
    for (const l of this.listeners) l.start((d) => this.onDatagram(d, l));
  }

  drop(reason: string): void {
    this.dropped(reason);
  }

  private onDatagram(d: Datagram, listener: Listener): void {
    if (this.closing) return;
    let req: DhcpRequest;
    try {
      const p = decode(d.data);
      if (isDecodeError(p)) {
        this.received('invalid');
        return this.drop(d.data.length === 0 ? 'truncated-datagram' : p.error);
      }
      const t = p.options.get(Opt.MESSAGE_TYPE);
      const type = t && t.length === 1 ? messageTypeName(t[0]!) : undefined;
      this.received(type ? LABEL[type] : 'invalid');
      if (p.op !== 1) return this.drop('not-a-request');
      if (p.htype !== 1 || p.hlen !== 6) return this.drop('not-ethernet');
      if (!t) return this.drop('no-message-type');
      if (!type) return this.drop(t.length === 1 ? 'unknown-message-type' : 'bad-message-type');
      this.pacer.arrived(d.queuedMs);
      if (d.queuedMs !== undefined && this.behind(d.queuedMs) && type === 'DISCOVER') return this.drop('overloaded');
      const mac = this.macs.of(p.chaddr);
      if (mac === '00:00:00:00:00:00' || (p.chaddr[0]! & 1) === 1) return this.drop('bad-client-mac');
      req = {
        packet: p,
        type,
        mac,
        srcIp: d.srcIp,
        srcPort: d.srcPort,
        dstIp: d.dstIp,
        localPort: d.localPort,
        now: Date.now(),
      };
    } catch (err) {
      this.onError(err);
      return this.drop('internal-error');
    }
    if (this.inflight >= this.maxInflight) return this.drop('overloaded');
    let out: Outcome | Promise<Outcome>;
    try {
      out = this.handler.handle(req);
    } catch (err) {
      this.onError(err);
      return this.drop('internal-error');
    }
    if (out instanceof Promise) {
      this.inflight++;
      out.then(
        (o) => {
          this.inflight--;
          this.finish(o, listener);
        },
        (err) => {
          this.inflight--;
          this.onError(err);
          this.drop('internal-error');
        },
      );
    } else this.finish(out, listener);
  }

  /** Whether the server has been behind for `sustainMs`, given how long this datagram waited. */
  private behind(queuedMs: number): boolean {
    if (queuedMs <= this.maxQueuedMs) {
      this.lateSince = undefined;
      return false;
    }
    const now = this.now();
    this.lateSince ??= now;
    return now - this.lateSince >= this.sustainMs;
  }

  private finish(o: Outcome, listener: Listener): void {
    if (o.reply && listener.queue) {
      if (this.deferred.length > 0 || this.pacer.take(1) === 0) {
        this.deferred.push([o, listener]);
        return this.pump();
      }
    }
    this.send(o, listener);
  }

  private send(o: Outcome, listener: Listener): void {
    try {
      if (o.drop) return this.drop(o.drop);
      if (!o.reply) return;
      const buf = encodeTransient(o.reply.packet, o.reply.maxSize); // sent (copied) before the next encode
      const label = LABEL[o.reply.type];
      if (listener.queue && listener.flush) {
        let q = this.queued.get(listener);
        if (!q) {
          q = [];
          this.queued.set(listener, q);
        }
        if (q.length >= PACE) this.flushListener(listener, q);
        if (!listener.queue(buf, o.reply.ip, o.reply.port)) {
          this.flushListener(listener, q); // full: send what waits, then queue this one
          if (!listener.queue(buf, o.reply.ip, o.reply.port)) return this.counted(listener.send(buf, o.reply.ip, o.reply.port), label);
        }
        q.push(label);
        if (!this.flushScheduled) {
          this.flushScheduled = true;
          queueMicrotask(this.flushAll);
        }
        return;
      }
      this.counted(listener.send(buf, o.reply.ip, o.reply.port), label);
    } catch (err) {
      this.onError(err);
      this.drop('internal-error');
    }
  }

  /** Sends as many held-back replies as the pacer allows now (all of them past MAX_DEFERRED); the rest at the next tick. */
  private pump(): void {
    const waiting = this.deferred.length - this.head;
    const n = waiting > MAX_DEFERRED ? waiting : this.pacer.take(waiting);
    for (let i = 0; i < n; i++) {
      const [o, l] = this.deferred[this.head]!;
      this.deferred[this.head++] = undefined!;
      this.send(o, l);
    }
    if (this.head === this.deferred.length) {
      this.deferred.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.deferred.length) {
      this.deferred = this.deferred.slice(this.head);
      this.head = 0;
    }
    if (this.deferred.length > 0 && !this.drainScheduled) {
      this.drainScheduled = true;
      this.tick(this.onTick);
    }
  }

  private readonly onTick = (): void => {
    this.drainScheduled = false;
    this.pump();
  };

  private counted(sent: boolean, label: string): void {
    if (sent) this.sent(label);
    else this.drop('send-failed');
  }

  /**
   * Replies released together — the OFFERs of one receive batch, the ACKs of one journal commit —
   * leave at the end of the microtask queue in one system call per listener (sendmmsg).
   */
  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    for (const [listener, q] of this.queued) {
      if (q.length > 0) {
        try {
          this.flushListener(listener, q);
        } catch (err) {
          this.onError(err);
          this.drop('internal-error');
        }
      }
    }
  };

  private flushListener(listener: Listener, q: string[]): void {
    let i = 0;
    listener.flush!((sent) => this.counted(sent, q[i++]!));
    q.length = 0;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (let i = 0; i < 200 && this.inflight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const rest = this.deferred.slice(this.head);
    this.deferred = [];
    this.head = 0;
    for (const [o, l] of rest) this.send(o, l);
    this.flushAll();
    await Promise.all(this.listeners.map((l) => l.close()));
  }
}
