/**
 * The lease state directory's files and how they are read back: the snapshot (`dhcp-leases.json`,
 * all or nothing) and the journal replayed on top of it (`dhcp-leases.journal`, one JSON line per
 * commit). Used by the journal store when it starts and by readers that must not take the lock
 * (`hearth talos discover --state DIR` reads the addresses a running server has leased).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { OperationError } from '../../../common/errors.js';
import { Mirror, type LeaseState } from './lease.js';
import { readJournalLine, readSnapshot } from './records.js';

/** The files of a state directory. */
export function leaseFiles(dir: string): { journal: string; snapshot: string; lock: string } {
  return {
    journal: path.join(dir, 'dhcp-leases.journal'),
    snapshot: path.join(dir, 'dhcp-leases.json'),
    lock: path.join(dir, 'dhcp-leases.lock'),
  };
}

async function readIfPresent(file: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The snapshot into `mirror`; returns the last sequence number it includes (0 when there is none). */
export async function loadSnapshot(file: string, mirror: Mirror): Promise<number> {
  const buf = await readIfPresent(file);
  if (buf === undefined) return 0;
  const snap = readSnapshot(buf.toString('utf8'));
  if (typeof snap === 'string') throw new OperationError(`lease snapshot ${file} is damaged (${snap}); restore it or move it away`);
  mirror.applyState(snap);
  return snap.seq;
}

/** What replaying a journal found. */
export interface Replayed {
  /** Lines read (damaged ones included): how far the journal is beyond the snapshot. */
  entries: number;
  /** The highest sequence number seen. */
  seq: number;
  /** Bytes of complete lines: a torn last line starts at this offset. */
  size: number;
}

/**
 * Applies the journal's entries newer than `snapSeq` to `mirror`. A torn last line (a write cut
 * short by a crash, never acknowledged) is dropped and a damaged line elsewhere skipped, each with
 * a warning naming file:line; every later line still counts (see store.ts for why).
 */
export async function replayJournal(file: string, snapSeq: number, mirror: Mirror, warn: (message: string) => void): Promise<Replayed> {
  const buf = await readIfPresent(file);
  const out: Replayed = { entries: 0, seq: snapSeq, size: 0 };
  if (buf === undefined) return out;
  let start = 0;
  for (let nl = buf.indexOf(10); nl >= 0; start = nl + 1, nl = buf.indexOf(10, start)) {
    out.entries++;
    const entry = readJournalLine(buf.toString('utf8', start, nl));
    if (typeof entry === 'string') {
      warn(`${file}:${out.entries}: damaged line skipped (${entry}); later lines are kept`);
      continue;
    }
    if (entry.s > snapSeq) mirror.apply(entry.c);
    if (entry.s > out.seq) out.seq = entry.s;
  }
  if (start < buf.length) {
    warn(`${file}:${out.entries + 1}: incomplete last line dropped (${buf.length - start} bytes of a write cut short, never acknowledged)`);
  }
  out.size = start;
  return out;
}

/**
 * The leases recorded in a state directory, read without taking its lock and without changing a
 * byte (a running server may be writing; a line it has not finished is simply not seen yet).
 */
export async function readLeaseState(dir: string, warn: (message: string) => void = () => undefined): Promise<LeaseState> {
  const files = leaseFiles(dir);
  const mirror = new Mirror();
  const snapSeq = await loadSnapshot(files.snapshot, mirror);
  await replayJournal(files.journal, snapSeq, mirror, warn);
  return mirror.state();
}
