/** Time for the bootstrap engine, injectable so tests control it: now, sleep, and deadlines as signals. */

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A signal that aborts after `ms`. */
  timeout(ms: number): AbortSignal;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', stop);
        resolve();
      }, ms);
      const stop = (): void => {
        clearTimeout(t);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', stop, { once: true });
    }),
  timeout: (ms) => AbortSignal.timeout(Math.max(1, ms)),
};

/** Exponential backoff from 100 ms, capped at 2 s. */
export const backoff = (attempt: number): number => Math.min(2000, 100 * 2 ** Math.min(attempt, 5));

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
