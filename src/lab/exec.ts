/** Running the lab's helper programs (ip, qemu-img, the QEMU probe): argv only, bounded in time. */
import { execFile } from 'node:child_process';
import { OperationError } from '../common/errors.js';

export interface Ran {
  /** Exit status; null when killed (timeout) or not started. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs argv[0] with the rest as arguments; never rejects. */
export function run(argv: string[], timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
      const why = e && code === null && !e.killed ? e.message : '';
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + why, timedOut: Boolean(e?.killed) });
    });
  });
}

/** Runs argv and throws an OperationError with its first error line when it fails. */
export async function must(argv: string[], timeoutMs = 30_000): Promise<string> {
  const r = await run(argv, timeoutMs);
  if (r.code !== 0) {
    const line = r.stderr.split('\n').map((l) => l.trim()).find(Boolean) ?? (r.timedOut ? `timed out after ${timeoutMs / 1000} s` : `exit ${r.code}`);
    throw new OperationError(`${argv.slice(0, 4).join(' ')}: ${line}`);
  }
  return r.stdout;
}
