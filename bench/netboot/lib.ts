/** Shared pieces of the netboot TFTP/HTTP benchmarks (run by hand, as root). */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which, type Netns } from '../../test/helpers/netns.js';

/** The repository (also when this file runs compiled, as dist/bench/netboot/lib.js). */
export const ROOT = ((up) => (path.basename(up) === 'dist' ? path.dirname(up) : up))(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'));
/** Servers on CPU 1, clients on CPU 0 (2-core hosts), so neither steals the other's time. */
export const PIN = os.cpus().length >= 2 && which('taskset') !== undefined;
export const SERVER_CPU = PIN ? ['taskset', '-c', '1'] : [];
export const CLIENT_CPU = PIN ? ['taskset', '-c', '0'] : [];

export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

export function writeRandom(file: string, size: number): void {
  const fd = openSync(file, 'w');
  const chunk = randomBytes(1024 * 1024);
  for (let left = size; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  closeSync(fd);
}

/** hearth's netboot spec for a benchmark: DHCP off, assets = dir. */
export function benchSpec(dir: string): string {
  return `apiVersion: hearth.dev/v1alpha1
kind: Cluster
metadata: { name: bench }
talos: { version: v1.13.9 }
cluster: { endpoint: https://192.0.2.10:6443 }
netboot:
  interface: lo
  address: 127.0.0.1
  dhcp: { mode: off }
  assets: ${dir}
  ipxe: ${dir}
  kernel: f1m
  initrd: [f16m]
`;
}

/**
 * How hearth is started: HEARTH_CLI=/path/to/hearth.js, else the built binary dist/cli/hearth.js, else
 * tsx on the sources (then RSS figures include tsx's compiler, about 90 MiB more).
 */
export function hearthEntry(): { argv: string[]; how: string } {
  const env = process.env.HEARTH_CLI;
  if (env) return { argv: [process.execPath, env], how: env };
  const dist = path.join(ROOT, 'dist/cli/hearth.js');
  if (existsSync(dist)) return { argv: [process.execPath, dist], how: dist };
  return { argv: [process.execPath, '--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')], how: 'tsx src/cli/main.ts (RSS includes tsx)' };
}

export function hearthServe(spec: string, extra: string[]): string[] {
  return [...SERVER_CPU, ...hearthEntry().argv, 'netboot', 'serve', '-f', spec, '--log', ...extra];
}

/** A kB field of /proc/PID/status (VmRSS, VmHWM, ...); 0 when the process or field is gone. */
export function procKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function rssKiB(pid: number): number {
  return procKiB(pid, 'VmRSS');
}

export async function waitPort(ns: Netns, check: string[], ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await ns.exec(check, { timeoutMs: 5000 });
    if (r.code === 0) return;
    await new Promise((r2) => setTimeout(r2, 200));
  }
  throw new Error(`server did not come up: ${check.join(' ')}`);
}

export function mbps(bytes: number, ms: number): number {
  return bytes / 1024 / 1024 / (ms / 1000);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs a benchmark's main: a failure is one line on stderr and exit code 1. */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
