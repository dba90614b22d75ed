#!/usr/bin/env node
/**
 * `npm test` after the build: runs every compiled test file (dist/test/**\/*.test.js), each in its
 * own `node --test` process with the read guard preloaded (test/helpers/fs-guard.ts) and under the
 * limits below (a stuck file fails by name instead of holding the run), in two groups:
 *  - the independent files concurrently (network namespaces carry the PID in their names, servers
 *    take ephemeral ports, temporary directories are unique), the slowest first;
 *  - then the QEMU files one at a time and alone, because TCG emulation is CPU-bound and a VM that
 *    boots slowly beside other work would hit its boot timeouts.
 * HEARTH_TEST_CONCURRENCY overrides the concurrency of the first group. A file's output is printed
 * whole when it ends, after a `# file <path>: ok|FAILED in N s` line.
 * Usage: node test/run-suite.mjs [more node --test flags, e.g. --test-reporter=spec]
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist', 'test');
export const GUARD = path.join(DIST, 'helpers', 'fs-guard.js');

/** Files that need the machine to themselves (matched on the path below dist/test). */
export const SERIAL = [/(^|\/)(dhcp-)?qemu\.test\.js$/, /(^|\/)talos-config-qemu\.test\.js$/];

/** The longest-running files (each spawns the CLI many times): started first so they overlap the rest. */
const SLOW_FIRST = ['cli/cli', 'platform/install', 'talos/cli', 'platform/plan', 'platform/render', 'image/cli', 'platform/status', 'talos/config', 'netboot/cli'];

/** Every compiled test file, as paths relative to dist/test with forward slashes. */
export function testFiles(dir = DIST, prefix = '') {
  /** @type {string[]} */
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...testFiles(path.join(dir, e.name), rel));
    else if (e.name.endsWith('.test.js')) out.push(rel);
  }
  return out.sort();
}

/** The two groups, in run order: [concurrent files (slowest first), serial files]. */
export function groups(files = testFiles()) {
  const serial = files.filter((f) => SERIAL.some((re) => re.test(f))).sort();
  const rank = (f) => {
    const i = SLOW_FIRST.indexOf(f.replace(/\.test\.js$/, ''));
    return i === -1 ? SLOW_FIRST.length : i;
  };
  const concurrent = files.filter((f) => !serial.includes(f)).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return { concurrent, serial };
}

function concurrency() {
  const env = Number(process.env.HEARTH_TEST_CONCURRENCY);
  if (Number.isInteger(env) && env > 0) return env;
  // Much of the suite waits on child processes and timers, so one more than the cores keeps them busy.
  return Math.max(2, Math.min(4, os.availableParallelism() + 1));
}

/** node's argv for `node --test` over files: the guard preloaded, the concurrency, more flags, then the files. */
export function nodeTestArgs(files, jobs, extra = []) {
  return ['--import', GUARD, '--test', `--test-concurrency=${jobs}`, ...extra, ...files.map((f) => path.join(DIST, f))];
}

/** Totals over the files, read from each run's closing `# pass N` / `# fail N` / `# cancelled N` / `# skipped N` lines. */
const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0 };

/** A whole number from the environment, or the default. */
function envNumber(name, fallback) {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/**
 * The limits that keep one stuck file from holding CI: a test that runs past HEARTH_TEST_MINUTES
 * (default 10) fails by name (node's --test-timeout); a file that runs past HEARTH_TEST_FILE_MINUTES
 * (default 20) is stopped with its processes and fails by name.
 */
export function limits() {
  return { testMs: envNumber('HEARTH_TEST_MINUTES', 10) * 60_000, fileMs: envNumber('HEARTH_TEST_FILE_MINUTES', 20) * 60_000 };
}

/**
 * node's argv for one test file: the guard preloaded, the per-test timeout, an exit once the last
 * test has ended (a handle a test left open must not hold the run), then the file.
 */
export function fileArgs(file, extra = [], testMs = limits().testMs) {
  return nodeTestArgs([file], 1, [`--test-timeout=${testMs}`, '--test-force-exit', ...extra]);
}

/** The processes of a process group that still run (zombies waiting to be reaped do not count), from /proc. */
function liveMembers(pgid) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The process groups of the files under way, stopped if the suite itself is interrupted. */
const running = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(130);
  });
}

/**
 * Runs one file in its own process group, its output held and printed whole when it ends (files run
 * side by side); resolves with whether it passed. A file stopped by a limit says which and why.
 */
function runFile(file, extra) {
  const lim = limits();
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, fileArgs(file, extra, lim.testMs), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child.pid);
    let out = '';
    let stopped = '';
    let leftover = false;
    let exitTimer;
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const stop = (why) => {
      if (stopped) return;
      stopped = why;
      killGroup();
    };
    const fileTimer = setTimeout(() => stop(`ran past ${lim.fileMs / 60_000} minutes`), lim.fileMs);
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    const done = (code, signal) => {
      running.delete(child.pid);
      clearTimeout(fileTimer);
      clearTimeout(exitTimer);
      const counts = {};
      for (const key of Object.keys(totals)) {
        const m = out.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
        counts[key] = m ? Number(m[1]) : 0;
        totals[key] += counts[key];
      }
      // Whatever the file started and left behind in its process group goes with it.
      if (liveMembers(child.pid).length > 0) {
        leftover = true;
        killGroup();
      }
      const passed = !stopped && code === 0;
      if (stopped) totals.fail += 1;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`\n# file ${file}: ${passed ? 'ok' : 'FAILED'} in ${secs} s\n${out}`);
      const why = stopped
        ? `${stopped}; stopped it`
        : passed || counts.fail > 0
          ? ''
          : counts.cancelled > 0
            ? `has a test that did not end within ${lim.testMs / 60_000} minutes, or the file did not load`
            : `exited with ${signal ?? `code ${code}`}`;
      if (why) process.stdout.write(`\nsuite: ${file} ${why}\n`);
      if (leftover) process.stdout.write(`\nsuite: warning: ${file} left a process running after it exited; stopped it\n`);
      resolve(passed);
    };
    child.on('error', () => done(1, null));
    // Output pipes held past the exit belong to a process the file started and left running.
    child.on('exit', () => {
      exitTimer = setTimeout(() => {
        leftover = true;
        killGroup();
      }, 10_000);
    });
    child.on('close', done);
  });
}

/** Runs files, jobs at a time, the given order being the start order; resolves with the files that failed. */
export async function runFiles(files, jobs, extra = []) {
  const queue = [...files];
  const failed = [];
  const worker = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) if (!(await runFile(f, extra))) failed.push(f);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
  return failed;
}

async function main() {
  const extra = process.argv.slice(2);
  const { concurrent, serial } = groups();
  if (concurrent.length + serial.length === 0) {
    process.stderr.write(`error: no compiled tests under ${DIST}; run npm run build first\n`);
    return 1;
  }
  const failed = [...(await runFiles(concurrent, concurrency(), extra)), ...(await runFiles(serial, 1, extra))];
  // One closing line for the whole suite (each file prints its own TAP summary above), naming the files that failed.
  if (failed.length > 0) process.stdout.write(`\nsuite: failed: ${failed.join(' ')}\n`);
  process.stdout.write(`\nsuite: ${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped} skipped\n`);
  return failed.length > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then((code) => (process.exitCode = code));
}
