/**
 * `hearth platform install`: Flux (when absent), then the rendered objects by server-side apply
 * (namespaces, sources, releases), then live progress until every HelmRelease is Ready, one
 * fails, or the time is up. Talks to the cluster only through KubeClient.
 */
import { FLUX_NAMESPACE } from './bundles/catalog.js';
import { FLUX_CRDS, adaptFluxManifests } from './flux.js';
import { fluxOnHostNetwork } from './flux-hostnet.js';
import { KubeApiError, type KubeClient, type ObjectRef } from './kube/client.js';
import { HELMRELEASE_API, MANAGED_BY, type RenderedPlatform } from './render.js';
import { releaseStatuses, type ExpectedRelease, type ReleaseStatus } from './status.js';
import type { KubeObject } from './types.js';
import { followReleases, type FollowOptions } from './watch.js';

export const FIELD_MANAGER = 'hearth';

export type ApplyResult = 'created' | 'configured' | 'unchanged' | 'failed' | 'skipped';

export interface ApplyRecord {
  ref: ObjectRef;
  result: ApplyResult;
  error?: string;
}

export type Outcome = 'ready' | 'failed' | 'timeout' | 'interrupted' | 'apply-failed';

export interface InstallReport {
  flux: 'present' | 'installed';
  applied: ApplyRecord[];
  outcome: Outcome;
  releases: ReleaseStatus[];
  /** One-line summary of how it ended. */
  message: string;
}

export interface InstallOptions {
  client: KubeClient;
  rendered: RenderedPlatform;
  /** Flux's install manifests; only called when Flux is not in the cluster. */
  loadFlux: () => Promise<KubeObject[]>;
  timeoutMs: number;
  /** Aborted on Ctrl-C: stop between objects, never in the middle of a write. */
  signal?: AbortSignal;
  /** Take over fields another field manager owns. */
  forceConflicts?: boolean;
  /** Progress lines (stderr). */
  log: (line: string) => void;
  /** How often to poll CRD conditions. */
  pollMs?: number;
  /** Every release's status each time one changes (live views). */
  onReleases?: (rows: ReleaseStatus[]) => void;
}

export function refOf(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) };
}

export function describeRef(r: ObjectRef): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

/** A one-line reason from an API error: "forbidden: …", "conflict: …", "invalid: …". */
export function errorLine(err: unknown): string {
  if (err instanceof KubeApiError) {
    const reason = err.reason ? err.reason.replace(/^[A-Z]/, (c) => c.toLowerCase()) : `HTTP ${err.code}`;
    const msg = err.message.split('\n')[0]!;
    return msg.toLowerCase().includes(reason.toLowerCase()) ? msg : `${reason}: ${msg}`;
  }
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Applies objects in order, one whole write at a time; reports each. */
export async function applyObjects(
  client: KubeClient,
  objects: KubeObject[],
  opts: { force: boolean; signal?: AbortSignal; log: (line: string) => void; quietUnchanged?: boolean },
): Promise<{ records: ApplyRecord[]; interrupted: boolean }> {
  const records: ApplyRecord[] = [];
  const failedNamespaces = new Set<string>();
  for (const o of objects) {
    if (opts.signal?.aborted) return { records, interrupted: true };
    const ref = refOf(o);
    if (ref.namespace && failedNamespaces.has(ref.namespace)) {
      records.push({ ref, result: 'skipped', error: `namespace ${ref.namespace} was not applied` });
      opts.log(`skipped     ${describeRef(ref)}: namespace ${ref.namespace} was not applied`);
      continue;
    }
    try {
      const before = await client.get(ref);
      const after = await client.apply(o, { fieldManager: FIELD_MANAGER, force: opts.force });
      const result: ApplyResult = !before ? 'created' : before.metadata.resourceVersion === after.metadata.resourceVersion ? 'unchanged' : 'configured';
      records.push({ ref, result });
      if (result !== 'unchanged' || !opts.quietUnchanged) opts.log(`${result.padEnd(11)} ${describeRef(ref)}`);
    } catch (err) {
      let line = errorLine(err);
      if (err instanceof KubeApiError && err.code === 409 && !opts.force) line += ' (rerun with --force-conflicts to take these fields over)';
      records.push({ ref, result: 'failed', error: line });
      opts.log(`failed      ${describeRef(ref)}: ${line}`);
      if (o.kind === 'Namespace') failedNamespaces.add(o.metadata.name);
      if (err instanceof KubeApiError && err.code === 0) {
        // The server is gone: every further write would fail the same way.
        return { records, interrupted: false };
      }
    }
  }
  return { records, interrupted: false };
}

/** Is Flux (the CRDs hearth writes, at the versions it writes) in the cluster? */
async function fluxPresent(client: KubeClient): Promise<boolean> {
  for (const crd of FLUX_CRDS) {
    const o = await client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.name });
    if (!o) return false;
    const versions = ((o.spec as { versions?: { name: string; served?: boolean }[] })?.versions ?? []).filter((v) => v.served);
    if (!versions.some((v) => v.name === crd.version)) {
      throw new KubeApiError(
        `the cluster's Flux serves ${crd.name} ${versions.map((v) => v.name).join(', ') || 'no version'}, hearth writes ${crd.version}: upgrade Flux first`,
        0,
        'FluxTooOld',
      );
    }
  }
  return true;
}

