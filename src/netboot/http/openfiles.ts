/**
 * Open file descriptors shared by the downloads of one file version, so a request does not open
 * and close the file (two thread-pool round trips): sendfile(2) reads at an explicit offset, so
 * many transfers can share one descriptor. A descriptor is counted per holder and closed once no
 * transfer holds it and it has been idle for `idleMs`, or at once when its file version is no
 * longer the current one (a newer version of the same path was opened). At most `maxIdle`
 * descriptors are kept open while unused.
 */
import type { Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  key: string;
  fh: Promise<FileHandle>;
  holders: number;
  /** When the last holder let go, ms (for the idle sweep). */
  idleSince: number;
}

/** A descriptor held by one transfer; `release` exactly once when the transfer ends. */
export interface HeldFile {
  fd: number;
  release(): void;
}

const versionKey = (file: string, st: Stats) => `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;

export class OpenFiles {
  /** Version key -> entry; and path -> the key of its newest version. */
  private readonly entries = new Map<string, Entry>();
  private readonly current = new Map<string, string>();
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly idleMs = 10_000,
    private readonly maxIdle = 64,
  ) {}

  /** Descriptors open now (held or idle). */
  get size(): number {
    return this.entries.size;
  }

  /** Holds taken and not yet released (one per transfer running). */
  get held(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.holders;
    return n;
  }

  /** A descriptor for `file` as of `st`, shared with other transfers of that version. */
  async acquire(file: string, st: Stats): Promise<HeldFile> {
    const key = versionKey(file, st);
    let e = this.entries.get(key);
    if (!e) {
      const fh = open(file, 'r');
      const entry: Entry = { key, fh, holders: 0, idleSince: 0 };
      e = entry;
      this.entries.set(key, entry);
      const older = this.current.get(file);
      this.current.set(file, key);
      if (older && older !== key) this.retire(older);
      fh.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    }
    e.holders++;
    const entry = e;
    let fd: number;
    try {
      fd = (await entry.fh).fd;
    } catch (err) {
      entry.holders--;
      throw err;
    }
    let released = false;
    return {
      fd,
      release: () => {
        if (released) return;
        released = true;
        if (--entry.holders > 0) return;
        entry.idleSince = Date.now();
        if (this.current.get(file) !== entry.key) this.close(entry);
        else this.idle();
      },
    };
  }

  /** Closes every descriptor nobody holds (server shutdown); held ones close when released. */
  closeIdle(): void {
    for (const e of [...this.entries.values()]) if (e.holders === 0) this.close(e);
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** A version superseded by a newer one: closed now if idle, else when its last holder lets go. */
  private retire(key: string): void {
    const e = this.entries.get(key);
    if (e && e.holders === 0) this.close(e);
  }

  private close(e: Entry): void {
    if (this.entries.get(e.key) !== e) return;
    this.entries.delete(e.key);
    const file = e.key.slice(0, e.key.indexOf('\0'));
    if (this.current.get(file) === e.key) this.current.delete(file);
    void e.fh.then((fh) => fh.close()).catch(() => undefined);
  }

  /** Keeps at most `maxIdle` unused descriptors, and sweeps the rest after `idleMs`. */
  private idle(): void {
    const idle = [...this.entries.values()].filter((e) => e.holders === 0);
    for (const e of idle.sort((a, b) => a.idleSince - b.idleSince).slice(0, Math.max(0, idle.length - this.maxIdle))) this.close(e);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(1000, this.idleMs / 2));
      this.sweeper.unref();
    }
  }

  private sweep(): void {
    const limit = Date.now() - this.idleMs;
    for (const e of [...this.entries.values()]) if (e.holders === 0 && e.idleSince <= limit) this.close(e);
    if (this.entries.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
