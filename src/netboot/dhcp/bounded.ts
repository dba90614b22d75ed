/**
 * RecentMap: the one shape of per-client memory in the DHCP handlers. A Map kept in the order
 * entries were last written (writing a key moves it to the newest end), with a hard cap: past
 * it, the oldest entry goes. `pruneOldest` drops stale entries from the oldest end and stops at
 * the first fresh one, so with entries written in time order (a hold that ends a fixed time after
 * it was written) expiry costs O(1) per write instead of a scan of the whole map.
 */
export class RecentMap<K, V> {
  private readonly map = new Map<K, V>();

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
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Stores `value` as the newest entry; evicts from the oldest end past the cap. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.cap) this.evictOldest();
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Removes entries from the oldest end while `stale` holds for them (at most `limit` of them); returns how many went. */
  pruneOldest(stale: (value: V, key: K) => boolean, limit = Infinity): number {
    let n = 0;
    for (const [key, value] of this.map) {
      if (n >= limit || !stale(value, key)) break;
      this.map.delete(key);
      this.onEvict?.(key, value);
      n++;
    }
    return n;
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  private evictOldest(): void {
    const first = this.map.entries().next();
    if (first.done) return;
    const [key, value] = first.value;
    this.map.delete(key);
    this.onEvict?.(key, value);
  }
}
