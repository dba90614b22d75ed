#!/usr/bin/env node
/**
 * `npm test` after the build: runs every compiled test file (dist/test/**\/*.test.js) with the read
 * guard preloaded (test/helpers/fs-guard.ts), in two groups:
 *  - the independent files concurrently (network namespaces carry the PID in their names, servers
 *    take ephemeral ports, temporary directories are unique), the slowest first;
 *  - then the QEMU files one at a time and alone, because TCG emulation is CPU-bound and a VM that
 *    boots slowly beside other work would hit its boot timeouts.
 * HEARTH_TEST_CONCURRENCY overrides the concurrency of the first group.
 * Usage: node test/run-suite.mjs [more node --test flags, e.g. --test-reporter=spec]
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
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

/** node's argv for one group: the guard preloaded, then the test runner over the files. */
export function nodeTestArgs(files, jobs, extra = []) {
  return ['--import', GUARD, '--test', `--test-concurrency=${jobs}`, ...extra, ...files.map((f) => path.join(DIST, f))];
}

/** Totals over the groups, read from each run's closing `# pass N` / `# fail N` / `# skipped N` lines. */
const totals = { pass: 0, fail: 0, skipped: 0 };

/** Runs `node --test` on files with the guard preloaded, passing its output through; resolves with its exit code. */
function nodeTest(files, jobs, extra) {
  const args = nodeTestArgs(files, jobs, extra);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk).slice(-4096);
    });
    child.on('error', () => resolve(1));
    child.on('close', (code, signal) => {
      for (const key of Object.keys(totals)) {
        const m = tail.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
        if (m) totals[key] += Number(m[1]);
      }
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

async function main() {
  const extra = process.argv.slice(2);
  const { concurrent, serial } = groups();
  if (concurrent.length + serial.length === 0) {
    process.stderr.write(`error: no compiled tests under ${DIST}; run npm run build first\n`);
    return 1;
  }
  let failed = false;
  if (concurrent.length > 0) failed = (await nodeTest(concurrent, concurrency(), extra)) !== 0 || failed;
  if (serial.length > 0) failed = (await nodeTest(serial, 1, extra)) !== 0 || failed;
  // One closing line for the whole suite (the groups above each print their own TAP summary).
  process.stdout.write(`\nsuite: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped\n`);
  return failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then((code) => (process.exitCode = code));
}
