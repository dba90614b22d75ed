/**
 * Time until `hearth netboot serve` answers DHCP after it is started (issue 11: <= 0.3 s), and its
 * idle RSS once it does.
 *
 *   sudo node dist/bench/netboot/dhcp-start.js [--runs 7] [--idle-seconds 2]
 *
 * Two namespaces (named with this PID, removed on every exit path) joined by a veth: the server's
 * (s0 = 192.0.2.1/24) and a client's (c0 = 192.0.2.2/24). Each run starts a fresh server (empty
 * lease journal) while the client (dhcp-start-probe.ts) already sends a DISCOVER every 2 ms; the
 * figure is the time from just before the server's process is spawned until the client holds the
 * first OFFER, so it covers Node's own start, loading hearth, reading the spec, the lease journal,
 * binding TFTP/HTTP/DHCP and answering. On a busy host that wall time mostly measures the wait for
 * a core, so the server's own CPU time (user + system, from /proc, in 10 ms ticks) at that moment
 * is printed too. After `--idle-seconds` without traffic the server's RSS
 * is read, then it is stopped (SIGTERM, by PID). Prints min/median/max over the runs. The server
 * inherits this process's environment: run as documented (sudo), NODE_EXTRA_CA_CERTS is dropped;
 * set (as for root without sudo), Node loads those certificates at start and the figures include
 * that, which the output notes.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { netnsUnavailable, type Netns } from '../../test/helpers/netns.js';
import { benchArgs, hearthEntry, hearthServe, median, rssKiB, runSoak, scratch, siblingArgv, soakSpec, writeRandom } from './lib.js';

const args = benchArgs('usage: sudo node dist/bench/netboot/dhcp-start.js [--runs 7] [--idle-seconds 2]', { runs: '7', 'idle-seconds': '2' });
const RUNS = args.number('runs', 1);
const IDLE_S = args.number('idle-seconds');
const SERVER = '192.0.2.1';
const CLIENT = '192.0.2.2';

/** The next line of a child's stdout, or undefined once it ends or `ms` pass. */
function lineReader(child: import('node:child_process').ChildProcess): (ms: number) => Promise<string | undefined> {
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => (lines.push(l), wake?.()));
  rl.on('close', () => ((ended = true), wake?.()));
  return async (ms) => {
    const end = Date.now() + ms;
    while (lines.length === 0 && !ended && Date.now() < end) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, Math.max(1, end - Date.now()));
      });
    }
    return lines.shift();
  };
}

/** CPU time (user + system) a process has used, in ms; USER_HZ is 100 on Linux. */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function stop(ns: Netns, pid: number | undefined): Promise<void> {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && rssKiB(pid) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  if (rssKiB(pid) > 0) await ns.killAll();
}

async function main(): Promise<number> {
  const why = netnsUnavailable();
  if (why) {
    console.error(`dhcp-start: needs root and network namespaces: ${why}`);
    return 2;
  }
  if (!(RUNS >= 1 && RUNS <= 100) || !(IDLE_S >= 0 && IDLE_S <= 60)) {
    console.error('dhcp-start: --runs 1..100, --idle-seconds 0..60');
    return 2;
  }
  const { dir, lab, cleanup } = await scratch('hearth-dhcp-start-', 'dstart');
  const times: number[] = [];
  const cpu: number[] = [];
  const rss: number[] = [];
  try {
    const assets = path.join(dir, 'assets');
    await mkdir(assets);
    for (const f of ['vmlinuz', 'initramfs', 'undionly.kpxe', 'ipxe.efi', 'snponly.efi']) writeRandom(path.join(assets, f), 4096);
    const specFile = path.join(dir, 'hearth.yaml');
    await writeFile(specFile, soakSpec('dhcp-start', SERVER, assets, assets, 's0'));
    const srv = await lab.ns('s');
    const cli = await lab.ns('c');
    await lab.veth(srv, 's0', `${SERVER}/24`, cli, 'c0', `${CLIENT}/24`);
    console.log(`hearth: ${hearthEntry().how}; ${RUNS} runs`);
    // Node reads these certificates at every start, before any of hearth runs; `sudo` drops the variable.
    if (process.env.NODE_EXTRA_CA_CERTS) console.log(`note: the server inherits NODE_EXTRA_CA_CERTS (${process.env.NODE_EXTRA_CA_CERTS}): ~80 ms of CPU and ~2 MiB of RSS in Node's own start on the 2-core box; \`sudo\` would drop it`);
    for (let run = 1; run <= RUNS; run++) {
      const state = path.join(dir, `state-${run}`);
      const probe = cli.spawn([...siblingArgv(import.meta.url, 'dhcp-start-probe'), SERVER, CLIENT, '15000']);
      const next = lineReader(probe);
      if ((await next(10_000)) !== 'ready') throw new Error('the DHCP probe did not start');
      const t0 = performance.timeOrigin + performance.now();
      const server = srv.spawn(hearthServe(specFile, ['--state', state, '--dhcp', 'full']), { stdio: ['ignore', 'ignore', 'ignore'] });
      const answer = await next(16_000);
      const offerAt = answer?.startsWith('offer ') ? Number(answer.slice(6)) : undefined;
      if (offerAt === undefined) {
        await stop(srv, server.pid);
        throw new Error(`run ${run}: no OFFER within 15 s (${answer ?? 'probe ended'})`);
      }
      const ms = offerAt - t0;
      const usedMs = cpuMs(server.pid);
      await new Promise((r) => setTimeout(r, IDLE_S * 1000));
      const kib = server.pid ? rssKiB(server.pid) : 0;
      await stop(srv, server.pid);
      await rm(state, { recursive: true, force: true });
      times.push(ms);
      cpu.push(usedMs);
      rss.push(kib / 1024);
      console.log(`run ${run}: first OFFER ${ms.toFixed(0)} ms after spawn, the server having used ${usedMs} ms of CPU; idle RSS ${(kib / 1024).toFixed(1)} MiB`);
    }
  } finally {
    await cleanup();
  }
  const mmm = (xs: number[], d: number) => `${Math.min(...xs).toFixed(d)} / ${median(xs).toFixed(d)} / ${Math.max(...xs).toFixed(d)}`;
  console.log(`time to first OFFER (ms), min / median / max over ${times.length} runs: ${mmm(times, 0)}  (goal <= 300)`);
  console.log(`server CPU time until then (ms), min / median / max: ${mmm(cpu, 0)}`);
  console.log(`idle RSS (MiB) ${IDLE_S} s after it, min / median / max: ${mmm(rss, 1)}  (goal <= 60)`);
  return 0;
}

runSoak('dhcp-start', main);
