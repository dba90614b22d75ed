/**
 * A rolling upgrade to the spec's installer image: control planes one at a time, each followed until
 * it runs the new version and etcd lists every control plane again, then the workers one at a time.
 * It refuses to start while etcd is missing a member. Machines already at the version are skipped.
 */
import { OperationError } from '../../common/errors.js';
import { etcdHealth } from './health.js';
import type { Target } from './targets.js';
import { waitRunning } from './wait.js';

export interface UpgradeOptions {
  image: string;
  timeoutMs: number;
  /** Between etcd checks while a control plane rejoins. */
  etcdPollMs?: number;
  progress: (machine: string, text: string) => void;
}

/** The release tag of an installer image reference ("…/installer:v1.13.9" → "v1.13.9"). */
export function imageTag(image: string): string {
  const m = /:(v\d+\.\d+\.\d+[^@]*)(@.*)?$/.exec(image);
  if (!m) throw new OperationError(`cannot tell the Talos version of installer image ${image}`);
  return m[1]!;
}

/** Waits until etcd lists every control plane, asking `via` first; bounded by the deadline. */
async function etcdComplete(cps: Target[], via: Target, deadline: number, pollMs: number): Promise<void> {
  const order = [via, ...cps.filter((c) => c !== via)];
  let missing: string[] = [];
  while (Date.now() < deadline) {
    const h = await etcdHealth(order);
    missing = h.missing;
    if (h.askedVia !== null && missing.length === 0) return;
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(deadline - Date.now(), 0))));
  }
  throw new OperationError(`etcd is not healthy: ${missing.join(', ') || 'no control plane answers'} missing from the members; the upgrade stopped here`);
}

/** Upgrades `targets` (control planes first, in the given order); `controlPlanes` are all of the cluster's. */
export async function rollingUpgrade(targets: Target[], controlPlanes: Target[], opts: UpgradeOptions): Promise<{ upgraded: string[]; skipped: string[] }> {
  const tag = imageTag(opts.image);
  const pollMs = opts.etcdPollMs ?? 1000;
  const ordered = [...targets.filter((t) => t.machine.role === 'controlplane'), ...targets.filter((t) => t.machine.role !== 'controlplane')];
  if (controlPlanes.length > 0 && ordered.some((t) => t.machine.role === 'controlplane')) {
    const h = await etcdHealth(controlPlanes);
    if (h.askedVia === null || h.missing.length > 0) {
      throw new OperationError(`etcd is not healthy (${h.askedVia === null ? 'no control plane answers EtcdMemberList' : `${h.missing.join(', ')} not a member`}): nothing upgraded`);
    }
  }
  const upgraded: string[] = [];
  const skipped: string[] = [];
  for (const t of ordered) {
    const name = t.machine.name;
    const current = (await t.api.version()).tag;
    if (current === tag) {
      opts.progress(name, `already at ${tag}`);
      skipped.push(name);
      continue;
    }
    opts.progress(name, `upgrading ${current} -> ${tag}`);
    const started = Date.now();
    const r = await t.api.upgrade({ image: opts.image });
    // LifecycleService/Upgrade (v1.13) installs beside the running system; the reboot activates it
    if (r.via === 'lifecycle') await t.api.reboot();
    await waitRunning(t.api, { name, timeoutMs: opts.timeoutMs, mustLeave: true, onStage: (s) => opts.progress(name, s) });
    const now = (await t.api.version()).tag;
    if (now !== tag) throw new OperationError(`machine ${name}: came back running ${now}, not ${tag}; the upgrade stopped here`);
    if (t.machine.role === 'controlplane') {
      opts.progress(name, 'waiting for etcd to list every control plane');
      await etcdComplete(controlPlanes, t, started + opts.timeoutMs, pollMs);
    }
    opts.progress(name, `running ${tag} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    upgraded.push(name);
  }
  return { upgraded, skipped };
}
