/**
 * Rate-limited log lines for the TFTP server's limits: when a bound bites (a client over its
 * share, a full table, a slot taken over, a silent transfer ended), one line per kind of limit
 * at most every `intervalMs`, saying how many more were not logged since, so a flood costs a few
 * lines, not one per packet. The clock is passed in, so the rule is tested without waiting.
 */

export class LimitNotices {
  private readonly last = new Map<string, { at: number; quiet: number }>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs: number,
  ) {}

  /** Notes that `limit` bit (`detail`: what happened this time) at `now`; logs when allowed. */
  note(limit: string, detail: string, now: number): void {
    const seen = this.last.get(limit);
    if (seen && now - seen.at < this.intervalMs) {
      seen.quiet++;
      return;
    }
    const more = seen && seen.quiet > 0 ? ` (${seen.quiet} more since the last notice)` : '';
    this.last.set(limit, { at: now, quiet: 0 });
    this.write(`tftp limit ${limit}: ${detail}${more}`);
  }
}