function established(o: KubeObject | undefined): boolean {
  const conds = ((o?.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []);
  return conds.some((c) => c.type === 'Established' && c.status === 'True');
}

/** Waits until every CRD named is Established. Returns the ones that are not (empty on success). */
export async function waitEstablished(client: KubeClient, names: string[], deadline: number, pollMs: number, signal?: AbortSignal): Promise<string[]> {
  let pending = [...names];
  while (pending.length > 0) {
    const still: string[] = [];
    for (const name of pending) {
      const o = await client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });
      if (!established(o)) still.push(name);
    }
    pending = still;
    if (pending.length === 0 || Date.now() >= deadline || signal?.aborted) break;
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), signal);
  }
  return pending;
}

function summarize(records: ApplyRecord[]): string {
  const count = (r: ApplyResult) => records.filter((x) => x.result === r).length;
  const parts = (['created', 'configured', 'unchanged', 'failed', 'skipped'] as const).filter((r) => count(r) > 0).map((r) => `${count(r)} ${r}`);
  return parts.join(', ') || 'nothing';
}

export function expectedReleases(rendered: RenderedPlatform): ExpectedRelease[] {
  return rendered.releases.map((r) => ({
    namespace: r.metadata.namespace!,
    name: r.metadata.name,
    dependsOn: ((r.spec as { dependsOn?: { name: string; namespace: string }[] }).dependsOn ?? []).map((d) => ({ ...d })),
  }));
}

