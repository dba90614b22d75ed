/**
 * The TFTP server's table of transfer slots, without sockets or timers: who may start a transfer
 * now. A slot is taken synchronously when a request is accepted (before any `await`), so the
 * total cap holds however many requests arrive at once, and given back exactly once when the
 * transfer ends (or never starts). Bounds, in the order they are checked:
 *
 * - per client address: at most `maxPerClient` slots (a PXE client needs one or two at a time),
 *   so one host cannot take the table by itself. A client at its share takes over its own
 *   stalest slot (a firmware that restarted a download), else it is refused. The server's own
 *   address is exempt: only local processes send from it (Linux drops packets from the link
 *   whose source is a local address), and they need no protection from themselves;
 * - in total: at most `maxTransfers`. When the table is full, the slot whose client has gone
 *   longest without acknowledging anything is taken over (its transfer is ended); a client that
 *   is acknowledging keeps its slot, and the newcomer is refused ("server busy") only when no
 *   slot is that stale.
 *
 * "Stale" means silent for at least `evictIdleMs`.
 */

export interface SlotLimits {
  /** Slots in total. */
  readonly maxTransfers: number;
  /** Slots held by one client address. */
  readonly maxPerClient: number;
  /** How long a client must have been silent before its slot may go to a newcomer, ms. */
  readonly evictIdleMs: number;
  /** The server's own address, not held to `maxPerClient`. */
  readonly ownAddress?: string;
}

/** Reads when a client last made progress, for a holder that does not note each step itself. */
export type ProgressSource = () => number;

/**
 * One taken slot. Its holder either notes each sign of life of its client (`progressed`), or,
 * when something else handles the client's ACKs (the native send loop), hands the slot a source
 * to read instead (`follow`); the table only ever reads `lastProgress()`.
 */
export class Slot {
  /** Ends whatever holds the slot when the slot is taken over; set by the holder. */
  evict?: () => void;
  private at: number;
  private source?: ProgressSource;

  constructor(
    readonly address: string,
    now: number,
  ) {
    this.at = now;
  }

  /** When the client last made progress (its request, then each ACK that moved the window), ms. */
  lastProgress(): number {
    return this.source ? this.source() : this.at;
  }

  /** Notes that the client made progress at `at` (ms); for a slot not following a source. */
  progressed(at: number): void {
    this.at = at;
  }

  /** From now on the client's progress is read from `source`. */
  follow(source: ProgressSource): void {
    this.source = source;
  }
}

export type Admission = { admitted: Slot; evicted?: Slot } | { refused: 'client-limit' | 'busy' };

export class TransferSlots {
  private readonly slots = new Set<Slot>();
  private readonly perClient = new Map<string, Set<Slot>>();

  constructor(private readonly limits: SlotLimits) {}

  /** Slots taken now. */
  get size(): number {
    return this.slots.size;
  }

  /** Slots held by `address` now. */
  heldBy(address: string): number {
    return this.perClient.get(address)?.size ?? 0;
  }

  /**
   * Takes a slot for a request from `address` at time `now`, or says why not. When a stale slot
   * is taken over it is released here and returned as `evicted`; the caller ends its holder.
   */
  admit(address: string, now: number): Admission {
    let evicted: Slot | undefined;
    const own = this.perClient.get(address);
    if (own && own.size >= this.limits.maxPerClient && address !== this.limits.ownAddress) {
      evicted = stalest(own);
      if (!evicted || now - evicted.lastProgress() < this.limits.evictIdleMs) return { refused: 'client-limit' };
    } else if (this.slots.size >= this.limits.maxTransfers) {
      evicted = stalest(this.slots);
      if (!evicted || now - evicted.lastProgress() < this.limits.evictIdleMs) return { refused: 'busy' };
    }
    if (evicted) this.release(evicted);
    const slot = new Slot(address, now);
    this.slots.add(slot);
    const mine = this.perClient.get(address);
    if (mine) mine.add(slot);
    else this.perClient.set(address, new Set([slot]));
    return evicted ? { admitted: slot, evicted } : { admitted: slot };
  }

  /** Gives a slot back; a second release of the same slot does nothing. */
  release(slot: Slot): void {
    if (!this.slots.delete(slot)) return;
    const mine = this.perClient.get(slot.address);
    mine?.delete(slot);
    if (mine?.size === 0) this.perClient.delete(slot.address);
  }
}

/** The slot whose client has been silent longest (a scan: only needed at a limit). */
function stalest(slots: Iterable<Slot>): Slot | undefined {
  let worst: Slot | undefined;
  let worstAt = Infinity;
  for (const s of slots) {
    const at = s.lastProgress();
    if (!worst || at < worstAt) [worst, worstAt] = [s, at];
  }
  return worst;
}
