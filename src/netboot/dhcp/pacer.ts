/**
 * Pacer: how many DHCP replies may leave now. A token bucket whose rate follows demand: every
 * `windowMs` the rate becomes `headroom` times the requests that arrived per ms (at least
 * `minRate`), and at most `burstMs` worth of it (at least `minBurst`) is ever saved up.
 *
 * Why: the replies of a whole backlog — what queued up in the receive buffer while the process was
 * held up (a collection, the scheduler on a shared core), the ACKs of one journal commit — would
 * otherwise leave back to back, up to ~190 within 1 ms measured at the relay, and the relay's own
 * receive buffer (perfdhcp's 208 KiB, ~166 replies) overflows whenever it is not reading for a few
 * ms. Paced, a backlog leaves at `headroom` times the rate it was asked for, so it still drains
 * (demand never waits behind a pace below it), but no faster than the relay has just shown it sends.
 * Demand is counted by arrival, not by reading: the requests read in a window are divided by the
 * time between the arrivals (kernel receive timestamps) of the last request read in the window
 * before and the last read in this one. The receive queue is first in, first out, so exactly those
 * requests arrived in that time: a backlog read at once after a stall counts at the rate it came
 * in at, not as a surge, and a server that stays behind does not read its lag as lower demand.
 */
export interface PacerOptions {
  /** Replies per ms at least (default 16). */
  readonly minRate?: number;
  /** Rate over demand (default 1.5): how fast a backlog drains (at half the demand on top of it). */
  readonly headroom?: number;
  /** How long demand is counted before the rate follows it, in ms (default 100). */
  readonly windowMs?: number;
  /** Replies saved up at most, in ms of the rate (default 1: a backlog leaves at the pace, not in a pile). */
  readonly burstMs?: number;
  /** Replies saved up at least (default 16). */
  readonly minBurst?: number;
}

export class Pacer {
  private readonly minRate: number;
  private readonly headroom: number;
  private readonly windowMs: number;
  private readonly burstMs: number;
  private readonly minBurst: number;
  /** Replies per ms now. */
  private rate: number;
  private tokens: number;
  private last: number;
  private windowStart: number;
  /** Requests read in this window; when the last one read arrived, and the last one of the window before. */
  private arrivedInWindow = 0;
  private lastArrival: number;
  private windowFrom: number;

  constructor(
    private readonly now: () => number,
    opts: PacerOptions = {},
  ) {
    this.minRate = opts.minRate ?? 16;
    this.headroom = opts.headroom ?? 1.5;
    this.windowMs = opts.windowMs ?? 100;
    this.burstMs = opts.burstMs ?? 1;
    this.minBurst = opts.minBurst ?? 16;
    this.rate = this.minRate;
    this.tokens = this.cap();
    this.last = this.windowStart = this.lastArrival = this.windowFrom = now();
  }

  /** A request was read that had waited `queuedMs` in the receive queue: the demand the rate follows. */
  arrived(queuedMs = 0): void {
    this.arrivedInWindow++;
    this.lastArrival = Math.max(this.windowFrom, this.now() - queuedMs);
  }

  /** Takes up to `want` replies' worth; returns how many may leave now. */
  take(want: number): number {
    this.refill();
    const n = Math.min(want, Math.floor(this.tokens));
    this.tokens -= n;
    return n;
  }

  /** Replies per ms the pace allows now (tests, bench). */
  get perMs(): number {
    return this.rate;
  }

  private cap(): number {
    return Math.max(this.minBurst, this.rate * this.burstMs);
  }

  private refill(): void {
    const t = this.now();
    const span = t - this.windowStart;
    if (span >= this.windowMs) {
      // with none read, the time since the last arrival (idle: the minimum); never under a quarter window
      const over = Math.max(this.windowMs / 4, (this.arrivedInWindow > 0 ? this.lastArrival : t) - this.windowFrom);
      this.rate = Math.max(this.minRate, (this.headroom * this.arrivedInWindow) / over);
      if (this.arrivedInWindow > 0) this.windowFrom = this.lastArrival;
      this.arrivedInWindow = 0;
      this.windowStart = t;
    }
    this.tokens = Math.min(this.cap(), this.tokens + Math.max(0, t - this.last) * this.rate);
    this.last = t;
  }
}