export async function installPlatform(opts: InstallOptions): Promise<InstallReport> {
  const { client, rendered, log, signal } = opts;
  const pollMs = opts.pollMs ?? 1000;
  const deadline = Date.now() + opts.timeoutMs;
  const applied: ApplyRecord[] = [];
  const end = (outcome: Outcome, message: string, releases: ReleaseStatus[] = [], flux: 'present' | 'installed' = 'present'): InstallReport => ({
    flux,
    applied,
    outcome,
    releases,
    message,
  });

  // 1. Flux itself.
  let flux: 'present' | 'installed' = 'present';
  if (!(await fluxPresent(client))) {
    const adapted = adaptFluxManifests(await opts.loadFlux());
    // The platform brings the CNI, so Flux must start without one: its controllers go on the host network.
    const manifests = rendered.fluxOnHostNetwork ? fluxOnHostNetwork(adapted, FLUX_NAMESPACE) : adapted;
    const order = (o: KubeObject) => (o.kind === 'CustomResourceDefinition' ? 0 : o.kind === 'Namespace' ? 1 : 2);
    const sorted = [...manifests].sort((a, b) => order(a) - order(b));
    log(
      `Flux is not installed: applying ${sorted.length} objects of its install manifests` +
        (rendered.fluxOnHostNetwork ? ' (controllers on the host network: the cluster has no CNI until Flux installs it)' : ''),
    );
    const r = await applyObjects(client, sorted, { force: true, signal, log, quietUnchanged: true });
    applied.push(...r.records);
    if (r.interrupted) return end('interrupted', interruptedMessage(applied, manifests.length + countRendered(rendered)), [], 'installed');
    if (r.records.some((x) => x.result === 'failed')) {
      return end('apply-failed', `Flux could not be installed (${summarize(r.records)})`, [], 'installed');
    }
    flux = 'installed';
    const crds = sorted.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
    log(`waiting for ${crds.length} Flux CRDs to be established`);
    const pending = await waitEstablished(client, crds, deadline, pollMs, signal);
    if (signal?.aborted) return end('interrupted', interruptedMessage(applied, manifests.length + countRendered(rendered)), [], flux);
    if (pending.length > 0) return end('timeout', `timed out waiting for CRDs to be established: ${pending.join(', ')}`, [], flux);
  }

  // 2. The platform: namespaces, then sources, then releases.
  const objects = [...rendered.namespaces, ...rendered.sources, ...rendered.releases];
  const r = await applyObjects(client, objects, { force: opts.forceConflicts ?? false, signal, log, quietUnchanged: true });
  applied.push(...r.records);
  const total = objects.length;
  if (r.interrupted) return end('interrupted', interruptedMessage(r.records, total), [], flux);
  const failed = r.records.filter((x) => x.result === 'failed' || x.result === 'skipped');
  if (failed.length > 0 || r.records.length < total) {
    return end('apply-failed', `${failed.length} of ${total} objects were not applied (${summarize(r.records)}); nothing is half-written, fix the cause and rerun`, [], flux);
  }
  const changed = r.records.filter((x) => x.result !== 'unchanged').length;
  log(changed === 0 ? `nothing to change: all ${total} objects are already as rendered` : `applied ${total} objects: ${summarize(r.records)}`);

  // 3. Progress until Ready, failed, timed out or interrupted.
  return { ...(await waitForReleases(client, expectedReleases(rendered), deadline, log, signal, undefined, undefined, opts.onReleases)), flux, applied };
}

function countRendered(r: RenderedPlatform): number {
  return r.namespaces.length + r.sources.length + r.releases.length;
}

function interruptedMessage(records: ApplyRecord[], total: number): string {
  const done = records.filter((x) => x.result !== 'failed' && x.result !== 'skipped');
  const last = done.at(-1);
  return (
    `interrupted: applied ${done.length} of ${total} objects${last ? ` (last: ${describeRef(last.ref)})` : ''}; ` +
    'every object is either fully applied or untouched — rerun `hearth platform install` to finish'
  );
}

