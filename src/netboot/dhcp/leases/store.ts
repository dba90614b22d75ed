/**
 * Lease persistence behind a small interface (lease.ts), so the DHCP logic can run on a crash-safe
 * journal (the server) or in memory (unit tests).
 *
 * Durability rule (write-ahead): `commit()` resolves only when the change is on disk (every byte
 * written, then fdatasync); the server sends a DHCPACK only after that. After `kill -9` every
 * acknowledged lease is therefore found again, and an address is never acknowledged to a second MAC.
 */
import { promises as fsp } from 'node:fs';
import { OperationError } from '../../../common/errors.js';
import { leaseFiles, loadSnapshot, replayJournal } from './files.js';
import { writeFileAtomic } from '../../../common/fs.js';
import { openAppendOnly, type JournalFile, type OpenJournalFile } from './journal-file.js';
import { Mirror, type LeaseChange, type LeaseState, type LeaseStore } from './lease.js';
import { makeStateDir, stateDirProblem, takeLock } from './lock.js';

export type { DeclineRecord, Lease, LeaseChange, LeaseState, LeaseStore } from './lease.js';
export { MemoryLeaseStore } from './lease.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** Commits waiting for the next write: their changes in order, and the one promise they all get. */
interface Batch extends Waiter {
  readonly changes: LeaseChange[][];
  readonly done: Promise<void>;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { changes: [], done, resolve, reject };
}

/** Size the journal's reused encode buffer starts at (it grows to the largest batch written). */
const ENCODE_BYTES = 16 * 1024;

export interface JournalOptions {
  /** fdatasync each batch (default true). Off only for measuring what it costs. */
  sync?: boolean;
  /** Rewrite the snapshot once the journal holds this many entries beyond the live lease count. */
  compactAfter?: number;
  /** Told about damage found while loading (a dropped torn tail, a skipped line). Default: stderr. */
  warn?(message: string): void;
  /** Opens the journal file (tests put faults between the store and the disk). */
  openFile?: OpenJournalFile;
  /**
   * Group-commit window (default 2 ms): every write + fdatasync of commits is preceded by this
   * long a wait, for others to join it — after a commit arrives at an idle journal, and after the
   * previous write finished when commits queued up meanwhile. Each commit still resolves only once
   * on disk; the window trades up to that much ACK latency for far fewer syncs (and thread-pool
   * hand-offs): at most one write per window plus a sync's duration, instead of one per exchange
   * at low rates or back-to-back writes at high ones. 0 writes at once.
   */
  groupCommitMs?: number;
  /** How the journal waits out the window (tests control it); default a timer. */
  wait?(ms: number): Promise<void>;
}

const timer = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return 'no space left on device';
  if (code === 'EDQUOT') return 'disk quota exceeded';
  if (code === 'EIO') return 'I/O error';
  return (err as Error).message;
}

/**
 * Append-only journal (`dhcp-leases.journal`, one JSON line per commit with a sequence number)
 * plus a snapshot (`dhcp-leases.json`, written atomically with the last sequence it includes).
 * Commits arriving while a write is in flight or during the `groupCommitMs` window before each
 * write are grouped into one write + fdatasync (group commit), so the cost of a sync is shared
 * under load.
 *
 * Writing: the journal is opened O_APPEND, so each line lands at the end of the file after a
 * restart or a compaction alike. A write is checked byte for byte; a short write is continued, and
 * a write or sync that fails (ENOSPC, EIO) rejects the whole batch and cuts the file back to the
 * last complete line, so no half line is left for later lines to follow. If even that cut fails,
 * the store refuses every further commit (no ACK without a sound journal) until restarted.
 *
 * Loading: a torn last line (no newline: a write cut short by a crash, never acknowledged) is
 * dropped with a warning. A damaged line elsewhere is skipped with a warning naming file:line, and
 * every later line is still applied; the file is not cut. Why skip rather than refuse to start:
 * refusing turns one damaged line into a boot network where no machine gets an address until
 * someone edits the file by hand, while skipping costs at most the one change that line carried
 * (and the later lines, which hold the newest state of every other client, all count); ISC Kea's
 * lease file loader makes the same choice. The damaged line stays in the file for inspection
 * until the next compaction. The snapshot, written atomically, is all or nothing: if it is
 * damaged the store refuses to start with a one-line error naming it.
 *
 * A lock file naming the owning process (lock.ts) keeps two servers off one state directory.
 */
