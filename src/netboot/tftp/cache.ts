/**
 * An in-memory cache of the served files (boot files are few, immutable while served, and shared
 * by every machine), so a transfer sends its blocks from memory instead of reading the file per
 * block or per chunk. Bounded in bytes (least recently used entries go first), entries nobody asked
 * for in `idleMs` are dropped, and an entry is only reused while the file's identity (device,
 * inode), size and mtime are unchanged: replacing or rewriting a file invalidates it.
 * A transfer keeps its own reference to the bytes, so eviction never disturbs one in flight.
 */
import type { Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';

interface Entry {
  key: string;
  data: Buffer;
  /** Identity of the file version the bytes came from. */
  stamp: string;
  used: number;
}

export interface FileCacheOptions {
  /** Total bytes held (default 256 MiB); 0 disables the cache. */
  maxBytes?: number;
  /** Drop entries not requested for this long, ms (default 5 minutes). */
  idleMs?: number;
}

const stampOf = (st: Stats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;

export class FileCache {
  readonly maxBytes: number;
  private readonly idleMs: number;
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Buffer>>();
  private bytes = 0;
  private sweeper?: NodeJS.Timeout;

  constructor(opts: FileCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.idleMs = opts.idleMs ?? 5 * 60_000;
  }

  /** Bytes held now. */
  size(): number {
    return this.bytes;
  }

  /**
   * The content of `file` (whose current `stat` is `st`), transformed by `transform` when given
   * (the variant is cached under `variant`), or undefined when it is too large to cache.
   */
  async get(file: string, st: Stats, variant = '', transform?: (b: Buffer) => Buffer): Promise<Buffer | undefined> {
    if (st.size > this.maxBytes) return undefined;
    const key = variant ? `${variant}\0${file}` : file;
    const stamp = stampOf(st);
    const hit = this.entries.get(key);
    if (hit && hit.stamp === stamp) {
      hit.used = Date.now();
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.data;
    }
    if (hit) this.remove(hit);
    const lkey = `${key}\0${stamp}`;
    let p = this.loading.get(lkey);
    if (!p) {
      p = (async () => {
        const raw = await readFile(file);
        const data = transform ? transform(raw) : raw;
        // Only keep bytes that match the version we were asked for (not a file changing under us).
        if (raw.length === st.size) this.insert({ key, data, stamp, used: Date.now() });
        return data;
      })();
      this.loading.set(lkey, p);
      void p.then(
        () => this.loading.delete(lkey),
        () => this.loading.delete(lkey),
      );
    }
    return p;
  }

  private insert(e: Entry): void {
    if (e.data.length > this.maxBytes) return;
    const old = this.entries.get(e.key);
    if (old) this.remove(old);
    for (const victim of this.entries.values()) {
      if (this.bytes + e.data.length <= this.maxBytes) break;
      this.remove(victim);
    }
    this.entries.set(e.key, e);
    this.bytes += e.data.length;
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(1000, this.idleMs / 2));
      this.sweeper.unref();
    }
  }

  private remove(e: Entry): void {
    if (this.entries.get(e.key) !== e) return;
    this.entries.delete(e.key);
    this.bytes -= e.data.length;
  }

  private sweep(): void {
    const limit = Date.now() - this.idleMs;
    for (const e of [...this.entries.values()]) if (e.used < limit) this.remove(e);
    if (this.entries.size === 0) this.clear();
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
