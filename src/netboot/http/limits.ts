/**
 * Connection admission for the HTTP server (pure, clock injected): open connections counted per
 * client address and in all, refusals over either limit, and the log line for a refusal at most
 * once per address (or once for the total) per interval, with the count it stood for.
 */
import type { HttpLimits } from './config.js';

export type Refusal = 'per-address' | 'total';

export class ConnectionLimiter {
  private open = new Map<string, number>();
  private openTotal = 0;
  /** Log key (an address, or '*' for the total) -> when its last line went out and refusals since. */
  private logged = new Map<string, { at: number; since: number }>();

  constructor(
    private limits: Pick<HttpLimits, 'perAddress' | 'total' | 'logIntervalMs'>,
    private now: () => number = Date.now,
  ) {}

  /** Counts a new connection from `ip` in, or says which limit refuses it. */
  admit(ip: string): Refusal | undefined {
    const mine = this.open.get(ip) ?? 0;
    if (this.openTotal >= this.limits.total) return 'total';
    if (mine >= this.limits.perAddress) return 'per-address';
    this.open.set(ip, mine + 1);
    this.openTotal++;
    return undefined;
  }

  /** A connection admitted from `ip` has closed. */
  release(ip: string): void {
    const mine = this.open.get(ip);
    if (mine === undefined) return;
    if (mine <= 1) this.open.delete(ip);
    else this.open.set(ip, mine - 1);
    this.openTotal--;
  }

  /** The line to log for this refusal, or undefined when one went out for it within the interval. */
  refusalLine(ip: string, why: Refusal): string | undefined {
    const key = why === 'total' ? '*' : ip;
    const t = this.now();
    const last = this.logged.get(key);
    if (last && t - last.at < this.limits.logIntervalMs) {
      last.since++;
      return undefined;
    }
    this.prune(t);
    this.logged.set(key, { at: t, since: 0 });
    const more = last?.since ? ` (${last.since} more refused since the last such line)` : '';
    return why === 'total'
      ? `hearth netboot: HTTP refused a connection from ${ip}: ${this.openTotal} connections open, the limit in all${more}`
      : `hearth netboot: HTTP refused a connection from ${ip}: ${this.limits.perAddress} connections from that address open, the limit per address${more}`;
  }

  /** Open connections: in all, and the number of addresses holding any. */
  stats(): { connections: number; addresses: number } {
    return { connections: this.openTotal, addresses: this.open.size };
  }

  /** Forgets log keys whose interval has passed (keeps the map as small as the refusing set). */
  private prune(t: number): void {
    for (const [k, v] of this.logged) if (t - v.at >= this.limits.logIntervalMs) this.logged.delete(k);
  }
}