export class JournalLeaseStore implements LeaseStore {
  readonly journalFile: string;
  readonly snapshotFile: string;
  readonly lockFile: string;
  private readonly mirror = new Mirror();
  private file?: JournalFile;
  /** Bytes of complete, durable lines in the journal: where a failed write is cut back to. */
  private size = 0;
  private seq = 0;
  private entries = 0;
  /** Commits for the next write (undefined: none), all settled by one promise. */
  private queue: Batch | undefined;
  /** The journal lines of a batch are encoded here, reused by every write (one writer at a time). */
  private encoded = Buffer.allocUnsafe(ENCODE_BYTES);
  private compactWaiters: Waiter[] = [];
  /** A flush loop is running; `idle` settles when it ends. */
  private flushing = false;
  private idle: Promise<void> = Promise.resolve();
  private closed = false;
  private broken?: Error;
  private readonly sync: boolean;
  private readonly compactAfter: number;
  private readonly warn: (message: string) => void;
  private readonly openFile: OpenJournalFile;
  private readonly groupCommitMs: number;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(
    readonly dir: string,
    opts: JournalOptions = {},
  ) {
    const files = leaseFiles(dir);
    this.journalFile = files.journal;
    this.snapshotFile = files.snapshot;
    this.lockFile = files.lock;
    this.sync = opts.sync ?? true;
    this.compactAfter = opts.compactAfter ?? 5000;
    this.warn = opts.warn ?? ((m) => process.stderr.write(`hearth: warning: ${m}\n`));
    this.openFile = opts.openFile ?? openAppendOnly;
    this.groupCommitMs = opts.groupCommitMs ?? 2;
    this.wait = opts.wait ?? timer;
  }

  async load(): Promise<LeaseState> {
    if (this.file || this.closed) throw new OperationError('lease store loaded twice');
    await makeStateDir(this.dir);
    await takeLock(this.lockFile, this.dir);
    try {
      const snapSeq = await loadSnapshot(this.snapshotFile, this.mirror);
      const replayed = await replayJournal(this.journalFile, snapSeq, this.mirror, this.warn);
      this.seq = replayed.seq;
      this.entries = replayed.entries;
      this.size = replayed.size;
      this.file = await this.openFile(this.journalFile);
      if ((await this.file.size()) > this.size) {
        await this.file.truncate(this.size); // the torn tail: the next line starts clean
        if (this.sync) await this.file.datasync();
      }
    } catch (err) {
      await this.file?.close().catch(() => undefined);
      this.file = undefined;
      await fsp.rm(this.lockFile, { force: true }).catch(() => undefined);
      throw stateDirProblem(this.dir, err);
    }
    return this.mirror.state();
  }

  commit(changes: LeaseChange[]): Promise<void> {
    if (this.closed || !this.file) return Promise.reject(new OperationError('lease store is closed'));
    if (this.broken) return Promise.reject(this.broken);
    const batch = (this.queue ??= newBatch());
    batch.changes.push(changes);
    this.kick();
    return batch.done;
  }

