/**
 * The start's warm-up download (src/netboot/http/warm.ts): one real GET of the kernel through a
 * throwaway loopback server built from the same options. It must really download the asset, and
 * nothing a user sees may count it: the served server's metrics, the machines' progress, the
 * run's events and the log stay as they were. A warm-up that cannot run resolves to 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { warmHttp } from '../../src/netboot/http/index.js';
import { startNetboot, type NetbootServer } from '../../src/netboot/index.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { loopbackHttp, makeTree, parseProm, specFrom, SPEC_YAML, type Tree } from './lib.js';

describe('warmHttp', () => {
  let tree: Tree;
  before(() => (tree = makeTree()));
  after(() => tree.cleanup());

  it('downloads the whole asset, headers and body', async () => {
    const loaded = specFrom(SPEC_YAML());
    const got = await warmHttp(loopbackHttp(tree, loaded, { metrics: createMetrics() }), 'vmlinuz');
    const size = tree.files['vmlinuz']!.length;
    assert.ok(got > size && got < size + 1024, `${got} bytes for a ${size}-byte asset`);
  });

  it('downloads by sendfile and by copying alike', async () => {
    const loaded = specFrom(SPEC_YAML());
    const got = await warmHttp(loopbackHttp(tree, loaded, { metrics: createMetrics(), zeroCopy: false }), 'initramfs.xz');
    const size = tree.files['initramfs.xz']!.length;
    assert.ok(got > size && got < size + 1024, `${got} bytes for a ${size}-byte asset`);
  });

  it('resolves to 0 when the asset is not served, and never rejects', async () => {
    const loaded = specFrom(SPEC_YAML());
    const opts = { ...loopbackHttp(tree, loaded, { metrics: createMetrics() }), assets: path.join(tree.dir, 'no-such-dir') };
    assert.equal(await warmHttp(opts, 'vmlinuz'), 0);
  });
});

describe('startNetboot warms up unseen', () => {
  let tree: Tree;
  let srv: NetbootServer;
  const logs: string[] = [];
  before(async () => {
    tree = makeTree();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-warm-'));
    const loaded = specFrom(SPEC_YAML().replace('kernel: vmlinuz', `assets: ${tree.assets}\n  ipxe: ${tree.ipxe}\n  kernel: vmlinuz`), dir);
    srv = await startNetboot(loaded, { interface: 'lo', address: '127.0.0.1', dhcpMode: 'off', httpPort: 0, tftpPort: 0, stateDir: path.join(dir, 'state'), log: (l) => logs.push(l) });
  });
  after(async () => {
    await srv.close();
    tree.cleanup();
  });

  it('downloads the kernel once at start', async () => {
    const got = await srv.warmup;
    assert.ok(got > tree.files['vmlinuz']!.length, `warm-up got ${got} bytes`);
  });

  it('leaves no trace in metrics, progress, events or the log', async () => {
    await srv.warmup;
    const samples = parseProm(await (await fetch(`${srv.http.url}/metrics`)).text());
    const counted = [...samples].filter(([k]) => k.startsWith('hearth_http_requests_total') && k.includes('route="asset"'));
    assert.deepEqual(counted, []);
    assert.equal(samples.get('hearth_http_bytes_sent_total') ?? 0, 0);
    assert.deepEqual(srv.progress.list(), []);
    assert.deepEqual(srv.bus.since(0).filter((e) => JSON.stringify(e).includes('http-asset')), []);
    assert.deepEqual(logs, []);
  });

  it('the served server then answers the kernel as usual, counted', async () => {
    const res = await fetch(`${srv.http.url}/assets/vmlinuz`);
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(await res.arrayBuffer()).equals(tree.files['vmlinuz']!), true);
    const samples = parseProm(await (await fetch(`${srv.http.url}/metrics`)).text());
    assert.equal(samples.get('hearth_http_bytes_sent_total'), tree.files['vmlinuz']!.length);
  });
});
