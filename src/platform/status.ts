/**
 * HelmRelease readiness, as `kubectl get hr -A` shows it, plus what each unready release waits
 * for. Pure functions over objects read from the cluster.
 */
import { REMEDIATION_RETRIES } from './render.js';
import type { KubeObject } from './types.js';

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export type ReleaseState = 'ready' | 'progressing' | 'failed' | 'missing';

export interface ReleaseStatus {
  namespace: string;
  name: string;
  /** Seconds since creation (undefined when the release does not exist). */
  ageSeconds?: number;
  age: string;
  /** READY column: True / False / Unknown, or "-" when missing. */
  ready: string;
  /** STATUS column: the Ready condition's message. */
  status: string;
  state: ReleaseState;
  /** For releases not ready: unready dependencies, or the release's own condition. */
  waitingFor?: string;
  dependsOn: string[];
}

function conditions(o: KubeObject): Condition[] {
  const st = o.status as { conditions?: Condition[] } | undefined;
  return Array.isArray(st?.conditions) ? st!.conditions : [];
}

function condition(o: KubeObject, type: string): Condition | undefined {
  return conditions(o).find((c) => c.type === type);
}

const FAILURE_REASONS = new Set(['InstallFailed', 'UpgradeFailed', 'RollbackFailed', 'UninstallFailed', 'TestFailed']);

/** Why a release failed: Ready's reason and message, then Stalled's (helm-controller gave up: RetriesExceeded). */
function failure(o: KubeObject): string {
  const said = (c: Condition | undefined) => (c?.message ? `${c.reason ? `${c.reason}: ` : ''}${c.message}` : c?.reason);
  const ready = condition(o, 'Ready');
  const stalled = condition(o, 'Stalled');
  const parts = [ready?.status === 'False' ? said(ready) : undefined, stalled?.status === 'True' ? said(stalled) : undefined].filter((x): x is string => !!x);
  return parts.length > 0 ? parts.join('; ') : 'no message';
}

/** Ready for the current generation, terminally failed, or still on its way. */
export function releaseState(o: KubeObject): ReleaseState {
  const ready = condition(o, 'Ready');
  const status = (o.status ?? {}) as { observedGeneration?: number; installFailures?: number; upgradeFailures?: number };
  const generation = o.metadata.generation ?? 0;
  const observed = ready?.observedGeneration ?? status.observedGeneration ?? -1;
  if (ready?.status === 'True' && observed >= generation) return 'ready';
  if (condition(o, 'Stalled')?.status === 'True') return 'failed';
  if (ready?.status === 'False' && FAILURE_REASONS.has(ready.reason ?? '')) {
    const failures = Math.max(status.installFailures ?? 0, status.upgradeFailures ?? 0);
    if (failures > REMEDIATION_RETRIES) return 'failed';
  }
  return 'progressing';
}

/** kubectl's age format: 45s, 4m1s, 3h2m, 2d3h. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

export interface ExpectedRelease {
  namespace: string;
  name: string;
  dependsOn: { name: string; namespace: string }[];
}

const key = (ns: string, name: string) => `${ns}/${name}`;

/**
 * Rows for every release found (and every expected one, as missing), sorted like kubectl
 * (namespace, then name).
 */
export function releaseStatuses(found: KubeObject[], now: Date, expected: ExpectedRelease[] = []): ReleaseStatus[] {
  const byKey = new Map(found.map((o) => [key(o.metadata.namespace ?? '', o.metadata.name), o]));
  const deps = new Map<string, { name: string; namespace: string }[]>();
  for (const o of found) {
    const d = ((o.spec as { dependsOn?: { name: string; namespace?: string }[] } | undefined)?.dependsOn ?? []).map((x) => ({
      name: x.name,
      namespace: x.namespace ?? o.metadata.namespace ?? '',
    }));
    deps.set(key(o.metadata.namespace ?? '', o.metadata.name), d);
  }
  for (const e of expected) if (!deps.has(key(e.namespace, e.name))) deps.set(key(e.namespace, e.name), e.dependsOn);

  const stateOf = (k: string): ReleaseState => {
    const o = byKey.get(k);
    return o ? releaseState(o) : 'missing';
  };
  const keys = new Set([...byKey.keys(), ...expected.map((e) => key(e.namespace, e.name))]);
  const rows: ReleaseStatus[] = [];
  for (const k of keys) {
    const [namespace, name] = k.split('/') as [string, string];
    const o = byKey.get(k);
    const d = deps.get(k) ?? [];
    const state = stateOf(k);
    const ready = o ? condition(o, 'Ready') : undefined;
    const row: ReleaseStatus = {
      namespace,
      name,
      age: '-',
      ready: o ? (ready?.status ?? 'Unknown') : '-',
      status: o ? (ready?.message ?? 'not reconciled yet') : 'not installed',
      state,
      dependsOn: d.map((x) => (x.namespace === namespace ? x.name : `${x.namespace}/${x.name}`)),
    };
    if (o?.metadata.creationTimestamp) {
      row.ageSeconds = Math.max(0, Math.floor((now.getTime() - Date.parse(o.metadata.creationTimestamp)) / 1000));
      row.age = formatAge(row.ageSeconds);
    }
    if (state !== 'ready') {
      const unready = d.filter((x) => stateOf(key(x.namespace, x.name)) !== 'ready').map((x) => x.name);
      if (state === 'missing') row.waitingFor = 'not applied (run `hearth platform install`)';
      else if (state === 'failed') row.waitingFor = `failed: ${failure(o!)}`;
      else if (unready.length > 0) row.waitingFor = `dependencies not ready: ${unready.join(', ')}`;
      else row.waitingFor = ready?.message ? `${ready.reason ? `${ready.reason}: ` : ''}${ready.message}` : 'waiting for helm-controller to reconcile it';
    }
    rows.push(row);
  }
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export const STATUS_HEADERS = ['NAMESPACE', 'NAME', 'AGE', 'READY', 'STATUS'];

export function statusRow(r: ReleaseStatus): string[] {
  return [r.namespace, r.name, r.age, r.ready, r.status];
}

/** Lines under the table: one per release that is not ready. */
export function waitingLines(rows: ReleaseStatus[]): string[] {
  return rows.filter((r) => r.waitingFor).map((r) => `${r.namespace}/${r.name}: ${r.waitingFor}`);
}
