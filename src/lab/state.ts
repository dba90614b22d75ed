/**
 * What `hearth lab up` started, recorded in the lab directory (lab.json, 0600), so `status`,
 * `console` and `down` act on exactly that: each process by PID *and* its start time from
 * /proc/PID/stat, so a PID the kernel has since given to another program is never signalled.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OperationError } from '../common/errors.js';
import type { Accel } from './qemu.js';
import type { LabPlan, VmPlan } from './plan.js';

/** A process the lab started: its PID and its start time (clock ticks after boot, /proc/PID/stat field 22). */
export interface ProcRecord {
  pid: number;
  start: string;
}

export interface LabState {
  version: 1;
  plan: LabPlan;
  /** The spec file the lab runs (absolute). */
  spec: string;
  /** --assets (absolute), when given. */
  assets?: string;
  accel: Accel;
  /** Why that accelerator (shown by up and status). */
  accelNote: string;
  startedAt: string;
  /** The netboot server inside the namespace. */
  netboot?: ProcRecord;
  /** The relay from 127.0.0.1 to the lab's HTTP (`up --http PORT`), and its URL. */
  forward?: ProcRecord & { url: string };
  /** QEMU per VM name. */
  vms: Record<string, ProcRecord>;
  /** The netboot server's HTTP base inside the lab (http://192.0.2.1:8080). */
  httpBase?: string;
}

export const STATE_FILE = 'lab.json';
/** The netboot server's machine timelines (MachineProgress[]), rewritten as they change. */
export const PROGRESS_FILE = 'progress.json';
export const NETBOOT_LOG = 'netboot.log';
export const FORWARD_LOG = 'forward.log';

export function readState(dir: string): LabState | undefined {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as LabState;
    if (s.version !== 1 || !s.plan || typeof s.vms !== 'object') throw new Error('unknown layout');
    return s;
  } catch (e) {
    throw new OperationError(`lab state ${file} is unreadable (${(e as Error).message}); remove it after checking nothing of the lab still runs`);
  }
}

/** Writes a file whole or not at all (temp file + rename). */
export function writeAtomic(file: string, text: string, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

export function writeState(state: LabState): void {
  writeAtomic(path.join(state.plan.dir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

export function removeState(dir: string): void {
  rmSync(path.join(dir, STATE_FILE), { force: true });
}

/** Start time and state letter of a process, from /proc/PID/stat; undefined when there is none. */
function procStat(pid: number): { start: string; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields after it follow the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, start: rest[19]! };
  } catch {
    return undefined;
  }
}

/** The record of a running process (for a child just spawned). */
export function procRecord(pid: number): ProcRecord | undefined {
  const s = procStat(pid);
  return s ? { pid, start: s.start } : undefined;
}

/** True while the recorded process runs: same PID, same start time, not a zombie. */
export function isRunning(rec: ProcRecord | undefined): boolean {
  if (!rec) return false;
  const s = procStat(rec.pid);
  return s !== undefined && s.start === rec.start && s.state !== 'Z' && s.state !== 'X';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(rec: ProcRecord, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!isRunning(rec)) return true;
    await sleep(50);
  }
  return !isRunning(rec);
}

/**
 * Stops a recorded process: SIGTERM, then SIGKILL after `graceMs`. Does nothing to a PID whose
 * start time differs (not ours). Resolves true when it is gone.
 */
export async function stopProcess(rec: ProcRecord | undefined, graceMs = 5000): Promise<boolean> {
  if (!rec || !isRunning(rec)) return true;
  try {
    process.kill(rec.pid, 'SIGTERM');
  } catch {
    return !isRunning(rec);
  }
  if (await waitGone(rec, graceMs)) return true;
  if (!isRunning(rec)) return true;
  try {
    process.kill(rec.pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  return waitGone(rec, 3000);
}

/** Names of the VMs whose QEMU still runs. */
export function runningVms(state: LabState): VmPlan[] {
  return state.plan.vms.filter((vm) => isRunning(state.vms[vm.name]));
}
