/**
 * Start-up benchmark: hearth's commands against `node -e 0`, interleaved in the same run, N runs
 * each; prints min/median/max CPU time (user+sys) and peak RSS, and hearth's median over node's.
 * Goals (issue 8): --help and <stage> --help at most 2x, validate at most 4x; plan is reported.
 *
 *   npx tsx bench/startup/startup.ts [--runs 10] [--meter time|rusage]
 *   (hearth runs from dist/ when built, or HEARTH_CLI=/path/to/main.js; tsx otherwise)
 *
 * Meters: `time` is GNU time (/usr/bin/time, Debian package `time`; 10 ms steps), the default when
 * installed; `rusage` preloads an --import hook into both sides that writes process.resourceUsage()
 * at exit (microseconds; both sides pay the hook's own few milliseconds).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, benchArgs, hearthEntry, median, runBenchmark } from '../netboot/lib.js';

const args = benchArgs('usage: npx tsx bench/startup/startup.ts [--runs 10] [--meter time|rusage]', { runs: '10', meter: '' });
const RUNS = args.number('runs', 1);
const EXAMPLE = path.join(ROOT, 'examples/hearth.yaml');
const GNU_TIME = '/usr/bin/time';

interface Sample {
  cpuS: number;
  rssMiB: number;
}

interface Case {
  name: string;
  args: (dir: string) => string[];
  goal?: number;
}

const CASES: Case[] = [
  { name: 'hearth --help', args: () => ['--help'], goal: 2 },
  { name: 'hearth image --help', args: () => ['image', '--help'], goal: 2 },
  { name: 'hearth validate', args: () => ['validate', '-f', EXAMPLE], goal: 4 },
  { name: 'hearth plan', args: (dir) => ['plan', '-f', EXAMPLE, '--out', dir] },
];

/** The fallback meter: a module preloaded into the measured process that reports its own usage. */
function exitHook(dir: string): string {
  const file = path.join(dir, 'usage-hook.mjs');
  writeFileSync(
    file,
    "import { writeFileSync } from 'node:fs';\n" +
      "process.on('exit', () => { const u = process.resourceUsage(); writeFileSync(process.env.HEARTH_BENCH_USAGE, `${u.userCPUTime + u.systemCPUTime} ${u.maxRSS}`); });\n",
  );
  return pathToFileURL(file).href;
}

function measure(argv: string[], dir: string, hook: string | undefined): Sample {
  const usage = path.join(dir, 'usage.txt');
  rmSync(usage, { force: true });
  const [cmd, ...rest] = hook ? [argv[0]!, '--import', hook, ...argv.slice(1)] : [GNU_TIME, '-f', '%U %S %M', '-o', usage, ...argv];
  const r = spawnSync(cmd, rest, { cwd: ROOT, env: { ...process.env, HEARTH_BENCH_USAGE: usage, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${String(r.stderr).trim().split('\n').pop()}`);
  const fields = readFileSync(usage, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  // GNU time: user s, sys s, max RSS KiB; the hook: CPU µs, max RSS KiB.
  return hook ? { cpuS: fields[0]! / 1e6, rssMiB: fields[1]! / 1024 } : { cpuS: fields[0]! + fields[1]!, rssMiB: fields[2]! / 1024 };
}

const stats = (xs: number[], digits: number) => [Math.min(...xs), median(xs), Math.max(...xs)].map((x) => x.toFixed(digits)).join('/');

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-startup-'));
  try {
    const meter = args.text('meter') || (existsSync(GNU_TIME) ? 'time' : 'rusage');
    if (meter !== 'time' && meter !== 'rusage') throw new Error(`--meter ${meter}: expected time or rusage`);
    const hook = meter === 'rusage' ? exitHook(dir) : undefined;
    const hearth = hearthEntry();
    console.log(`hearth: ${hearth.how}; node ${process.version}; ${RUNS} runs each, interleaved; meter: ${hook ? 'process.resourceUsage()' : 'GNU time'}`);
    console.log('CPU s and RSS MiB as min/median/max; ratio = hearth median / node -e 0 median\n');
    const rows: string[][] = [['command', 'CPU s', 'RSS MiB', 'node -e 0 CPU s', 'node RSS MiB', 'CPU ratio', 'RSS ratio', 'goal']];
    for (const c of CASES) {
      const mine: Sample[] = [];
      const peer: Sample[] = [];
      for (let i = 0; i < RUNS; i++) {
        peer.push(measure([process.execPath, '-e', '0'], dir, hook));
        mine.push(measure([...hearth.argv, ...c.args(path.join(dir, `out-${i}`))], dir, hook));
      }
      const cpu = median(mine.map((s) => s.cpuS)) / median(peer.map((s) => s.cpuS));
      const rss = median(mine.map((s) => s.rssMiB)) / median(peer.map((s) => s.rssMiB));
      const verdict = c.goal === undefined ? 'report' : `<= ${c.goal}x: ${cpu <= c.goal && rss <= c.goal ? 'met' : 'MISSED'}`;
      rows.push([
        c.name,
        stats(mine.map((s) => s.cpuS), 3),
        stats(mine.map((s) => s.rssMiB), 0),
        stats(peer.map((s) => s.cpuS), 3),
        stats(peer.map((s) => s.rssMiB), 0),
        `${cpu.toFixed(2)}x`,
        `${rss.toFixed(2)}x`,
        verdict,
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runBenchmark(main);
