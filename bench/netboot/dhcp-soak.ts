/**
 * DHCP soak of `hearth netboot serve` (full mode): a million DISCOVER/REQUEST exchanges over
 * rotating client IDs, the server's RSS sampled every 10 s (issue 11's soak).
 *
 *   sudo nice -n 10 node dist/bench/netboot/dhcp-soak.js [--exchanges 1000000] [--macs N]
 *     [--window 64] [--timeout-ms 2000] [--rss-every 10] [--rss-bound-mib 20] [--baseline-at 10000]
 *     [--settle 30] [--max-seconds 7200] [--heap-mib N] [--semi-space-mib N]
 *
 * Topology (namespaces named with this process's PID, removed on every exit path): a server
 * namespace with bridge br0 = 192.0.2.1/24 running `hearth netboot serve` (DHCP full, range
 * 192.0.2.10-239, 1 h leases, the lease journal in a temporary --state), and a load namespace
 * (192.0.2.240) running bench/netboot/dhcp-soak-load.ts: `--window` exchanges at a time, each with
 * the next of `--macs` MACs (default: as many as exchanges, so every client is new), DISCOVER →
 * OFFER → REQUEST → ACK, then a RELEASE that gives the address back to the pool.
 *
 * Verdict: PASS when the server is alive at the end and its RSS, within `--settle` seconds after
 * the last exchange (the first sample within the bound counts: the garbage collector returns memory
 * in its own time), is within `--rss-bound-mib` of its RSS when the first `--baseline-at` exchanges
 * had completed; FAIL (exit 1) otherwise, or when fewer than 99 % of the exchanges completed, or
 * the load did not finish within `--max-seconds`. Exit 2: invalid flags or no network namespaces.
 * `--heap-mib` / `--semi-space-mib` run the server (only) with V8's --max-old-space-size /
 * --max-semi-space-size.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { netnsUnavailable } from '../../test/helpers/netns.js';
import { metricSum } from '../../test/netboot/dhcp-lab.js';
import { ROOT, benchArgs, hearthEntry, median, procKiB, rssKiB, runSoak, scratch, siblingArgv, soakSpec, startServe, writeRandom } from './lib.js';

/** Each option with its default. */
const DEFAULTS = {
  exchanges: '1000000',
  macs: '0', // 0: one MAC per exchange
  window: '64',
  'timeout-ms': '2000',
  'rss-every': '10',
  'rss-bound-mib': '20',
  'baseline-at': '10000',
  settle: '30',
  'max-seconds': '7200',
  'heap-mib': '0',
  'semi-space-mib': '0',
};
const args = benchArgs(
  `usage: sudo nice -n 10 node dist/bench/netboot/dhcp-soak.js [--exchanges 1000000] [--macs N]
  [--window 64] [--timeout-ms 2000] [--rss-every 10] [--rss-bound-mib 20] [--baseline-at 10000]
  [--settle 30] [--max-seconds 7200] [--heap-mib N] [--semi-space-mib N]`,
  DEFAULTS,
);
const F = Object.fromEntries(Object.keys(DEFAULTS).map((name) => [name, args.number(name as keyof typeof DEFAULTS)])) as Record<keyof typeof DEFAULTS, number>;
if (F.exchanges < 1 || F.window < 1 || F['rss-every'] <= 0) fail('--exchanges, --window and --rss-every must be positive');

function fail(msg: string): never {
  console.error(`dhcp-soak: ${msg}`);
  process.exit(2);
}
const SERVER = '192.0.2.1';
const LOAD = '192.0.2.240';
const MiB = (kib: number) => (kib / 1024).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  t: number;
  exchanges: number;
  rss: number;
}

