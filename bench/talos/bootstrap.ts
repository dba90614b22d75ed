/**
 * Benchmark: `hearth bootstrap` of 50 Talos node doubles (3 control planes, 47 workers) end to end,
 * from maintenance mode to a healthy cluster and a kubeconfig.
 *
 *   npm run build && npx tsx bench/talos/bootstrap.ts [--nodes 50] [--stage-ms 200]
 *
 * The doubles (and the HTTPS Kubernetes double) run in this process; hearth runs as its own
 * process (the real CLI, from dist/) with an --import hook that writes its process.resourceUsage()
 * at exit, so hearth's CPU time and peak RSS are its own, apart from the doubles' work and from the
 * simulated install delays (each double spends --stage-ms in installing, rebooting and booting).
 * Goal: under 5 s of hearth's CPU time for 50 nodes.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { benchArgs, hearthEntry } from '../netboot/lib.js';
import { lab } from '../../test/talos/bootstrap/lab.js';

const args = benchArgs('usage: npm run build && npx tsx bench/talos/bootstrap.ts [--nodes 50] [--stage-ms 200]', { nodes: '50', 'stage-ms': '200' });
const NODES = args.number('nodes', 1);
const STAGE_MS = args.number('stage-ms');
if (!Number.isInteger(NODES) || NODES < 5 || NODES > 90) throw new Error('--nodes must be 5..90');

/** An --import hook (a data: URL, no file) that writes the CLI's own resource usage at exit. */
const USAGE_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    "import { writeFileSync } from 'node:fs'; process.on('exit', () => { const u = process.resourceUsage(); " +
      'writeFileSync(process.env.HEARTH_BENCH_USAGE, JSON.stringify({ cpuUs: u.userCPUTime + u.systemCPUTime, maxRssKiB: u.maxRSS })); });',
  );

const l = await lab('v1.13.9', { count: NODES, stageDelayMs: STAGE_MS });
try {
  const usage = path.join(l.dir, 'usage.json');
  const [node, ...entry] = hearthEntry().argv;
  const argv = [...entry, ...l.args('--timeout', '5m', '-o', 'json')];
  const started = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(node!, ['--import', USAGE_HOOK, ...argv], { env: { ...process.env, HEARTH_BENCH_USAGE: usage }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.resume();
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (c) => {
      if (c !== 0) process.stderr.write(err);
      resolve(c);
    });
  });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`hearth bootstrap exited with ${code}`);
  const u = JSON.parse(readFileSync(usage, 'utf8')) as { cpuUs: number; maxRssKiB: number };
  const applied = [...l.doubles.values()].filter((d) => d.applyCount === 1 && d.stage === 'running').length;
  const cpuS = u.cpuUs / 1e6;
  console.log(`hearth bootstrap, ${NODES} node doubles (Talos v1.13.9), ${hearthEntry().how}, node ${process.version}`);
  console.log(`  nodes applied and running:      ${applied}/${NODES}`);
  console.log(`  wall time:                      ${(wallMs / 1000).toFixed(2)} s (includes the doubles' simulated delays: 3 × ${STAGE_MS} ms per node, in parallel, and their own CPU)`);
  console.log(`  hearth CPU time (user+sys):     ${cpuS.toFixed(2)} s   goal < 5 s: ${cpuS < 5 ? 'met' : 'NOT met'}`);
  console.log(`  hearth peak RSS:                ${(u.maxRssKiB / 1024).toFixed(0)} MiB`);
} finally {
  await l.stop();
}
