/**
 * Issue 11's table from the anchor harness (bench/anchors/): DHCP, TFTP, HTTP and the HTTP boot
 * storm, hearth beside its peers, repeated `--runs` times (default 3) and interleaved: run 1 of
 * every benchmark and every server, then run 2, ... so drift on the shared machine hits all alike.
 * Each figure is printed as hearth / peer (per-run ratio: min, median, max) with the medians of the
 * raw values.
 *
 *   npm run build
 *   sudo node dist/bench/netboot/anchors.js [--runs 3] [--only dhcp,tftp,http,storm] [--small]
 *       [--hearth dist/cli/hearth.js] [--baseline OTHER/dist/cli/hearth.js] [--out DIR]
 *
 * --report DIR: prints the table of an earlier run from its CSVs in DIR (same --runs, --only,
 * --small and --baseline as that run), running nothing.
 * --baseline: another hearth build (e.g. main's, to measure a change) run as one more server in
 * the HTTP, boot storm and TFTP runs, interleaved with the others; its figures are printed as
 * "baseline" beside the peers, with hearth / baseline as the ratio.
 *
 * --small: a reduced size to check the driver works (wrk 3 s, 10 storm clients, TFTP 8 clients and
 * 1 MiB aggregate, one DHCP avalanche); the figures of issue 11 need the full size. Every
 * invocation of a harness script makes its own namespaces (named with its PID) and its own
 * WORKDIR under --out, so this never touches another run's namespaces. Raw CSVs and logs stay in
 * --out (default a new folder under /tmp).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, benchArgs } from './lib.js';

const USAGE = `usage: sudo node dist/bench/netboot/anchors.js [--runs N] [--only dhcp,tftp,http,storm] [--small]
         [--hearth CLI.js] [--baseline OTHER_CLI.js] [--out DIR] [--report DIR]
Issue 11's table from the anchor harness (bench/anchors/): hearth beside dnsmasq, Kea, tftpd-hpa and
nginx, interleaved runs, each figure as hearth / peer (min, median, max). See bench/README.md.`;
const args = benchArgs(USAGE, { runs: '3', only: 'dhcp,tftp,http,storm', small: false, hearth: path.join(ROOT, 'dist/cli/hearth.js'), baseline: '', out: '', report: '' });
const RUNS = args.number('runs', 1);
const ONLY = new Set(args.text('only').split(','));
const SMALL = args.flag('small');
const HEARTH = path.resolve(args.text('hearth')); // what `npx hearth` runs
const HARNESS = path.join(ROOT, 'bench/anchors');
const BASELINE = args.text('baseline') ? path.resolve(args.text('baseline')) : undefined;
const REPORT = args.text('report');

/** One CSV file as rows of column -> value (empty when the file is missing). */
function csv(file: string): Record<string, string>[] {
  if (!existsSync(file)) return [];
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = (head ?? '').split(',');
  return lines.filter((l) => l.trim()).map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i] ?? String(i), v])));
}

/** Runs one harness script with its environment; its stdout and stderr go to `log`. */
function harness(script: string, args: string[], env: Record<string, string>, log: string): Promise<number> {
  if (REPORT) return Promise.resolve(0);
  return new Promise((resolve) => {
    const out = createWriteStream(log, { flags: 'a' });
    const child = spawn(path.join(HARNESS, script), args, { env: { ...process.env, HEARTH_CLI: HEARTH, QUIET_WAIT: '20', QUIET_PCT: '40', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    // The harness scripts bound every client in time; this bounds the script itself.
    const limit = setTimeout(() => child.kill('SIGTERM'), 30 * 60_000);
    child.on('close', (code) => {
      clearTimeout(limit);
      out.end();
      resolve(code ?? 1);
    });
  });
}

/** Sample values per figure and server: figure -> server -> values, one per run. */
type Samples = Map<string, Map<string, number[]>>;

function add(s: Samples, figure: string, server: string, v: number): void {
  if (!Number.isFinite(v)) return;
  const f = s.get(figure) ?? new Map<string, number[]>();
  s.set(figure, f);
  f.set(server, [...(f.get(server) ?? []), v]);
}

const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
};
const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));

/** Bytes served by one boot storm run. */
function stormBytes(row: Record<string, string>, kernelMiB: number, initrdMiB: number): number {
  return Number(row.ok) * (kernelMiB + initrdMiB) * 1048576;
}