/** Watches the releases (list, then watch from its resourceVersion; relist when the watch ends). */
export async function waitForReleases(
  client: KubeClient,
  expected: ExpectedRelease[],
  deadline: number,
  log: (line: string) => void,
  signal?: AbortSignal,
  heartbeatMs = 30_000,
  /** Backoff and polling of the follow loop (tests shorten them). */
  follow?: Pick<FollowOptions, 'backoff' | 'pollMs'>,
  /** Every release's status each time one changes (live views). */
  onReleases?: (rows: ReleaseStatus[]) => void,
): Promise<Pick<InstallReport, 'outcome' | 'releases' | 'message'>> {
  const keyOf = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
  const wanted = new Set(expected.map((e) => keyOf(e.namespace, e.name)));
  const current = new Map<string, KubeObject>();
  const shown = new Map<string, string>();
  const started = Date.now();
  const total = expected.length;
  let rows: ReleaseStatus[] = [];
  let lastLine = Date.now();
  const say = (line: string) => {
    lastLine = Date.now();
    log(line);
  };
  // On a long quiet stretch, a reminder of where things stand.
  const heartbeat = setInterval(() => {
    if (Date.now() - lastLine < heartbeatMs || rows.length === 0) return;
    const pending = rows.filter((r) => r.state !== 'ready');
    const active = pending.filter((r) => !r.waitingFor?.startsWith('dependencies not ready')).map((r) => r.name);
    say(`still waiting after ${Math.round((Date.now() - started) / 1000)}s: ${total - pending.length}/${total} Ready; reconciling ${active.join(', ') || 'nothing yet'}`);
  }, Math.min(heartbeatMs, 5000));
  heartbeat.unref();

  const evaluate = (): 'ready' | 'failed' | undefined => {
    rows = releaseStatuses([...current.values()], new Date(), expected);
    onReleases?.(rows);
    let readyCount = rows.filter((r) => r.state === 'ready').length;
    const firstLook = shown.size === 0;
    let alreadyReady = 0;
    for (const row of rows) {
      const k = keyOf(row.namespace, row.name);
      const text = row.state === 'ready' ? `ready: ${row.status}` : row.state === 'failed' ? `FAILED: ${row.waitingFor}` : (row.waitingFor ?? row.status);
      if (shown.get(k) === text) continue;
      const first = !shown.has(k);
      shown.set(k, text);
      if (firstLook && row.state === 'ready') {
        alreadyReady++;
        continue;
      }
      // Only say something about releases that are not simply waiting their turn.
      if (row.state === 'progressing' && (row.waitingFor?.startsWith('dependencies not ready') || /DependencyNotReady/.test(row.waitingFor ?? ''))) {
        if (!first) shown.set(k, text);
        continue;
      }
      const secs = Math.round((Date.now() - started) / 1000);
      say(`[${String(readyCount).padStart(String(total).length)}/${total}] ${row.name} (${row.namespace}) ${text}${row.state === 'ready' ? ` after ${secs}s` : ''}`);
    }
    if (alreadyReady > 0) say(`${alreadyReady} of ${total} releases already Ready`);
    readyCount = rows.filter((r) => r.state === 'ready').length;
    if (rows.some((r) => r.state === 'failed')) return 'failed';
    if (readyCount === total) return 'ready';
    return undefined;
  };

  const finish = (outcome: 'ready' | 'failed' | 'timeout' | 'interrupted') => {
    clearInterval(heartbeat);
    const notReady = rows.filter((r) => r.state !== 'ready');
    const name = (r: ReleaseStatus) => `${r.namespace}/${r.name}`;
    const message =
      outcome === 'ready'
        ? `all ${total} releases are Ready`
        : outcome === 'failed'
          ? `release failed: ${rows.filter((r) => r.state === 'failed').map((r) => `${name(r)} (${r.waitingFor})`).join('; ')}`
          : outcome === 'timeout'
            ? `timed out with ${notReady.length} of ${total} releases not Ready: ${notReady.map((r) => `${name(r)} (${r.waitingFor ?? r.status})`).join('; ')}`
            : `interrupted while waiting: ${total - notReady.length} of ${total} releases Ready; Flux keeps reconciling the rest (see \`hearth platform status\`)`;
    return { outcome, releases: rows, message };
  };

  // Follow until every release is Ready or one failed, the deadline passes or Ctrl-C.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) stop.abort();
  const timer = setTimeout(() => stop.abort(), Math.max(0, deadline - Date.now()));
  let settled: 'ready' | 'failed' | undefined;
  try {
    await followReleases({
      client,
      labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY['app.kubernetes.io/managed-by']}`,
      signal: stop.signal,
      onNotice: say,
      ...(follow ?? {}),
      onChange: (items) => {
        current.clear();
        for (const o of items) if (wanted.has(keyOf(o.metadata.namespace, o.metadata.name))) current.set(keyOf(o.metadata.namespace, o.metadata.name), o);
        const state = evaluate();
        if (state && !settled) {
          settled = state;
          stop.abort();
        }
      },
    });
  } catch (err) {
    // Listing refused (RBAC, no HelmRelease API): no wait would change it.
    clearTimeout(timer);
    clearInterval(heartbeat);
    return { outcome: 'failed', releases: rows, message: `cannot follow the HelmReleases: ${errorLine(err)}` };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (settled) return finish(settled);
  return finish(signal?.aborted ? 'interrupted' : 'timeout');
}
