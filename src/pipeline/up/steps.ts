/**
 * The steps of `hearth up` before the bootstrap, each usable on its own: the checks made before any
 * port is bound, the secrets bundle netboot serves configs from, and waiting for every machine to
 * answer the Talos API. (The platform stage is ./platform.ts, loaded when the run gets there.)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError, OperationError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import { factoryUrls } from '../../image/urls.js';
import { checkNetbootFiles } from '../../netboot/server.js';
import { resolveServerConfig, type ServerOverrides } from '../../netboot/render/index.js';
import type { MachineProgress } from '../../netboot/progress/index.js';
import type { LoadedSpec, Spec } from '../../spec/index.js';
import { normalizeMac } from '../../spec/net.js';
import { discoverNodes, matchMachines, type PinStore } from '../../talos/api/index.js';
import { backoff, realClock, type Clock } from '../../talos/bootstrap/clock.js';
import { machineIp } from '../../talos/node.js';
import { newSecrets, serializeSecrets } from '../../talos/index.js';
import type { Follower } from './follow.js';

/**
 * Everything netboot will hand out exists, checked before any port is bound. A missing kernel or
 * initrd names the file and how to get it.
 */
export function checkBootAssets(loaded: LoadedSpec, over: ServerOverrides): string[] {
  const spec = loaded.spec;
  const config = resolveServerConfig(spec, loaded.baseDir, over);
  const defaults = { name: '', profile: 'default', boot: true, kernelArgs: [], kernel: spec.netboot.kernel, initrd: spec.netboot.initrd };
  try {
    return checkNetbootFiles({ ...config, machines: [...config.machines.filter((m) => m.boot), defaults] });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    let urls = '';
    try {
      const u = factoryUrls(spec);
      urls = ` or download ${u.kernel} and ${u.initramfs} into ${config.assets}`;
    } catch {
      // no factory URL for this spec: the hint names the build only
    }
    throw new InputError(`${err.message}: run \`hearth image build\` first${urls}`);
  }
}

/** DIR/secrets.yaml: reused, or created (0600) when absent. Netboot renders configs from it. */
export async function ensureSecrets(spec: Spec, out: string): Promise<{ file: string; created: boolean }> {
  const file = path.join(out, 'secrets.yaml');
  if (existsSync(file)) return { file, created: false };
  const secrets = await newSecrets(spec);
  await writeFileAtomic(file, serializeSecrets(secrets), { mode: 0o600, exclusive: true });
  return { file, created: true };
}

export interface Present {
  name: string;
  address: string;
  mode: 'maintenance' | 'configured';
}

export interface WaitOptions {
  spec: Spec;
  follower: Follower;
  /** Netboot's view of the machines (their leases), when netboot runs. */
  progress?: () => MachineProgress[];
  port?: number;
  pins: PinStore;
  deadline: number;
  signal: AbortSignal;
  clock?: Clock;
  /** Longest pause between two rounds of probes. */
  maxPauseMs?: number;
}

/** Rounds of probes at most (each bounded by the deadline too). */
const MAX_ROUNDS = 100_000;

/**
 * Waits until every machine answers the Talos API: in maintenance mode at the address it booted
 * with (matched by MAC or UUID), or configured at its own address (installed already, by a
 * zero-touch config or an earlier run). At the deadline, names each missing machine and its last stage.
 */
export async function waitForMachines(o: WaitOptions): Promise<Present[]> {
  const clock = o.clock ?? realClock;
  const found = new Map<string, Present>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (o.signal.aborted) throw new OperationError('interrupted');
    const pending = o.spec.machines.filter((m) => !found.has(m.name));
    if (pending.length === 0) break;
    if (clock.now() >= o.deadline) throw new OperationError(stuckMessage(o, pending.map((m) => m.name)));
    const leases = new Map((o.progress?.() ?? []).filter((p) => p.ip).map((p) => [p.mac, p.ip!]));
    const own = new Map<string, string>();
    const addresses = new Set<string>();
    for (const m of pending) {
      const ip = machineIp(m);
      if (ip) {
        own.set(ip, m.name);
        addresses.add(ip);
      }
      const lease = (m.mac ? leases.get(normalizeMac(m.mac)) : undefined) ?? o.follower.address(m.name);
      if (lease) addresses.add(lease);
    }
    const nodes = matchMachines(await discoverNodes([...addresses], { port: o.port, timeoutMs: 1500, pins: o.pins, concurrency: 64 }), pending);
    for (const n of nodes) {
      if (n.mode === 'maintenance' && n.machine && !found.has(n.machine)) {
        found.set(n.machine, { name: n.machine, address: n.address, mode: 'maintenance' });
        o.follower.talos(n.machine, 'maintenance', n.address);
      } else if (n.mode === 'configured' && own.has(n.address) && !found.has(own.get(n.address)!)) {
        const name = own.get(n.address)!;
        found.set(name, { name, address: n.address, mode: 'configured' });
        o.follower.answering(name, n.address);
      }
    }
    if (found.size === o.spec.machines.length) break;
    const pause = Math.min(backoff(round), o.maxPauseMs ?? 1000, Math.max(0, o.deadline - clock.now()));
    await clock.sleep(pause, o.signal).catch(() => undefined);
  }
  return o.spec.machines.map((m) => found.get(m.name)).filter((p): p is Present => p !== undefined);
}

function stuckMessage(o: WaitOptions, names: string[]): string {
  const now = o.clock?.now() ?? Date.now();
  const one = (name: string) => {
    const last = o.follower.last(name);
    if (last.at === undefined) return `${name} (never seen: no DHCP request nor boot script — powered on, set to network boot?)`;
    return `${name} (last stage ${last.stage}, ${((now - last.at) / 1000).toFixed(0)}s ago)`;
  };
  return `timed out waiting for ${names.length === 1 ? 'a machine' : `${names.length} machines`} to answer the Talos API: ${names.map(one).join(', ')}`;
}