async function main(): Promise<void> {
  if (!REPORT && process.getuid?.() !== 0) throw new Error('run as root (the harness makes network namespaces)');
  if (!existsSync(HEARTH)) throw new Error(`${HEARTH} not found: run npm run build, or pass --hearth`);
  const out = path.resolve(REPORT || args.text('out') || (await mkdtemp(path.join(os.tmpdir(), 'hearth-anchors-'))));
  await mkdir(out, { recursive: true });
  const spec = path.join(out, 'spec');
  /** `netboot serve` of a hearth build, for the harness's "custom" servers. */
  const serve = (cli: string) => `node ${cli} netboot serve -f ${spec}/hearth.yaml --interface veth-srv --address 192.0.2.1 --dhcp off --state ${out}/state --log`;
  const http = (cli: string) => ({ CUSTOM_HTTP_PREFIX: '/assets', CUSTOM_HTTP_CMD: serve(cli) });
  /** The HTTP servers of one run: the peer, hearth, and the baseline build when given. */
  const httpTargets: { tgt: string; who: string; cli: string }[] = [
    { tgt: 'nginx', who: 'nginx', cli: HEARTH },
    { tgt: 'custom', who: 'hearth', cli: HEARTH },
    ...(BASELINE ? [{ tgt: 'custom', who: 'baseline', cli: BASELINE }] : []),
  ];
  const storm = { CLIENTS: SMALL ? '10' : '50', KERNEL_MIB: '15', INITRD_MIB: '60' };
  const wrk = { WRK_SECS: SMALL ? '3' : '10', WRK_CONN: '32' };
  const tftp = { CONC: SMALL ? '8' : '32', AGG_FILES: SMALL ? '1' : '16' };
  const s: Samples = new Map();
  const log = path.join(out, 'harness.log');
  const note = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

  for (let run = 1; run <= RUNS; run++) {
    if (ONLY.has('http')) {
      for (const { tgt, who, cli } of httpTargets) {
        const wd = path.join(out, `http-${run}-${who}`);
        note(`run ${run}: http ${who}`);
        if (tgt === 'custom') await specFor(wd, spec, log, 'f1m', 'f64m');
        await harness('http_bench.sh', [tgt], { ...http(cli), ...wrk, RUNS: '1', WORKDIR: wd }, log);
        for (const r of csv(path.join(wd, 'http.csv'))) {
          if (r.test === 'curl64m') add(s, 'HTTP curl 64 MiB single stream, MB/s', who, Number(r.value));
          if (r.test === 'wrk_rps') add(s, `HTTP wrk ${wrk.WRK_CONN} connections x 1 MiB, req/s`, who, Number(r.value));
        }
        for (const u of csv(path.join(wd, 'server_usage.csv'))) add(s, 'peak RSS in HTTP runs, MiB', who, Number(u.peak_rss_kib) / 1024);
      }
    }
    if (ONLY.has('storm')) {
      for (const { tgt, who, cli } of httpTargets) {
        const wd = path.join(out, `storm-${run}-${who}`);
        note(`run ${run}: boot storm ${who}`);
        if (tgt === 'custom') await specFor(wd, spec, log, 'vmlinuz', 'initrd.img');
        await harness('bootstorm.sh', [tgt], { ...http(cli), ...storm, RUNS: '1', WORKDIR: wd }, log);
        const rows = csv(path.join(wd, 'bootstorm.csv'));
        const bytes = rows.reduce((n, r) => n + stormBytes(r, Number(storm.KERNEL_MIB), Number(storm.INITRD_MIB)), 0);
        for (const r of rows) add(s, `HTTP boot storm ${storm.CLIENTS} clients x (15 + 60 MiB), aggregate MB/s`, who, Number(r.agg_MBps));
        for (const u of csv(path.join(wd, 'server_usage.csv'))) if (bytes > 0) add(s, 'server CPU s per GB served (boot storm)', who, Number(u.cpu_s) / (bytes / 1e9));
      }
    }
    if (ONLY.has('tftp')) {
      const wd = path.join(out, `tftp-${run}`);
      note(`run ${run}: tftp hearth dnsmasq tftpd-hpa${BASELINE ? ' baseline' : ''}`);
      if (BASELINE) await specFor(wd, spec, log, 'f1m', 'f16m', 'tftproot');
      const base: Record<string, string> = BASELINE ? { CUSTOM_TFTP_CMD: serve(BASELINE) } : {};
      await harness('tftp_bench.sh', ['hearth', 'dnsmasq', 'tftpd-hpa', ...(BASELINE ? ['custom'] : [])], { ...tftp, ...base, CLIENT_ADDRS: '1', RUNS: '1', SINGLE_RUNS: '1', WORKDIR: wd }, log);
      const named = (server: string) => (server === 'custom' ? 'baseline' : server);
      for (const r of csv(path.join(wd, 'tftp.csv'))) {
        if (r.file_mib !== (r.mode === 'single' ? '16' : tftp.AGG_FILES)) continue;
        const how = r.client === 'curl' ? 'lock-step (curl)' : 'windowsize 16 (atftp)';
        // Each client sends from an address of its own (CLIENT_ADDRS): from one, hearth would serve 8 at a time.
        const what = r.mode === 'single' ? `TFTP single 16 MiB ${how}, MB/s` : `TFTP ${r.conc} x ${r.file_mib} MiB ${how} from ${r.conc} addresses, aggregate MB/s`;
        add(s, what, named(r.server!), Number(r.MBps));
      }
      for (const u of csv(path.join(wd, 'server_usage.csv'))) add(s, 'peak RSS in TFTP runs, MiB', named(u.server!), Number(u.peak_rss_kib) / 1024);
    }
    if (ONLY.has('dhcp')) {
      const wd = path.join(out, `dhcp-${run}`);
      note(`run ${run}: dhcp hearth kea-persist kea-mt dnsmasq`);
      await harness('dhcp_bench.sh', ['hearth', 'kea-persist', 'kea-mt', 'dnsmasq'], { RUNS: '1', WORKDIR: wd, ...(SMALL ? { PERIOD: '2' } : {}) }, log);
      for (const r of csv(path.join(wd, 'dhcp_runs.csv'))) {
        add(s, 'DHCP ceiling offered rate (< 1 % loss), /s', r.config!, Number(r.ceiling_rate));
        add(s, 'DHCP server CPU per ACK, us', r.config!, Number(r.srv_cpu_us_per_ack));
        add(s, 'peak RSS in DHCP runs, MiB', r.config!, Number(r.srv_peak_rss_kib) / 1024);
      }
      for (const r of csv(path.join(wd, 'dhcp_avalanche.csv'))) add(s, 'DHCP avalanche 200 fresh clients, s', r.config!, Number(r.seconds));
    }
  }
  print(s, out);
}

