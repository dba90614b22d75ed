/**
 * `hearth platform status -w`: the HelmReleases in a cluster, kept current (list, then watch from the
 * list's resourceVersion; relist when the server ends the watch). The edge to the cluster; printing
 * stays with the caller.
 */
import type { KubeClient } from './kube/client.js';
import { HELMRELEASE_API } from './render.js';
import type { KubeObject } from './types.js';

const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;

/** Every HelmRelease in the cluster, with the resourceVersion to watch from. */
export function listReleases(client: KubeClient): Promise<{ items: KubeObject[]; resourceVersion: string }> {
  return client.list(HELMRELEASE_API, 'HelmRelease');
}

/**
 * Follows the releases from `first` (a listReleases result) until `signal` aborts; after each
 * change calls `onChange` with every current release and the `namespace/name` that changed.
 */
export async function watchReleases(
  client: KubeClient,
  first: { items: KubeObject[]; resourceVersion: string },
  signal: AbortSignal,
  onChange: (current: KubeObject[], changed: string) => void,
): Promise<void> {
  const current = new Map(first.items.map((o) => [keyOf(o), o]));
  let rv = first.resourceVersion;
  while (!signal.aborted) {
    const handle = await client.watch(HELMRELEASE_API, 'HelmRelease', { resourceVersion: rv }, (type, obj) => {
      if (!obj?.metadata) return;
      if (obj.metadata.resourceVersion) rv = obj.metadata.resourceVersion;
      if (type === 'BOOKMARK' || type === 'ERROR') return;
      const k = keyOf(obj);
      if (type === 'DELETED') current.delete(k);
      else current.set(k, obj);
      onChange([...current.values()], k);
    });
    const aborted = new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    await Promise.race([handle.done, aborted]);
    handle.stop();
    if (signal.aborted) break;
    // The server ended the watch: relist and continue from there.
    const again = await listReleases(client);
    current.clear();
    for (const o of again.items) current.set(keyOf(o), o);
    rv = again.resourceVersion;
  }
}
