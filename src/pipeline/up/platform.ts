/**
 * `hearth up`'s platform stage: `hearth platform install` with the kubeconfig the bootstrap wrote,
 * each release's state published on the run's bus. Loads the Kubernetes client: imported when the
 * run gets there.
 */
import { createHash } from 'node:crypto';
import { OperationError } from '../../common/errors.js';
import { allObjects, clientFromKubeconfig, expectedReleases, installPlatform, renderPlatform, type KubeObject, type Resolution } from '../../platform/index.js';
import { waitForReleases } from '../../platform/install.js';
import type { ReleaseStatus } from '../../platform/status.js';
import type { RunEventBus } from '../events.js';

export interface PlatformStep {
  resolution: Resolution;
  kubeconfig: string;
  loadFlux: () => Promise<KubeObject[]>;
  /** The digest of the objects last installed to Ready (skip the writes when unchanged). */
  installedDigest?: string;
  deadline: number;
  signal: AbortSignal;
  bus: RunEventBus;
}

/**
 * The rows with each release after the releases it depends on (kubectl's order otherwise): two
 * releases seen Ready in the same poll are published dependency first, as Flux readied them.
 */
export function dependenciesFirst(rows: readonly ReleaseStatus[]): ReleaseStatus[] {
  const byKey = new Map(rows.map((r) => [`${r.namespace}/${r.name}`, r]));
  const out: ReleaseStatus[] = [];
  const placed = new Set<ReleaseStatus>();
  const visiting = new Set<ReleaseStatus>();
  const place = (r: ReleaseStatus): void => {
    if (placed.has(r) || visiting.has(r)) return; // a cycle keeps the order it was found in
    visiting.add(r);
    for (const d of r.dependsOn) {
      const dep = byKey.get(d.includes('/') ? d : `${r.namespace}/${d}`);
      if (dep) place(dep);
    }
    visiting.delete(r);
    placed.add(r);
    out.push(r);
  };
  rows.forEach(place);
  return out;
}

/**
 * Installs the platform and follows it to Ready, publishing each release's state; when the same
 * objects were installed to Ready before, writes nothing and only checks they are still Ready.
 * Returns the digest of the objects.
 */
export async function platformStep(o: PlatformStep): Promise<{ digest: string; installed: boolean }> {
  const rendered = renderPlatform(o.resolution.components);
  const digest = createHash('sha256').update(JSON.stringify(allObjects(rendered))).digest('hex');
  const client = clientFromKubeconfig(o.kubeconfig);
  const log = (message: string) => o.bus.emit({ type: 'log', at: Date.now(), level: 'info', message });
  const shown = new Map<string, string>();
  const onReleases = (rows: ReleaseStatus[]) => {
    for (const r of dependenciesFirst(rows)) {
      const key = `${r.namespace}/${r.name}`;
      const text = `${r.state}|${r.waitingFor ?? ''}`;
      if (shown.get(key) === text) continue;
      shown.set(key, text);
      o.bus.emit({ type: 'component', at: Date.now(), name: r.name, namespace: r.namespace, state: r.state, waitingFor: r.waitingFor, dependsOn: r.dependsOn });
    }
  };
  const reuse = o.installedDigest === digest;
  const report = reuse
    ? await waitForReleases(client, expectedReleases(rendered), o.deadline, log, o.signal, undefined, undefined, onReleases)
    : await installPlatform({ client, rendered, loadFlux: o.loadFlux, timeoutMs: Math.max(1, o.deadline - Date.now()), signal: o.signal, log, onReleases });
  if (report.outcome !== 'ready') throw new OperationError(report.message);
  log(report.message);
  return { digest, installed: !reuse };
}
