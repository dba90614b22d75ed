/**
 * followReleases over many watches that each end (the API server's watch timeout): it must not
 * leave a listener on the caller's AbortSignal per watch (Node warns past 10, memory grows).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import type { KubeClient, WatchHandle } from '../../src/platform/kube/client.js';
import { followReleases } from '../../src/platform/watch.js';

test('following through 50 ended watches keeps at most one abort listener on the signal', async () => {
  const stop = new AbortController();
  const seen: number[] = [];
  let watches = 0;
  const client: KubeClient = {
    server: 'http://192.0.2.1:6443',
    get: async () => undefined,
    apply: async (o) => o,
    list: async () => ({ items: [], resourceVersion: '1' }),
    watch: async (_api, _kind, opts, onEvent): Promise<WatchHandle> => {
      seen.push(getEventListeners(stop.signal, 'abort').length);
      if (++watches === 50) stop.abort();
      // One bookmark, then the stream ends as at the server's timeout.
      onEvent('BOOKMARK', { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: '', resourceVersion: String(Number(opts.resourceVersion) + 1) } });
      return { stop: () => undefined, done: Promise.resolve({}) };
    },
  };
  await followReleases({ client, signal: stop.signal, onChange: () => undefined });
  assert.equal(watches, 50);
  assert.ok(Math.max(...seen) <= 1, `abort listeners per watch: ${seen.join(',')}`);
  assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
});
