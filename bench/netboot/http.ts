/**
 * HTTP benchmark: 32 concurrent downloads of a 64 MiB initramfs from hearth and from nginx, in
 * the same run; hearth's RSS is sampled throughout (goal: under 200 MiB) and the maximum printed.
 *
 *   sudo npx tsx bench/netboot/http.ts [--reps 3] [--clients 32] [--size-mib 64]
 *   (hearth runs from dist/ when built, or HEARTH_CLI=/path/to/main.js; tsx otherwise)
 *
 * Each server runs alone in its own network namespace on loopback, nothing pinned. nginx as users
 * run it: 2 worker processes, sendfile on.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable, which, type Netns } from '../../test/helpers/netns.js';
import { ROOT, benchArgs, benchSpec, hearthEntry, hearthServe, mbps, median, rssKiB, waitPort, writeRandom, runBenchmark } from './lib.js';

const args = benchArgs('usage: sudo npx tsx bench/netboot/http.ts [--reps 3] [--clients 32] [--size-mib 64]', { reps: '3', clients: '32', 'size-mib': '64' });
const REPS = args.number('reps', 1);
const CLIENTS = args.number('clients', 1);
const SIZE = args.number('size-mib', 1) * 1048576;

async function measure(ns: Netns, url: string): Promise<number> {
  const one = `curl -sS --fail --max-time 300 -o /dev/null '${url}'`;
  const script = Array.from({ length: CLIENTS }, () => `${one} &`).join('\n') + '\nfail=0; for j in $(jobs -p); do wait $j || fail=1; done; exit $fail';
  const t0 = process.hrtime.bigint();
  const r = await ns.exec(['bash', '-c', script], { timeoutMs: 600_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0) throw new Error(`${url}: ${r.stderr.slice(0, 400)}`);
  return mbps(SIZE * CLIENTS, ms);
}

async function main() {
  const why = netnsUnavailable();
  if (why) throw new Error(`needs root and network namespaces: ${why}`);
  for (const b of ['nginx', 'curl']) if (!which(b)) throw new Error(`${b} is not installed`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-bench-http-'));
  const lab = new NetnsLab('bhttp');
  try {
    writeRandom(path.join(dir, 'initramfs'), SIZE);
    writeRandom(path.join(dir, 'f1m'), 1 << 20);
    writeRandom(path.join(dir, 'f16m'), 1 << 20);
    const spec = path.join(dir, 'hearth.yaml');
    await writeFile(spec, benchSpec(dir));
    const conf = path.join(dir, 'nginx.conf');
    await writeFile(
      conf,
      `daemon off; worker_processes 2; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${dir}/t; proxy_temp_path ${dir}/t; fastcgi_temp_path ${dir}/t; uwsgi_temp_path ${dir}/t; scgi_temp_path ${dir}/t;
  server { listen 127.0.0.1:8080; root ${dir}; location /assets/ { alias ${dir}/; } } }
`,
    );
    const hNs = await lab.ns('h');
    const nNs = await lab.ns('n');
    const h = hNs.spawn(hearthServe(spec, ['--tftp-port', '6969', '--http-port', '8080']), { cwd: ROOT });
    h.stderr?.resume();
    h.stdout?.resume();
    const n = nNs.spawn(['nginx', '-c', conf, '-e', `${dir}/nginx.err`]);
    n.stderr?.resume();
    await waitPort(hNs, ['curl', '-sf', '-o', '/dev/null', 'http://127.0.0.1:8080/healthz']);
    await waitPort(nNs, ['curl', '-sf', '-o', '/dev/null', 'http://127.0.0.1:8080/assets/f1m']);
    // hearth's PID: `ip netns exec` and taskset exec, so the spawned PID is node's own.
    const pid = h.pid!;
    let maxRss = rssKiB(pid);
    const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssKiB(pid))), 20);
    const hs: number[] = [];
    const ns: number[] = [];
    for (let r = 0; r < REPS; r++) {
      hs.push(await measure(hNs, 'http://127.0.0.1:8080/assets/initramfs'));
      ns.push(await measure(nNs, 'http://127.0.0.1:8080/assets/initramfs'));
    }
    clearInterval(sampler);
    const hm = median(hs);
    const nm = median(ns);
    console.log(`HTTP benchmark: ${CLIENTS} concurrent downloads of ${SIZE >> 20} MiB, median of ${REPS} runs, nothing pinned`);
    console.log(['server', 'MB/s (aggregate)', 'runs'].join('\t'));
    console.log(['hearth', hm.toFixed(0), hs.map((x) => x.toFixed(0)).join(',')].join('\t'));
    console.log(['nginx', nm.toFixed(0), ns.map((x) => x.toFixed(0)).join(',')].join('\t'));
    console.log(`ratio hearth/nginx: ${(hm / nm).toFixed(2)}x (goal >= 0.80x)`);
    console.log(`hearth ran as: ${hearthEntry().how}`);
    console.log(`hearth max RSS during the run: ${(maxRss / 1024).toFixed(1)} MiB (goal < 200 MiB)`);
  } finally {
    await lab.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

runBenchmark(main);
