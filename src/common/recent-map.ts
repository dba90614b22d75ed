/**
 * RecentMap: the one shape of per-client memory (the DHCP handlers, the progress tracker, the run's
 * event bus). A map kept in the order entries were last written (writing a key moves it to the
 * newest end), with a hard cap: past it, the oldest entry goes. `pruneOldest` drops stale entries
 * from the oldest end and stops at the first fresh one, so with entries written in time order (a
 * hold that ends a fixed time after it was written) expiry costs O(1) per write instead of a scan.
 *
 * The order is a doubly linked list through the entries, not the Map's own insertion order: moving
 * a key to the newest end by deleting and re-adding it to a Map makes V8 rebuild the Map's table
 * every few hundred writes, and on a busy DHCP server those tables (the progress tracker's and the
 * event bus's, rewritten for every event) were most of what reached V8's old generation (~16 MB/s at
 * 12,000 exchanges/s, a Mark-Compact every second). Here writing a key that is present changes two
 * links and allocates nothing; only a new key adds to the Map.
 */
interface Entry<K, V> {
  readonly key: K;
  value: V;
  /** Toward the oldest end. */
  older: Entry<K, V> | undefined;
  /** Toward the newest end. */
  newer: Entry<K, V> | undefined;
}

export class RecentMap<K, V> {
  private readonly map = new Map<K, Entry<K, V>>();
  private oldest: Entry<K, V> | undefined;
  private newest: Entry<K, V> | undefined;

  /**
   * @param cap most entries kept (at least 1)
   * @param onEvict told about each entry pushed out by the cap or by `pruneOldest`
   */
  constructor(
    readonly cap: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`RecentMap cap must be a positive integer, not ${cap}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /**
   * Stores `value` as the newest entry; evicts from the oldest end past the cap. Returns the value
   * it replaced (undefined for a new key), so a read-then-write is one lookup.
   */
  set(key: K, value: V): V | undefined {
    const e = this.map.get(key);
    if (e) {
      const old = e.value;
      e.value = value;
      this.toNewest(e);
      return old;
    }
    const added: Entry<K, V> = { key, value, older: undefined, newer: undefined };
    this.map.set(key, added);
    this.append(added);
    while (this.map.size > this.cap) this.evict(this.oldest!);
    return undefined;
  }

  /** The value of `key`, its entry now the newest (as a `set` of the same value, in one lookup); undefined when absent. */
  touch(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.toNewest(e);
    return e.value;
  }

  delete(key: K): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    this.map.delete(key);
    this.unlink(e);
    return true;
  }

  /** Removes entries from the oldest end while `stale` holds for them (at most `limit` of them); returns how many went. */
  pruneOldest(stale: (value: V, key: K) => boolean, limit = Infinity): number {
    let n = 0;
    while (this.oldest && n < limit && stale(this.oldest.value, this.oldest.key)) {
      this.evict(this.oldest);
      n++;
    }
    return n;
  }

  /**
   * Deletes the oldest entry for which `which` holds (a delete: `onEvict` is not told) and returns
   * its key, or undefined when none does. Walks from the oldest end.
   */
  deleteOldest(which: (value: V, key: K) => boolean): K | undefined {
    for (let e = this.oldest; e; e = e.newer) {
      if (which(e.value, e.key)) {
        this.map.delete(e.key);
        this.unlink(e);
        return e.key;
      }
    }
    return undefined;
  }

  /** Oldest first. Deleting the entry just visited is safe; other changes during the walk are not. */
  *entries(): IterableIterator<[K, V]> {
    for (let e = this.oldest; e; ) {
      const next = e.newer;
      yield [e.key, e.value];
      e = next;
    }
  }

  /** Values, oldest first (as `entries`). */
  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  private evict(e: Entry<K, V>): void {
    this.map.delete(e.key);
    this.unlink(e);
    this.onEvict?.(e.key, e.value);
  }

  private toNewest(e: Entry<K, V>): void {
    if (e === this.newest) return;
    this.unlink(e);
    this.append(e);
  }

  private append(e: Entry<K, V>): void {
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  private unlink(e: Entry<K, V>): void {
    if (e.older) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = e.newer = undefined;
  }
}
