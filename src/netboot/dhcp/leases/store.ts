/**
 * Lease persistence behind a small interface, so the DHCP logic can run on a crash-safe journal
 * (the server) or in memory (unit tests).
 *
 * Durability rule (write-ahead): `commit()` resolves only when the change is on disk (fdatasync);
 * the server sends a DHCPACK only after that. After `kill -9` every acknowledged lease is
 * therefore found again, and an address is never acknowledged to a second MAC.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../common/fs.js';

export interface LeaseRecord {
  mac: string;
  ip: string;
  /** Epoch ms. */
  expiresAt: number;
  fixed: boolean;
  hostname?: string;
  /** released: given back by the client (kept so it gets the same address next time). */
  state: 'bound' | 'released';
}

export interface DeclineRecord {
  ip: string;
  /** Epoch ms until which the address is not handed out. */
  until: number;
  mac: string;
}

export type LeaseChange =
  | { kind: 'lease'; lease: LeaseRecord }
  | { kind: 'forget'; mac: string }
  | { kind: 'decline'; decline: DeclineRecord };

export interface LeaseState {
  leases: LeaseRecord[];
  declines: DeclineRecord[];
}

export interface LeaseStore {
  load(): Promise<LeaseState>;
  /** Resolves when the changes are durable. Changes are applied in call order. */
  commit(changes: LeaseChange[]): Promise<void>;
  close(): Promise<void>;
}

/** Applies changes to a state mirror (shared by the stores). */
class Mirror {
  readonly leases = new Map<string, LeaseRecord>();
  readonly declines = new Map<string, DeclineRecord>();
  apply(changes: LeaseChange[]): void {
    for (const c of changes) {
      if (c.kind === 'lease') this.leases.set(c.lease.mac, c.lease);
      else if (c.kind === 'forget') this.leases.delete(c.mac);
      else this.declines.set(c.decline.ip, c.decline);
    }
  }
  state(now = Date.now()): LeaseState {
    for (const [ip, d] of this.declines) if (d.until <= now) this.declines.delete(ip);
    return { leases: [...this.leases.values()], declines: [...this.declines.values()] };
  }
}

export class MemoryLeaseStore implements LeaseStore {
  private readonly mirror = new Mirror();
  async load(): Promise<LeaseState> {
    return this.mirror.state();
  }
  async commit(changes: LeaseChange[]): Promise<void> {
    this.mirror.apply(changes);
  }
  async close(): Promise<void> {}
}

interface Pending {
  changes: LeaseChange[];
  resolve(): void;
  reject(err: unknown): void;
}

export interface JournalOptions {
  /** fdatasync each batch (default true). Off only for measuring what it costs. */
  sync?: boolean;
  /** Rewrite the snapshot once the journal holds this many entries beyond the live lease count. */
  compactAfter?: number;
}

/**
 * Append-only journal (`dhcp-leases.journal`, one JSON line per commit with a sequence number)
 * plus a snapshot (`dhcp-leases.json`, written atomically with the last sequence it includes).
 * Commits arriving while a write is in flight are grouped into the next write + fdatasync
 * (group commit), so the cost of a sync is shared under load. A torn last line (crash in the
 * middle of a write) was never acknowledged and is discarded on load.
 * A lock file with the owner's PID keeps two servers off one state directory.
 */
export class JournalLeaseStore implements LeaseStore {
  readonly journalFile: string;
  readonly snapshotFile: string;
  readonly lockFile: string;
  private readonly mirror = new Mirror();
  private fh?: fsp.FileHandle;
  private seq = 0;
  private entries = 0;
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;
  private readonly sync: boolean;
  private readonly compactAfter: number;

  constructor(readonly dir: string, opts: JournalOptions = {}) {
    this.journalFile = path.join(dir, 'dhcp-leases.journal');
    this.snapshotFile = path.join(dir, 'dhcp-leases.json');
    this.lockFile = path.join(dir, 'dhcp-leases.lock');
    this.sync = opts.sync ?? true;
    this.compactAfter = opts.compactAfter ?? 5000;
  }

