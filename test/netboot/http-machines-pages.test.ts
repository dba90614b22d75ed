/**
 * /api/machines in pages (?limit=&after=, ordered by MAC, `next` cursor) and fetchMachines, which
 * `hearth netboot machines` uses, following the pages over a real loopback server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHttp, type HttpServer } from '../../src/netboot/http/index.js';
import { MACHINES_LIMIT, machinesRoute } from '../../src/netboot/http/routes.js';
import type { HttpRequest } from '../../src/netboot/http/exchange.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { fetchMachines } from '../../src/netboot/progress/client.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { SPEC_YAML, loopbackHttp, makeTree, specFrom, type Tree } from './lib.js';

const mac = (i: number) => `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
const N = 250;

function tracker(): ProgressTracker {
  const t = new ProgressTracker();
  // First seen in the reverse of MAC order, so "by MAC" and "by first seen" differ.
  for (let i = 0; i < N; i++) t.emit({ kind: 'dhcp-discover', at: 1_000 + i, mac: mac(N - 1 - i) });
  return t;
}

const req = (query: string): HttpRequest => ({ method: 'GET', path: '/api/machines', query: new URLSearchParams(query), headers: {}, ip: '127.0.0.1', base: 'http://x' });

describe('/api/machines pages', () => {
  const t = tracker();
  const handle = machinesRoute({ machines: () => t.list() });
  const page = async (q: string) => {
    const r = await handle(req(q));
    return { status: r.status, body: r.status === 200 ? (JSON.parse(r.body!) as { machines: { mac: string }[]; next?: string }) : undefined };
  };

  it('answers at most the default limit, ordered by MAC, with a cursor', async () => {
    const { body } = await page('');
    assert.equal(body!.machines.length, MACHINES_LIMIT);
    assert.deepEqual(body!.machines.map((m) => m.mac), Array.from({ length: MACHINES_LIMIT }, (_, i) => mac(i)));
    assert.equal(body!.next, mac(MACHINES_LIMIT - 1));
  });

  it('walks every machine exactly once through limit and after, the last page without next', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (; pages < 100; pages++) {
      const { body } = await page(`limit=40${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      seen.push(...body!.machines.map((m) => m.mac));
      if (!body!.next) break;
      after = body!.next;
    }
    assert.equal(pages, Math.ceil(N / 40) - 1);
    assert.deepEqual(seen, Array.from({ length: N }, (_, i) => mac(i)));
  });

  it('refuses a limit out of range or not a number with 400', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'limit=1e3']) assert.equal((await page(q)).status, 400, q);
    assert.equal((await page('limit=1000')).body!.machines.length, N);
  });
});

describe('fetchMachines follows the pages', () => {
  let tree: Tree;
  let srv: HttpServer;
  const t = tracker();
  before(async () => {
    tree = makeTree();
    const loaded = specFrom(SPEC_YAML());
    srv = await startHttp(loopbackHttp(tree, loaded, { metrics: createMetrics(), machines: () => t.list() }));
  });
  after(async () => {
    await srv.close();
    tree.cleanup();
  });

  it('gets all machines over several pages, in the order first seen', async () => {
    const got = await fetchMachines(srv.url, 10_000, 7);
    assert.equal(got.length, N);
    assert.deepEqual(got.map((m) => m.mac), t.list().map((m) => m.mac));
    assert.equal(got[0]!.mac, mac(N - 1));
  });
});
