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
}
import { labelCounters, type NetbootMetrics } from '../metrics.js';
import type { DhcpRequest, Handler, Outcome } from './handler.js';
import { MessageType, messageTypeName, Opt, type MessageTypeName } from './options.js';
import { decode, encodeTransient, isDecodeError } from './packet.js';
import { MacTexts } from './text-cache.js';
import type { Datagram, Listener } from './transport.js';

/**
 * Most replies queued for one flush (one sendmmsg); the rest of a burst waits for the next pace tick
 * (1 ms), so a backlog released at once — the ACKs of one journal commit, the replies to what
 * queued up during a pause of the process — leaves at about 16 per millisecond instead of back to
 * back. Sent back to back they overflowed the receive buffer of the relay they all go to:
 * perfdhcp's avalanche of 200 (its ACKs lost, a 1 s retransmission each: 1.4-2.0 s instead of
 * 0.2 s), and at a steady 14,650 exchanges/s 2.3-3.1 % of them in 4 runs of 4 when each turn of the
 * event loop sent a share (0-0.15 % paced by the tick).
 */
const PACE = 16;
/**
 * Replies waiting past which all of them go out on the next turn of the loop, a share per system
 * call, rather than a share per tick: demand above the pace must not queue (128 is 8 ticks' worth).
 */
const BACKLOG = 128;
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
  /** Replies past a flush's share, sent at the next pace ticks (see PACE and BACKLOG). */
  private deferred: [Outcome, Listener][] = [];
  private drainScheduled = false;

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
    try {
      if (o.drop) return this.drop(o.drop);
      if (!o.reply) return;
      if (listener.queue && (this.queued.get(listener)?.length ?? 0) >= PACE) {
        this.deferred.push([o, listener]);
        return this.scheduleDrain();
      }
      const buf = encodeTransient(o.reply.packet, o.reply.maxSize); // sent (copied) before the next encode
      const label = LABEL[o.reply.type];
      if (listener.queue && listener.flush) {
        let q = this.queued.get(listener);
        if (!q) {
          q = [];
          this.queued.set(listener, q);
        }
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

  /** Sends the next share of what waits at the next pace tick, or on the next turn past BACKLOG. */
  private scheduleDrain(): void {
    if (this.drainScheduled || this.deferred.length === 0) return;
    this.drainScheduled = true;
    if (this.deferred.length > BACKLOG) setImmediate(this.drainDeferred);
    else this.tick(this.drainDeferred);
  }

  private readonly drainDeferred = (): void => {
    const waiting = this.deferred;
    this.deferred = [];
    // Past BACKLOG all of it goes now, a share per system call; else one share, the rest waits again.
    const all = waiting.length > BACKLOG;
    for (const [o, l] of waiting) {
      if (all && (this.queued.get(l)?.length ?? 0) >= PACE) this.flushAll();
      this.finish(o, l);
    }
    this.drainScheduled = false;
    this.scheduleDrain();
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
    while (this.deferred.length > 0) {
      this.flushAll();
      this.drainDeferred(); // each round sends at least PACE of them
    }
    this.flushAll();
    await Promise.all(this.listeners.map((l) => l.close()));
  }
}
