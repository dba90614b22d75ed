/** Shared pieces of the netboot TFTP/HTTP benchmarks (run by hand, as root). */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NetnsLab, type Netns } from '../../test/helpers/netns.js';
import { SPEC_API_VERSION, SPEC_KIND } from '../../src/spec/apiversion.js';

/** The repository (also when this file runs compiled, as dist/bench/netboot/lib.js). */
export const ROOT = ((up) => (path.basename(up) === 'dist' ? path.dirname(up) : up))(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'));
/** A bench script's options, read from its command line by benchArgs. */
export interface BenchArgs<K extends string> {
  /** The option's value as given, else its default. */
  text(name: K): string;
  /** The option as a number >= `min` (default 0); anything else ends the script with exit code 2. */
  number(name: K, min?: number): number;
  /** Whether a flag (an option without a value) was given. */
  flag(name: K): boolean;
}

/**
 * Reads a bench script's command line before it starts any work, with node:util's parseArgs:
 * `options` names each `--option` with its default (a string), or false for a flag without a
 * value. `--help` or `-h` prints `usage` and exits 0; an unknown option, a missing value or a
 * stray argument prints the error and the usage and exits 2 (nothing has started yet).
 */
export function benchArgs<K extends string>(usage: string, options: Record<K, string | false>): BenchArgs<K> {
  const script = path.basename(process.argv[1] ?? 'bench', path.extname(process.argv[1] ?? ''));
  const bad = (msg: string): never => {
    console.error(`${script}: ${msg}\n${usage}`);
    process.exit(2);
  };
  const spec = Object.fromEntries(Object.entries<string | false>(options).map(([name, dflt]) => [name, dflt === false ? { type: 'boolean' as const } : { type: 'string' as const, default: dflt }]));
  let values: Record<string, string | boolean | undefined> = {};
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options: { ...spec, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    bad((e as Error).message.split('. ')[0]!);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return {
    text: (name) => String(values[name] ?? ''),
    number: (name, min = 0) => {
      const v = Number(values[name]);
      return Number.isFinite(v) && v >= min ? v : bad(`--${name} must be a number >= ${min}`);
    },
    flag: (name) => values[name] === true,
  };
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
platform: { bundle: paas-hosted }
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
  return [...hearthEntry().argv, 'netboot', 'serve', '-f', spec, '--log', ...extra];
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

/** A soak's scratch space: a temporary directory and a NetnsLab, both removed by `cleanup()`, also on SIGINT/SIGTERM/SIGHUP. */
export interface Scratch {
  dir: string;
  lab: NetnsLab;
  /** True once cleanup has begun (a server exiting then is no crash). */
  stopping(): boolean;
  cleanup(): Promise<void>;
}

export async function scratch(tmpPrefix: string, labName: string): Promise<Scratch> {
  const dir = await mkdtemp(path.join(os.tmpdir(), tmpPrefix));
  const lab = new NetnsLab(labName);
  let stopping = false;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      stopping = true;
      await lab.cleanup();
      await rm(dir, { recursive: true, force: true });
    })());
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(sig, () => {
      console.error(`${labName}: ${sig}, cleaning up`);
      void cleanup().finally(() => process.exit(code));
    });
  }
  return { dir, lab, stopping: () => stopping, cleanup };
}

/** A running `hearth netboot serve`, watched: its PID, the log line count and why it exited, if it did. */
export interface Serving {
  pid: number;
  logLines: number;
  /** Set when the server exited before cleanup began. */
  crash?: string;
}

/**
 * Starts `hearth netboot serve -f spec` in `ns` (HTTP on 8080), waits until `probe` gets /healthz
 * from `server`, and checks that the PID is the server itself.
 */
export async function startServe(ns: Netns, probe: Netns, server: string, spec: string, args: string[], env: NodeJS.ProcessEnv, stopping: () => boolean): Promise<Serving> {
  const proc = ns.spawn(hearthServe(spec, args), { cwd: ROOT, env });
  let errTail = '';
  const serving: Serving = { pid: 0, logLines: 0 };
  proc.stdout?.resume();
  proc.stderr?.on('data', (d: Buffer) => {
    const text = d.toString();
    errTail = (errTail + text).slice(-3000);
    serving.logLines += text.split('\n').length - 1;
  });
  proc.on('exit', (code, signal) => {
    if (!stopping()) serving.crash = `server exited (code ${code}, signal ${signal}); last output:\n${errTail}`;
  });
  await waitPort(probe, ['curl', '-sf', '-o', '/dev/null', `http://${server}:8080/healthz`]).catch((e: Error) => {
    throw new Error(`${e.message}; server output: ${errTail.trim().split('\n').slice(0, 6).join(' / ')}`);
  });
  serving.pid = proc.pid!;
  const cmdline = (await readFile(`/proc/${serving.pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
  if (!cmdline.includes('netboot')) throw new Error(`PID ${serving.pid} is not the server (${cmdline})`);
  return serving;
}

/** argv that runs the script `name` next to the caller's file (`import.meta.url`): compiled JS under dist/, else through tsx. */
export function siblingArgv(callerUrl: string, name: string): string[] {
  const self = fileURLToPath(callerUrl);
  const file = path.join(path.dirname(self), `${name}${path.extname(self)}`);
  return self.endsWith('.ts') ? [process.execPath, '--import', 'tsx', file] : [process.execPath, file];
}

/** Runs a soak's main, which returns its exit code (0 pass, 1 fail); an error is one line on stderr and exit code 1. */
export function runSoak(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`${name}: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}

/**
 * The spec of a soak's server: netboot on `iface` (br0) at `server`, DHCP full over 192.0.2.10-239
 * with 1 h leases, kernel `vmlinuz` and initrd `initramfs` from `assets`, iPXE binaries from `ipxe`.
 */
export function soakSpec(name: string, server: string, assets: string, ipxe: string, iface = 'br0'): string {
  return `apiVersion: ${SPEC_API_VERSION}
kind: ${SPEC_KIND}
metadata: { name: ${name} }
talos: { version: v1.13.9 }
cluster: { endpoint: https://192.0.2.10:6443 }
platform: { bundle: paas-hosted }
netboot:
  interface: ${iface}
  address: ${server}
  dhcp: { mode: full, range: 192.0.2.10-192.0.2.239, leaseTime: 1h }
  assets: ${assets}
  ipxe: ${ipxe}
  kernel: vmlinuz
  initrd: [initramfs]
`;
}