  async load(): Promise<LeaseState> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.lock();
    let snapSeq = 0;
    try {
      const snap = JSON.parse(await fsp.readFile(this.snapshotFile, 'utf8')) as { seq: number } & LeaseState;
      snapSeq = snap.seq;
      this.mirror.apply(snap.leases.map((lease) => ({ kind: 'lease', lease })));
      this.mirror.apply(snap.declines.map((decline) => ({ kind: 'decline', decline })));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`lease snapshot ${this.snapshotFile} is unreadable: ${(err as Error).message}`);
    }
    this.seq = snapSeq;
    let text = '';
    try {
      text = await fsp.readFile(this.journalFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let goodBytes = 0;
    for (const line of text.split('\n')) {
      if (!line.endsWith('}')) break; // torn tail (or the empty string after the last newline)
      let entry: { s: number; c: LeaseChange[] };
      try {
        entry = JSON.parse(line) as { s: number; c: LeaseChange[] };
      } catch {
        break;
      }
      goodBytes += Buffer.byteLength(line) + 1;
      if (entry.s > snapSeq) {
        this.mirror.apply(entry.c);
        this.seq = entry.s;
      }
      this.entries++;
    }
    this.fh = await fsp.open(this.journalFile, constants.O_CREAT | constants.O_WRONLY, 0o600);
    // Drop a torn tail so the next append starts on a clean line.
    const size = (await this.fh.stat()).size;
    if (size !== goodBytes) await this.fh.truncate(Math.min(size, goodBytes));
    return this.mirror.state();
  }

  private async lock(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const h = await fsp.open(this.lockFile, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
        await h.writeFile(String(process.pid));
        await h.close();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number((await fsp.readFile(this.lockFile, 'utf8').catch(() => '')).trim());
        if (pid > 0 && pid !== process.pid && alive(pid)) {
          throw new Error(`lease state ${this.dir} is in use by another hearth DHCP server (pid ${pid})`);
        }
        await fsp.rm(this.lockFile, { force: true }); // stale: its owner died (kill -9)
      }
    }
    throw new Error(`cannot lock ${this.lockFile}`);
  }

  commit(changes: LeaseChange[]): Promise<void> {
    if (this.closed || !this.fh) return Promise.reject(new Error('lease store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ changes, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        let text = '';
        for (const p of batch) text += JSON.stringify({ s: ++this.seq, c: p.changes }) + '\n';
        try {
          await this.fh!.write(text, null, 'utf8');
          if (this.sync) await this.fh!.datasync();
        } catch (err) {
          for (const p of batch) p.reject(err);
          continue;
        }
        for (const p of batch) this.mirror.apply(p.changes);
        this.entries += batch.length;
        for (const p of batch) p.resolve();
        if (this.entries > this.compactAfter + this.mirror.leases.size) await this.compact().catch(() => undefined);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Snapshot (atomic rename, fsync'ed) then an empty journal. Runs between batches only. */
  async compact(): Promise<void> {
    const state = this.mirror.state();
    await writeFileAtomic(this.snapshotFile, JSON.stringify({ seq: this.seq, ...state }), { mode: 0o600 });
    await this.fh!.truncate(0);
    if (this.sync) await this.fh!.datasync();
    this.entries = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing || this.queue.length) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
    await fsp.rm(this.lockFile, { force: true });
  }
}

/**
 * The simple alternative, kept to measure against (bench/netboot/dhcp-store.ts): every commit
 * rewrites the whole state with writeFileAtomic (temp file, fsync, rename, fsync dir).
 */
export class SnapshotLeaseStore implements LeaseStore {
  private readonly mirror = new Mirror();
  private chain: Promise<void> = Promise.resolve();
  readonly file: string;
  constructor(readonly dir: string) {
    this.file = path.join(dir, 'dhcp-leases.json');
  }
  async load(): Promise<LeaseState> {
    try {
      const s = JSON.parse(await fsp.readFile(this.file, 'utf8')) as LeaseState;
      this.mirror.apply(s.leases.map((lease) => ({ kind: 'lease', lease })));
      this.mirror.apply(s.declines.map((decline) => ({ kind: 'decline', decline })));
    } catch {
      // empty
    }
    return this.mirror.state();
  }
  commit(changes: LeaseChange[]): Promise<void> {
    this.chain = this.chain.then(async () => {
      this.mirror.apply(changes);
      await writeFileAtomic(this.file, JSON.stringify(this.mirror.state()), { mode: 0o600 });
    });
    return this.chain;
  }
  async close(): Promise<void> {
    await this.chain;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
