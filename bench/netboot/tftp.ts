/**
 * TFTP benchmark: MB/s that hearth and dnsmasq's TFTP deliver to 1 and 32 concurrent clients,
 * 1 MiB and 16 MiB files, in the same run; plus what RFC 7440 windowsize buys (atftp client).
 *
 *   sudo npx tsx bench/netboot/tftp.ts [--reps 3] [--only 'curl blksize 1468'] [--files f1m,f16m] [--clients 1,32]
 *
 * Each server runs alone in its own network namespace on loopback, port 69, nothing pinned.
 * Clients: curl (lockstep; default 512-byte blocks and --tftp-blksize
 * 1468) and atftp (blksize 1468 with windowsize 1/8/32). Figures are medians of `reps` runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable, which, type Netns } from '../../test/helpers/netns.js';
import { ROOT, benchArgs, benchSpec, hearthServe, mbps, median, waitPort, writeRandom, runBenchmark } from './lib.js';

const args = benchArgs("usage: sudo npx tsx bench/netboot/tftp.ts [--reps 3] [--only 'curl blksize 1468'] [--files f1m,f16m] [--clients 1,32]", { reps: '3', only: '', files: 'f1m,f16m', clients: '1,32' });
const REPS = args.number('reps', 1);
const FILES = { f1m: 1 << 20, f16m: 16 << 20 } as const;

type Client = { name: string; argv: (file: string, i: number) => string[] };
const clients: Client[] = [
  { name: 'curl blksize 512', argv: (f) => ['curl', '-sS', '--max-time', '120', '-o', '/dev/null', `tftp://127.0.0.1/${f}`] },
  { name: 'curl blksize 1468', argv: (f) => ['curl', '-sS', '--max-time', '120', '--tftp-blksize', '1468', '-o', '/dev/null', `tftp://127.0.0.1/${f}`] },
  ...[1, 8, 32].map((w) => ({
    name: `atftp blksize 1468 windowsize ${w}`,
    argv: (f: string) => ['atftp', '--option', 'blksize 1468', '--option', `windowsize ${w}`, '--get', '-r', f, '-l', '/dev/null', '127.0.0.1', '69'],
  })),
];

async function measure(ns: Netns, c: Client, file: keyof typeof FILES, n: number): Promise<number> {
  const script = Array.from({ length: n }, (_, i) => `${c.argv(file, i).map((a) => `'${a}'`).join(' ')} &`).join('\n') + '\nfail=0; for j in $(jobs -p); do wait $j || fail=1; done; exit $fail';
  const t0 = process.hrtime.bigint();
  const r = await ns.exec(['bash', '-c', script], { timeoutMs: 300_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0) throw new Error(`${c.name} x${n} ${file}: ${r.stderr.slice(0, 400)}`);
  return mbps(FILES[file] * n, ms);
}

async function main() {
  const why = netnsUnavailable();
  if (why) throw new Error(`needs root and network namespaces: ${why}`);
  for (const b of ['dnsmasq', 'curl', 'atftp']) if (!which(b)) throw new Error(`${b} is not installed`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-bench-tftp-'));
  const lab = new NetnsLab('btftp');
  try {
    for (const [f, size] of Object.entries(FILES)) writeRandom(path.join(dir, f), size);
    const spec = path.join(dir, 'hearth.yaml');
    await writeFile(spec, benchSpec(dir));
    const hNs = await lab.ns('h');
    const dNs = await lab.ns('d');
    const h = hNs.spawn(hearthServe(spec, ['--tftp-port', '69', '--http-port', '8080']), { cwd: ROOT });
    h.stderr?.resume();
    h.stdout?.resume();
    const d = dNs.spawn(['dnsmasq', '--no-daemon', '-C', '/dev/null', '--port=0', '--enable-tftp', `--tftp-root=${dir}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--tftp-max=1000', '--pid-file=']);
    d.stderr?.resume();
    await waitPort(hNs, ['curl', '-sf', '-o', '/dev/null', 'tftp://127.0.0.1/f1m']);
    await waitPort(dNs, ['curl', '-sf', '-o', '/dev/null', 'tftp://127.0.0.1/f1m']);
    console.log(`TFTP benchmark, median of ${REPS} runs, MB/s (aggregate over all clients), nothing pinned`);
    console.log(['client', 'file', 'clients', 'hearth', 'dnsmasq', 'ratio', 'each run'].join('\t'));
    const only = args.text('only');
    for (const c of clients.filter((x) => !only || x.name.includes(only))) {
      for (const file of args.text('files').split(',') as (keyof typeof FILES)[]) {
        if (!(file in FILES)) throw new Error(`--files: ${file} is not one of ${Object.keys(FILES).join(', ')}`);
        for (const n of args.text('clients').split(',').map(Number)) {
          const hs: number[] = [];
          const ds: number[] = [];
          for (let r = 0; r < REPS; r++) {
            hs.push(await measure(hNs, c, file, n));
            ds.push(await measure(dNs, c, file, n));
          }
          const hm = median(hs);
          const dm = median(ds);
          const runs = `hearth ${hs.map((x) => x.toFixed(1)).join('/')} dnsmasq ${ds.map((x) => x.toFixed(1)).join('/')}`;
          console.log([c.name, file === 'f1m' ? '1MiB' : '16MiB', n, hm.toFixed(1), dm.toFixed(1), `${(hm / dm).toFixed(2)}x`, runs].join('\t'));
        }
      }
    }
  } finally {
    await lab.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

runBenchmark(main);
