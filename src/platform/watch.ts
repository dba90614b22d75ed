/**
 * Following the HelmReleases in a cluster: list, then watch from the list's resourceVersion, for
 * `hearth platform install` (until every release is Ready) and `hearth platform status -w`. The one
 * list-and-watch loop, and the only place that decides what a watch's end means:
 * - the server's own timeout: watch again from the last resourceVersion;
 * - 410 Gone (history compacted): list again;
 * - the API unreachable or answering 5xx (a restart, a VIP failover): retry with capped exponential
 *   backoff, saying once that it was lost and once that it is back;
 * - watch forbidden (RBAC allows list only): say so once, then follow by listing at an interval;
 * - list forbidden or unauthorized: nothing will change that by waiting — a KubeApiError.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { KubeApiError, type KubeClient, type WatchEnd } from './kube/client.js';
import { HELMRELEASE_API } from './render.js';
import type { KubeObject } from './types.js';

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Every HelmRelease in the cluster, with the resourceVersion to watch from. */
export function listReleases(client: KubeClient, labelSelector?: string): Promise<{ items: KubeObject[]; resourceVersion: string }> {
  return client.list(HELMRELEASE_API, 'HelmRelease', labelSelector ? { labelSelector } : {});
}

export interface Backoff {
  /** First wait after a failure. */
  readonly initialMs: number;
  /** The longest wait. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 10_000 };

/** The n-th wait (n from 0): doubling from initialMs up to maxMs, with up to 20 % jitter off. */
export function backoffMs(b: Backoff, n: number, random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(n, 30));
  return Math.round(base * (1 - 0.2 * random()));
}

export interface FollowOptions {
  readonly client: KubeClient;
  /** Only releases with these labels (e.g. the ones hearth manages). */
  readonly labelSelector?: string;
  /** Stops following (Ctrl-C, a deadline, the caller done). */
  readonly signal: AbortSignal;
  /** The releases found (every one), after the first list and after each change; `changed` is the `namespace/name` that changed, absent after a (re)list. */
  readonly onChange: (current: KubeObject[], changed?: string) => void;
  /** A line for people when the connection is lost or regained, or a watch is refused. */
  readonly onNotice?: (line: string) => void;
  /** Waits after failures. */
  readonly backoff?: Backoff;
  /** How often to list when watching is forbidden. */
  readonly pollMs?: number;
}

/** A watch shorter than this that delivered nothing counts as a failure to connect. */
const QUICK_MS = 1000;

/** Terminal: waiting will not fix it. */
function terminal(e: KubeApiError): boolean {
  return e.code === 401 || e.code === 403 || e.code === 404;
}

function asKubeError(err: unknown): KubeApiError {
  return err instanceof KubeApiError ? err : new KubeApiError(err instanceof Error ? err.message : String(err), 0, 'Unknown');
}

/**
 * Follows the releases until `signal` aborts (then resolves). Rejects with a KubeApiError only when
 * listing is refused (401/403/404), which no retry would fix.
 */
export async function followReleases(o: FollowOptions): Promise<void> {
  const backoff = o.backoff ?? DEFAULT_BACKOFF;
  const notice = o.onNotice ?? (() => undefined);
  const current = new Map<string, KubeObject>();
  let rv: string | undefined;
  let failures = 0;
  let lostSince: number | undefined;
  let watchRefused = false;
  const wait = async (ms: number) => {
    try {
      await delay(ms, undefined, { signal: o.signal });
    } catch {
      /* aborted */
    }
  };
  const lost = async (e: KubeApiError) => {
    if (lostSince === undefined) {
      lostSince = Date.now();
      notice(`lost the Kubernetes API at ${o.client.server}: ${e.message}; retrying`);
    }
    await wait(backoffMs(backoff, failures++));
  };
  const regained = () => {
    if (lostSince !== undefined) notice(`the Kubernetes API at ${o.client.server} is back after ${Math.max(1, Math.round((Date.now() - lostSince) / 1000))}s`);
    lostSince = undefined;
    failures = 0;
  };

  while (!o.signal.aborted) {
    if (rv === undefined) {
      let listed;
      try {
        listed = await listReleases(o.client, o.labelSelector);
      } catch (err) {
        const e = asKubeError(err);
        if (terminal(e)) throw e;
        await lost(e);
        continue;
      }
      regained();
      current.clear();
      for (const item of listed.items) current.set(keyOf(item), item);
      rv = listed.resourceVersion;
      o.onChange([...current.values()]);
    }
    if (watchRefused) {
      await wait(o.pollMs ?? 5000);
      rv = undefined;
      continue;
    }
    let events = 0;
    const started = Date.now();
    const handle = await o.client.watch(HELMRELEASE_API, 'HelmRelease', { resourceVersion: rv, ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}) }, (type, obj) => {
      if (!obj?.metadata) return;
      events++;
      if (obj.metadata.resourceVersion) rv = obj.metadata.resourceVersion;
      if (type === 'BOOKMARK') return;
      const k = keyOf(obj);
      if (type === 'DELETED') current.delete(k);
      else current.set(k, obj);
      o.onChange([...current.values()], k);
    });
    const aborted = new Promise<WatchEnd>((r) => {
      if (o.signal.aborted) r({});
      o.signal.addEventListener('abort', () => r({}), { once: true });
    });
    const end = await Promise.race([handle.done, aborted]);
    handle.stop();
    if (o.signal.aborted) break;
    const e = end.error;
    // A watch that ends at once with nothing in it, again and again, gets the backoff: never a spin.
    const quick = events === 0 && Date.now() - started < QUICK_MS;
    if (!quick && lostSince === undefined) failures = 0;
    if (!e) {
      // The server's timeout: carry on from where the stream stopped.
      if (quick) await wait(backoffMs(backoff, failures++));
      continue;
    }
    if (e.code === 410) {
      rv = undefined; // compacted: list again
      if (quick) await wait(backoffMs(backoff, failures++));
      continue;
    }
    if (e.code === 401 || e.code === 403) {
      watchRefused = true;
      const every = o.pollMs ?? 5000;
      notice(`${e.message}; following by listing every ${every >= 1000 ? `${Math.round(every / 1000)}s` : `${every}ms`} instead`);
      continue;
    }
    await lost(e);
    // Listing again after an outage also tells us whether the API is back.
    rv = undefined;
  }
}