  /** Writes a snapshot and empties the journal; queued behind the commits in flight. */
  compact(): Promise<void> {
    if (this.closed || !this.file) return Promise.reject(new OperationError('lease store is closed'));
    return new Promise((resolve, reject) => {
      this.compactWaiters.push({ resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    this.idle = this.flush().catch((err: unknown) => {
      // A bug, not an I/O error (those are handled per batch): stop acknowledging.
      this.broken = new OperationError(`lease journal ${this.journalFile}: ${errnoText(err)}`);
      this.queue?.reject(this.broken);
      this.queue = undefined;
      for (const w of this.compactWaiters.splice(0)) w.reject(this.broken);
    });
  }

  /** The only writer: batches of commits and compactions, one at a time. */
  private async flush(): Promise<void> {
    try {
      while (this.queue !== undefined || this.compactWaiters.length > 0) {
        if (this.queue !== undefined) {
          if (this.groupCommitMs > 0) await this.wait(this.groupCommitMs); // let more commits join
          await this.writeBatch();
        }
        const due = this.entries > this.compactAfter + this.mirror.leases.size;
        if (this.compactWaiters.length > 0 || due) await this.compactFor(this.compactWaiters.splice(0));
      }
    } finally {
      // In the same tick as the last look at the queues, so a commit queued after it starts a new loop.
      this.flushing = false;
    }
  }

  private async compactFor(waiters: Waiter[]): Promise<void> {
    try {
      await this.compactNow();
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
      if (!waiters.length) this.warn(`lease journal compaction failed: ${errnoText(err)}`);
    }
  }

  private async writeBatch(): Promise<void> {
    const batch = this.queue;
    this.queue = undefined;
    if (!batch) return;
    if (this.broken) return batch.reject(this.broken);
    const n = batch.changes.length;
    const data = this.encode(batch.changes);
    try {
      await this.appendDurably(data);
    } catch (err) {
      batch.reject(this.broken ?? new OperationError(`cannot write lease journal ${this.journalFile}: ${errnoText(err)}`));
      return;
    }
    this.seq += n;
    this.size += data.length;
    this.entries += n;
    for (const c of batch.changes) this.mirror.apply(c);
    batch.resolve();
  }

  /** One JSON line per commit, numbered from seq + 1, in the reused buffer (valid until the next encode). */
  private encode(commits: LeaseChange[][]): Buffer {
    let used = 0;
    for (let i = 0; i < commits.length; i++) {
      const line = JSON.stringify({ s: this.seq + 1 + i, c: commits[i] });
      // UTF-8 takes at most 3 bytes per UTF-16 unit, and the newline one.
      const need = used + line.length * 3 + 1;
      if (need > this.encoded.length) {
        const bigger = Buffer.allocUnsafe(Math.max(need, this.encoded.length * 2));
        this.encoded.copy(bigger, 0, 0, used);
        this.encoded = bigger;
      }
      used += this.encoded.write(line, used, 'utf8');
      this.encoded[used++] = 10;
    }
    return this.encoded.subarray(0, used);
  }

  /** All of `data` at the end of the journal and synced, or none of it (the file cut back). */
  private async appendDurably(data: Buffer): Promise<void> {
    const file = this.file!;
    const stalled = () => Object.assign(new Error('the write made no progress'), { code: 'EIO' });
    try {
      let done = 0;
      let synced = !this.sync;
      if (file.appendAndSync) {
        // The usual case in one step: everything written, and synced.
        done = await file.appendAndSync(data, this.sync);
        if (!(done > 0)) throw stalled();
        synced ||= done === data.length;
      }
      while (done < data.length) {
        const n = await file.append(done === 0 ? data : data.subarray(done));
        if (!(n > 0)) throw stalled();
        done += n;
      }
      if (!synced) await file.datasync();
    } catch (err) {
      try {
        await file.truncate(this.size);
      } catch (cut) {
        this.broken = new OperationError(
          `lease journal ${this.journalFile} may end in a partial line: a write failed (${errnoText(err)}) and cutting it back failed (${errnoText(cut)}); no lease is acknowledged until hearth restarts`,
        );
      }
      throw err;
    }
  }

  /** Snapshot (atomic: temp file, fsync, rename, fsync dir), then an empty journal. */
  private async compactNow(): Promise<void> {
    if (this.broken) throw this.broken;
    await writeFileAtomic(this.snapshotFile, JSON.stringify({ seq: this.seq, ...this.mirror.state() }), { mode: 0o600 });
    // The snapshot holds everything up to seq, so the journal may start over; being O_APPEND, its
    // next line goes to offset 0. A crash before the cut is harmless: replay skips s <= seq.
    await this.file!.truncate(0);
    this.size = 0;
    this.entries = 0;
    if (this.sync) await this.file!.datasync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.idle;
    await this.file?.close();
    this.file = undefined;
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
    this.file = leaseFiles(dir).snapshot;
  }
  async load(): Promise<LeaseState> {
    await loadSnapshot(this.file, this.mirror);
    return this.mirror.state();
  }
  commit(changes: LeaseChange[]): Promise<void> {
    const done = this.chain.then(async () => {
      this.mirror.apply(changes);
      await writeFileAtomic(this.file, JSON.stringify({ seq: 0, ...this.mirror.state() }), { mode: 0o600 });
    });
    this.chain = done.catch(() => undefined); // one failed write does not fail the commits after it
    return done;
  }
  async close(): Promise<void> {
    await this.chain;
  }
}
