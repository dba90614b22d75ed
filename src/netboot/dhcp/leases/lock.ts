/**
 * The lock that keeps two DHCP servers off one state directory. It records who holds it — PID,
 * the process's start time (field 22 of /proc/PID/stat, clock ticks since boot) and the kernel's
 * boot id — because a PID alone is recycled: after a kill -9 or a reboot the same number may
 * belong to an unrelated process, and a lock checked by liveness only would then block start-up
 * for ever. A lock is honoured only while its exact process (same boot, PID and start time) runs.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { exists, writeFileAtomic } from '../../../common/fs.js';
import { InputError, OperationError } from '../../../common/errors.js';

export interface LockOwner {
  pid: number;
  /** /proc/PID/stat start time; undefined where /proc is not available. */
  start?: string;
  boot?: string;
}

/** Start time of a running process, or undefined when it does not exist (or /proc is absent). */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 of the whole line
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  } catch {
    return undefined;
  }
}

export function currentOwner(): LockOwner {
  return { pid: process.pid, start: processStart(process.pid), boot: bootId() };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Is the process that wrote this lock still running? `text` is the lock file: JSON LockOwner,
 * or a bare PID (older hearth), `writtenAt` its mtime (ms).
 */
export function ownerRunning(text: string, writtenAt: number): boolean {
  let owner: LockOwner | undefined;
  try {
    const o = JSON.parse(text) as unknown;
    if (typeof o === 'number') owner = { pid: o };
    else if (typeof o === 'object' && o !== null && typeof (o as LockOwner).pid === 'number') owner = o as LockOwner;
  } catch {
    // not JSON: a torn lock file, nobody owns it
  }
  if (!owner || !Number.isSafeInteger(owner.pid) || owner.pid <= 0) return false;
  const boot = bootId();
  if (owner.boot && boot && owner.boot !== boot) return false; // written before a reboot
  if (!alive(owner.pid)) return false;
  const start = processStart(owner.pid);
  if (start === undefined) return true; // no /proc: liveness is all we can tell
  if (owner.start !== undefined) return owner.start === start;
  // A bare PID: the process is the owner only if it was already running when the lock was written.
  return startedAtMs(start) <= writtenAt + 1000;
}

/** Epoch ms of a /proc start time (clock ticks after boot; USER_HZ is 100 on Linux). */
function startedAtMs(start: string): number {
  let btime = 0;
  try {
    btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1] ?? 0);
  } catch {
    return 0;
  }
  return btime * 1000 + Number(start) * 10;
}

/** Why a state directory cannot be written, in words (EROFS and EACCES are not "missing"). */
export function stateDirProblem(dir: string, err: unknown): Error {
  if (err instanceof OperationError || err instanceof InputError) return err; // already says what is wrong
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EROFS'
      ? 'it is on a read-only file system'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOSPC'
          ? 'no space left on device'
          : (err as Error).message;
  return new OperationError(`cannot use lease state directory ${dir}: ${why}`);
}

/** mkdir -p (mode 0700) with the real reason when it fails. */
export async function makeStateDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw stateDirProblem(dir, (err as NodeJS.ErrnoException).code === 'ENOENT' ? await mkdirReason(dir, err) : err);
  }
}

/**
 * Node's recursive mkdir reports ENOENT when a parent is read-only or not writable: create the
 * missing directories one by one to get the kernel's own reason (EROFS, EACCES).
 */
async function mkdirReason(dir: string, fallback: unknown): Promise<unknown> {
  const missing: string[] = [];
  for (let p = dir; !(await exists(p)); p = path.dirname(p)) {
    missing.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const m of missing) {
    try {
      await fsp.mkdir(m, { mode: 0o700 });
    } catch (err) {
      return err;
    }
  }
  return fallback;
}

/**
 * Takes the lock file (created with its content in one step, so nobody reads it half-written);
 * takes over a lock whose process is gone; refuses one whose process runs, this one included (a
 * second store on the same directory in one process). Left open: two servers started in the same
 * instant over one stale lock could both remove it; the second then fails to bind port 67.
 */
export async function takeLock(file: string, dir: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFileAtomic(file, JSON.stringify(currentOwner()), { mode: 0o600, exclusive: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw stateDirProblem(dir, err);
    }
    let text = '';
    let writtenAt = 0;
    try {
      text = await fsp.readFile(file, 'utf8');
      writtenAt = (await fsp.stat(file)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw stateDirProblem(dir, err);
    }
    if (ownerRunning(text, writtenAt)) {
      const pid = /\d+/.exec(text)?.[0];
      throw new OperationError(`lease state ${dir} is in use by another hearth DHCP server (pid ${pid}); stop it first`);
    }
    try {
      await fsp.rm(file, { force: true }); // stale: its process is gone (kill -9, reboot)
    } catch (err) {
      throw stateDirProblem(dir, err);
    }
  }
  throw new OperationError(`cannot lock ${file}: it keeps being re-created`);
}
