/**
 * Benchmark: `hearth up` from first network boot to platform Ready, for 5 and 50 machines, against
 * the doubles with their simulated delays set to zero: what is left is hearth's own overhead (and
 * the doubles' CPU, which shares the box).
 *
 *   npm run build && node dist/bench/up/up.js [--machines 5,50]
 *
 * The machine doubles (netboot over HTTP, then a Talos node double each) and the HTTPS Kubernetes
 * double run in this process; hearth runs as its own process (the real CLI from dist/) with an
 * --import hook that writes its process.resourceUsage() at exit: its CPU time and peak RSS.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { benchArgs, hearthEntry } from '../netboot/lib.js';
import { upLab } from '../../test/pipeline/up-lab.js';

const args = benchArgs('usage: npm run build && node dist/bench/up/up.js [--machines 5,50]', { machines: '5,50' });
const SIZES = args.text('machines').split(',').map(Number);
for (const n of SIZES) if (!Number.isInteger(n) || n < 5 || n > 90) throw new Error('--machines: each 5..90');

const USAGE_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    "import { writeFileSync } from 'node:fs'; process.on('exit', () => { const u = process.resourceUsage(); " +
      'writeFileSync(process.env.HEARTH_BENCH_USAGE, JSON.stringify({ cpuUs: u.userCPUTime + u.systemCPUTime, maxRssKiB: u.maxRSS })); });',
  );

console.log(`hearth up, first network boot to platform Ready, doubles' delays 0, ${hearthEntry().how}, node ${process.version}`);
for (const count of SIZES) {
  const l = await upLab({ count, stageDelayMs: 0 });
  try {
    const usage = path.join(l.dir, 'usage.json');
    const [node, ...entry] = hearthEntry().argv;
    const started = performance.now();
    const child = spawn(node!, ['--import', USAGE_HOOK, ...entry, ...l.args('--timeout', '10m', '-o', 'json')], {
      env: { ...process.env, HEARTH_BENCH_USAGE: usage },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    let bootedMs = NaN;
    const booted = l.powerOn().then(() => (bootedMs = performance.now() - started));
    const code = await exit;
    await booted.catch(() => undefined);
    const wallMs = performance.now() - started;
    if (code !== 0) throw new Error(`hearth up exited with ${code}: ${err}`);
    const summary = JSON.parse(out.trim().split('\n').at(-1)!) as { stages: { stage: string; elapsedMs?: number }[]; machines: { installed: boolean }[] };
    const u = JSON.parse(readFileSync(usage, 'utf8')) as { cpuUs: number; maxRssKiB: number };
    const stage = (s: string) => ((summary.stages.find((x) => x.stage === s)?.elapsedMs ?? NaN) / 1000).toFixed(2);
    console.log(`  ${String(count).padStart(2)} machines: platform Ready after ${(wallMs / 1000).toFixed(2)} s wall (every double booted and answering after ${(bootedMs / 1000).toFixed(2)} s; stages: netboot ${stage('netboot')} s, bootstrap ${stage('bootstrap')} s, platform ${stage('platform')} s); ` +
      `hearth CPU ${(u.cpuUs / 1e6).toFixed(2)} s, peak RSS ${(u.maxRssKiB / 1024).toFixed(0)} MiB; installed ${summary.machines.filter((m) => m.installed).length}/${count}`);
  } finally {
    await l.stop();
  }
}