async function main(): Promise<number> {
  const why = netnsUnavailable();
  if (why) fail(`needs root and network namespaces: ${why}`);
  const started = Date.now();
  const deadline = started + F['max-seconds']! * 1000;
  const { dir, lab, stopping, cleanup } = await scratch('hearth-dhcp-soak-', 'dsoak');

  try {
    const assets = path.join(dir, 'assets');
    await mkdir(assets);
    writeRandom(path.join(assets, 'vmlinuz'), 4096);
    writeRandom(path.join(assets, 'initramfs'), 4096);
    for (const b of ['undionly.kpxe', 'ipxe.efi', 'snponly.efi']) writeRandom(path.join(assets, b), 4096);
    const spec = path.join(dir, 'hearth.yaml');
    await writeFile(spec, soakSpec('dhcp-soak', SERVER, assets, assets));

    const srv = await lab.ns('s');
    await lab.bridge(srv, 'br0', `${SERVER}/24`);
    const load = await lab.ns('l');
    await lab.veth(srv, 'pl', undefined, load, 'c0', `${LOAD}/24`);
    await lab.attach(srv, 'pl', 'br0');
    await load.must(['ip', 'route', 'add', '255.255.255.255/32', 'dev', 'c0']); // broadcasts out of c0

    const v8 = [F['heap-mib'] ? `--max-old-space-size=${F['heap-mib']}` : '', F['semi-space-mib'] ? `--max-semi-space-size=${F['semi-space-mib']}` : ''].filter(Boolean).join(' ');
    const env = { ...process.env, ...(v8 ? { NODE_OPTIONS: v8 } : {}) };
    const server = await startServe(srv, load, SERVER, spec, ['--state', path.join(dir, 'state'), '--http-port', '8080', '--tftp-port', '69'], env, stopping);
    const pid = server.pid;
    const idle = rssKiB(pid);

    let exchanges = 0;
    const samples: Sample[] = [];
    const sample = () => {
      const rss = rssKiB(pid);
      if (rss) samples.push({ t: (Date.now() - started) / 1000, exchanges, rss });
    };
    const sampler = setInterval(sample, F['rss-every']! * 1000);
    sampler.unref();

    const job = {
      count: F.exchanges,
      macs: F.macs || F.exchanges!,
      window: F.window,
      timeoutMs: F['timeout-ms'],
      deadline: deadline - 30_000,
      milestone: Math.min(F['baseline-at']!, F.exchanges!),
      server: SERVER,
    };
    const t0 = Date.now();
    const gen = load.spawn([...siblingArgv(import.meta.url, 'dhcp-soak-load'), JSON.stringify(job)], { cwd: ROOT });
    let result: Record<string, number> | undefined;
    let genError = '';
    let baseline: number | undefined;
    gen.stderr?.on('data', (d: Buffer) => (genError = (genError + d.toString()).slice(-2000)));
    createInterface({ input: gen.stdout! }).on('line', (line) => {
      const o = JSON.parse(line) as { milestone?: number; progress?: number; failed?: number; result?: Record<string, number>; error?: string };
      if (o.milestone !== undefined) {
        exchanges = o.milestone;
        baseline = rssKiB(pid);
        console.error(`baseline after ${o.milestone.toLocaleString('en')} exchanges: RSS ${MiB(baseline)} MiB`);
      }
      if (o.progress !== undefined) {
        exchanges = o.progress;
        console.error(`  ${o.progress.toLocaleString('en')} / ${F.exchanges!.toLocaleString('en')} exchanges (${o.failed} failed), RSS ${MiB(rssKiB(pid))} MiB`);
      }
      if (o.result) result = o.result;
      if (o.error) genError = o.error;
    });
    await new Promise((r) => gen.once('exit', r));
    const loadSeconds = (Date.now() - t0) / 1000;
    if (!result) throw new Error(`load generator failed: ${genError.trim().split('\n').pop() ?? 'no result'}`);
    exchanges = result.completed!;
    const atEnd = server.crash ? 0 : rssKiB(pid);
    sample();
    // Settle: the first sample within the bound (at most --settle s) ends the wait.
    const bound = F['rss-bound-mib']! * 1024;
    const base = baseline ?? 0;
    let end = atEnd;
    const loadEnd = Date.now();
    while (!server.crash && end > base + bound && Date.now() - loadEnd < F.settle! * 1000) {
      await sleep(Math.min(1000, F['rss-every']! * 1000));
      end = rssKiB(pid);
    }
    const settled = (Date.now() - loadEnd) / 1000;
    clearInterval(sampler);
    const metrics = server.crash ? '' : (await load.exec(['curl', '-sS', '--max-time', '10', `http://${SERVER}:8080/metrics`], { timeoutMs: 15_000 })).stdout;
    const hwm = procKiB(pid, 'VmHWM');

    // Report.
    const dropped = metrics
      .split('\n')
      .map((l) => /^hearth_dhcp_packets_dropped_total\{reason="([^"]+)"\} (\d+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && Number(m[2]) > 0)
      .map((m) => `${m[1]} ${m[2]}`);
    console.log(`\nhearth DHCP soak (server ${hearthEntry().how}${v8 ? ` with ${v8}` : ''}, PID ${pid}; ${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
    console.log(`exchanges: ${result.completed!.toLocaleString('en')} completed of ${result.attempted!.toLocaleString('en')} started (${F.exchanges!.toLocaleString('en')} wanted), ${result.failed} failed (${result.naks} NAKs), ${result.lateAcks} late ACKs released; ${job.macs.toLocaleString('en')} MACs, window ${F.window}; ${loadSeconds.toFixed(0)} s, ${(result.completed! / loadSeconds).toFixed(0)} exchanges/s`);
    console.log(`/metrics: received ${metricSum(metrics, 'hearth_dhcp_packets_received_total')}, answered ${metricSum(metrics, 'hearth_dhcp_packets_sent_total')}, dropped ${metricSum(metrics, 'hearth_dhcp_packets_dropped_total')} (${dropped.join(', ') || 'none'}); leases now ${metricSum(metrics, 'hearth_dhcp_leases')}; server log lines ${server.logLines}`);
    console.log(`RSS (MiB): idle ${MiB(idle)}; after ${job.milestone.toLocaleString('en')} exchanges ${baseline ? MiB(baseline) : 'n/a'}; at the end of the load ${MiB(atEnd)}; ${settled.toFixed(0)} s later ${MiB(end)}; VmHWM ${MiB(hwm)}`);
    const rss = samples.map((s) => s.rss);
    if (rss.length) console.log(`RSS samples every ${F['rss-every']} s (${rss.length}): min ${MiB(Math.min(...rss))}, median ${MiB(median(rss))}, max ${MiB(Math.max(...rss))}`);
    const step = Math.max(1, Math.ceil(samples.length / 30));
    for (let i = 0; i < samples.length; i += step) {
      const s = samples[i]!;
      console.log(`  t ${s.t.toFixed(0).padStart(5)} s  exchanges ≥ ${s.exchanges.toLocaleString('en').padStart(9)}  RSS ${MiB(s.rss).padStart(6)} MiB`);
    }

    const failures: string[] = [];
    if (server.crash) failures.push(server.crash);
    if (baseline === undefined) failures.push(`the first ${job.milestone} exchanges never completed`);
    else if (!server.crash && end > base + bound) failures.push(`RSS ${MiB(end)} MiB ${settled.toFixed(0)} s after the load, more than ${F['rss-bound-mib']} MiB above ${MiB(base)} MiB after the first ${job.milestone.toLocaleString('en')} exchanges`);
    if (result.completed! < 0.99 * F.exchanges!) failures.push(`only ${result.completed} of ${F.exchanges} exchanges completed`);
    console.log(
      failures.length
        ? `verdict: FAIL — ${failures.join(' | ')}`
        : `verdict: PASS — RSS ${MiB(end)} MiB is ${MiB(end - base)} MiB from ${MiB(base)} MiB after the first ${job.milestone.toLocaleString('en')} exchanges (bound ${F['rss-bound-mib']} MiB; ${MiB(atEnd - base)} MiB at the last exchange)`,
    );
    return failures.length ? 1 : 0;
  } finally {
    await cleanup();
  }
}

runSoak('dhcp-soak', main);