/** Writes the `hearth netboot serve` spec the HTTP runs use (the harness's files as assets). */
async function specFor(wd: string, spec: string, log: string, kernel: string, initrd: string, assets = 'www'): Promise<void> {
  await mkdir(path.join(wd, assets), { recursive: true });
  const code = await harness('hearth-spec.sh', [spec, path.join(wd, assets), kernel, initrd], {}, log);
  if (code !== 0) throw new Error(`writing the hearth spec failed; see the log`);
}

function print(s: Samples, out: string): void {
  console.log(`\nissue 11 figures, X / peer: per-run ratio min / median / max over ${RUNS} interleaved runs; medians of the raw values`);
  console.log(`${'figure'.padEnd(62)} ${'X / peer'.padEnd(22)} ${'ratio min / med / max'.padEnd(26)} X vs peer (medians)`);
  for (const [figure, byServer] of s) {
    // hearth against every other server; the baseline build (when given) against the peers too.
    for (const subject of ['hearth', 'baseline']) {
      const mine = byServer.get(subject);
      if (!mine) continue;
      for (const [peer, theirs] of byServer) {
        if (peer === 'hearth' || peer === subject) continue;
        const n = Math.min(mine.length, theirs.length);
        const ratios = Array.from({ length: n }, (_, i) => mine[i]! / theirs[i]!).filter(Number.isFinite);
        const r = ratios.length ? `${fmt(Math.min(...ratios))} / ${fmt(median(ratios))} / ${fmt(Math.max(...ratios))}` : 'n/a';
        const raw = `${mine.length ? fmt(median(mine)) : 'n/a'} vs ${fmt(median(theirs))}`;
        console.log(`${figure.padEnd(62)} ${`${subject} / ${peer}`.padEnd(22)} ${r.padEnd(26)} ${raw}`);
      }
    }
  }
  console.log(`raw CSVs and the harness log: ${out}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`anchors: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
