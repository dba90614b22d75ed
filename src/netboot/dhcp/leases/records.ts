/**
 * Shape checks for what the lease files hold: journal lines `{"s":SEQ,"c":[CHANGE...]}` and the
 * snapshot `{"seq":SEQ,"leases":[...],"declines":[...]}`. Each reader returns the typed value or
 * a short reason, so a damaged file is reported by name and line instead of crashing later on an
 * undefined field.
 */
import type { DeclineRecord, Lease, LeaseChange, LeaseState } from './lease.js';

export interface JournalEntry {
  s: number;
  c: LeaseChange[];
}

type Obj = Record<string, unknown>;

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isTime(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function isSeq(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

export function readLease(x: unknown): Lease | string {
  if (!isObj(x)) return 'lease is not an object';
  if (typeof x.mac !== 'string' || !MAC.test(x.mac)) return 'lease has no valid mac';
  if (typeof x.ip !== 'string' || !IPV4.test(x.ip)) return 'lease has no valid ip';
  if (!isTime(x.expiresAt)) return 'lease has no valid expiresAt';
  if (typeof x.fixed !== 'boolean') return 'lease has no valid fixed flag';
  if (x.hostname !== undefined && typeof x.hostname !== 'string') return 'lease hostname is not a string';
  if (x.state !== 'bound' && x.state !== 'released') return 'lease state is neither bound nor released';
  const lease: Lease = { mac: x.mac, ip: x.ip, expiresAt: x.expiresAt, fixed: x.fixed, state: x.state };
  if (x.hostname !== undefined) lease.hostname = x.hostname;
  return lease;
}

export function readDecline(x: unknown): DeclineRecord | string {
  if (!isObj(x)) return 'decline is not an object';
  if (typeof x.ip !== 'string' || !IPV4.test(x.ip)) return 'decline has no valid ip';
  if (!isTime(x.until)) return 'decline has no valid until';
  if (typeof x.mac !== 'string' || !MAC.test(x.mac)) return 'decline has no valid mac';
  return { ip: x.ip, until: x.until, mac: x.mac };
}

function readChange(x: unknown): LeaseChange | string {
  if (!isObj(x)) return 'change is not an object';
  if (x.kind === 'lease') {
    const lease = readLease(x.lease);
    return typeof lease === 'string' ? lease : { kind: 'lease', lease };
  }
  if (x.kind === 'forget') return typeof x.mac === 'string' && MAC.test(x.mac) ? { kind: 'forget', mac: x.mac } : 'forget has no valid mac';
  if (x.kind === 'decline') {
    const decline = readDecline(x.decline);
    return typeof decline === 'string' ? decline : { kind: 'decline', decline };
  }
  return 'change has an unknown kind';
}

/** One journal line (without its newline). */
export function readJournalLine(line: string): JournalEntry | string {
  let x: unknown;
  try {
    x = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (!isObj(x)) return 'not an object';
  if (!isSeq(x.s)) return 'no valid sequence number';
  if (!Array.isArray(x.c)) return 'no change list';
  const c: LeaseChange[] = [];
  for (const item of x.c) {
    const change = readChange(item);
    if (typeof change === 'string') return change;
    c.push(change);
  }
  return { s: x.s, c };
}

/** The snapshot file's text. All or nothing: it is written atomically, so damage is not a crash. */
export function readSnapshot(text: string): ({ seq: number } & LeaseState) | string {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!isObj(x) || !isSeq(x.seq) || !Array.isArray(x.leases) || !Array.isArray(x.declines)) return 'not a lease snapshot (seq, leases, declines)';
  const leases: Lease[] = [];
  for (const [i, item] of x.leases.entries()) {
    const lease = readLease(item);
    if (typeof lease === 'string') return `leases[${i}]: ${lease}`;
    leases.push(lease);
  }
  const declines: DeclineRecord[] = [];
  for (const [i, item] of x.declines.entries()) {
    const decline = readDecline(item);
    if (typeof decline === 'string') return `declines[${i}]: ${decline}`;
    declines.push(decline);
  }
  return { seq: x.seq, leases, declines };
}
