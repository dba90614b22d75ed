import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Repository root, whether the tests run from test/ (tsx) or dist/test/ (compiled). */
export const ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../../..') : path.resolve(here, '../..');
})();

/** Test fixtures kept in the repository (see test/fixtures/README.md for their provenance). */
export const FIXTURES = path.join(ROOT, 'test/fixtures');

/** Upstream reference data (Talos schemas and talosctl outputs, Flux CRDs), copied unchanged. */
export const REFERENCE = path.join(FIXTURES, 'upstream');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory `hearth-TAG-*`, removed when the test process exits. */
export function tmpDir(tag: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), `hearth-${tag}-`));
  made.push(d);
  return d;
}

const COMPILED = fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`);

/**
 * How node starts hearth: `bundle` is the `hearth` binary users run (dist/cli/hearth.js, see
 * scripts/bundle.mjs); `modules` is the unbundled tsc output it is made from (one file per module,
 * for tests that look at which modules a command loads). Under tsx both are src/cli/main.ts.
 */
export function hearthEntry(kind: 'bundle' | 'modules' = 'bundle'): string[] {
  if (!COMPILED) return ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')];
  return [path.join(ROOT, kind === 'bundle' ? 'dist/cli/hearth.js' : 'dist/src/cli/main.js')];
}

/** argv that runs the real hearth CLI: the built binary when the tests are compiled, tsx otherwise. */
export function hearthArgv(args: string[], kind: 'bundle' | 'modules' = 'bundle'): string[] {
  return [process.execPath, ...hearthEntry(kind), ...args];
}

/** Runs the hearth command as a user would (see hearthArgv). */
export function runHearth(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; entry?: 'bundle' | 'modules' } = {},
): Promise<RunResult> {
  const [node, ...argv] = hearthArgv(args, opts.entry);
  return new Promise((resolve, reject) => {
    const child = spawn(node!, argv, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const limit = opts.timeoutMs ?? 60_000;
    let late: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      stderr += `\n[runHearth: hearth ${args.join(' ')} still running after ${limit / 1000} s; killed]\n`;
      child.kill('SIGKILL');
      // A process it started may still hold the output pipes open: stop waiting for them.
      late = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code: child.exitCode, stdout, stderr });
      }, 10_000);
    }, limit);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(late);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
