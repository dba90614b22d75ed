/**
 * Bounds on waits in tests: a peer that never answers, a child that never exits or a socket that
 * never closes fails the test by name instead of holding the suite. The bounds are generous (the
 * CI machine may be several times slower than a workstation); nothing here measures time.
 */
import type { ChildProcess } from 'node:child_process';

/** The default bound of a wait for something that takes milliseconds when all is well. */
export const WAIT_MS = 30_000;

/** The rejection of a wait that ran out of time (so a test expecting some other failure can tell them apart). */
export class TimedOut extends Error {
  override readonly name = 'TimedOut';
}

/** Settles as `p` does, or rejects with TimedOut "timed out after N s waiting for <what>" after `ms`. */
export function within<T>(ms: number, what: string, p: PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimedOut(`timed out after ${ms / 1000} s waiting for ${what}`)), ms);
    Promise.resolve(p).then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * Resolves with the error `p` rejects with within `ms` (a refused connection, a closed port);
 * fails if `p` succeeds, and fails naming `what` if `p` is still pending at `ms` (a connection held
 * open instead of refused) rather than counting that as the expected rejection.
 */
export async function rejectsWithin(ms: number, what: string, p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await within(ms, what, p);
  } catch (e) {
    if (e instanceof TimedOut) throw e;
    return e;
  }
  throw new Error(`expected ${what}, but it succeeded`);
}

/** How a child process ended. */
export interface Exit {
  /** Its exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
}

/** Resolves when `child` has exited (at once if it already has); rejects naming `what` after `ms`. */
export function exited(child: ChildProcess, what: string, ms = WAIT_MS): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return within(ms, `${what} to exit`, new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))));
}

/**
 * Stops `child` whatever state the test left it in: `signal` first, SIGKILL after `graceMs`, and
 * waits (bounded) for the exit. For `finally` blocks; never throws for a child already gone.
 */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<Exit | undefined> {
  if (!child || child.pid === undefined) return undefined;
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const done = new Promise<Exit>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));
  child.kill(signal);
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await within(graceMs + WAIT_MS, `process ${child.pid} to exit after ${signal} and SIGKILL`, done);
  } finally {
    clearTimeout(killer);
  }
}
