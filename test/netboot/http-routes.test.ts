/**
 * The HTTP route handlers and the router without sockets: plain requests in, plain responses out
 * (matchbox-style), against a real asset tree and a fake resolveBoot port.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BootEvent } from '../../src/netboot/events.js';
import { httpConfig } from '../../src/netboot/http/config.js';
import type { HttpRequest, HttpResponse } from '../../src/netboot/http/exchange.js';
import { etagOf, fileResponse, parseRange } from '../../src/netboot/http/files.js';
import { createRouter } from '../../src/netboot/http/routes.js';
import { Jail } from '../../src/netboot/jail.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import type { BootPlan, ClientIdentity } from '../../src/netboot/render/index.js';
import { makeTree, type Tree } from './lib.js';

const BASE = 'http://192.0.2.1:8080';

function request(method: string, url: string, headers: Record<string, string> = {}, ip = '192.0.2.50'): HttpRequest {
  const u = new URL(url, 'http://x');
  return { method, path: u.pathname, query: u.searchParams, headers, ip, base: BASE };
}

describe('http routes', () => {
  let tree: Tree;
  let route: ReturnType<typeof createRouter>;
  const events: BootEvent[] = [];
  const asked: ClientIdentity[] = [];
  const leases = new Map([['192.0.2.60', '52:54:00:00:00:60']]);
  const resolveBoot = (client: ClientIdentity): BootPlan => {
    asked.push(client);
    if (client.mac === '52:54:00:00:00:99') return { profile: 'blocked', boot: false, kernel: 'vmlinuz', initrd: [], kernelArgs: [], reason: 'profile blocked says boot: false' };
    if (client.mac === '52:54:00:00:00:60') return { profile: 'other', boot: true, kernel: 'sub/nested.bin', initrd: ['vmlinuz'], kernelArgs: [] };
    return { profile: 'default', boot: true, kernel: 'vmlinuz', initrd: ['initramfs.xz'], kernelArgs: ['console=ttyS0'] };
  };
  const answer = async (req: HttpRequest): Promise<[string, HttpResponse]> => {
    const r = route(req.method, req.path);
    return [r.name, await r.handle(req)];
  };

  before(async () => {
    tree = makeTree();
    const cfg = httpConfig({
      address: '192.0.2.1',
      port: 8080,
      resolveBoot,
      assets: tree.assets,
      ipxe: tree.ipxe,
      metrics: createMetrics(),
      events: { emit: (e) => events.push(e) },
      macForIp: (ip) => leases.get(ip),
      machines: () => [{ mac: '52:54:00:00:00:01', firstSeen: 1, lastSeen: 2, state: 'seen', steps: [], active: [], errors: [], errorCount: 0 }],
    });
    route = createRouter(cfg, { assets: await Jail.at(tree.assets), ipxe: await Jail.at(tree.ipxe) });
  });
  after(() => tree.cleanup());

  it('names each route for the metrics and refuses other methods with Allow', async () => {
    const names = ['/healthz', '/metrics', '/api/machines', '/boot.ipxe', '/ipxe', '/ipxe.efi', '/assets/vmlinuz', '/nothing', '/assets/%zz', '/%zz'].map((p) => route('GET', p).name);
    assert.deepEqual(names, ['healthz', 'metrics', 'api', 'boot.ipxe', 'script', 'ipxe', 'asset', 'other', 'asset', 'other']);
    const [name, r] = await answer(request('PUT', '/assets/vmlinuz'));
    assert.equal(name, 'other');
    assert.equal(r.status, 405);
    assert.equal(r.headers.Allow, 'GET, HEAD');
  });

  it('answers /healthz, /api/machines and /metrics as text with their types', async () => {
    const [, h] = await answer(request('GET', '/healthz'));
    assert.deepEqual([h.status, h.body, h.headers['Content-Length']], [200, 'ok\n', 3]);
    const [, m] = await answer(request('GET', '/api/machines'));
    assert.equal(m.headers['Content-Type'], 'application/json');
    assert.equal((JSON.parse(m.body!) as { machines: { mac: string }[] }).machines[0]!.mac, '52:54:00:00:00:01');
    const [, p] = await answer(request('GET', '/metrics'));
    assert.match(String(p.headers['Content-Type']), /^text\/plain/);
    assert.match(p.body!, /^# HELP hearth_http_requests_total/m);
  });

  it('/boot.ipxe chains to /ipxe on the request base', async () => {
    const [, r] = await answer(request('GET', '/boot.ipxe'));
    assert.match(r.body!, /^#!ipxe\n/);
    assert.ok(r.body!.includes(`chain ${BASE}/ipxe?mac=`), r.body);
  });

  it('/ipxe asks resolveBoot with the URL MAC (normalised), else the lease, and reports the script', async () => {
    events.length = 0;
    asked.length = 0;
    let [, r] = await answer(request('GET', '/ipxe?mac=52-54-00-00-00-01&uuid=abc&buildarch=x86_64&platform=efi'));
    assert.deepEqual(asked.at(-1), { mac: '52:54:00:00:00:01', uuid: 'abc' });
    assert.match(r.body!, new RegExp(`^kernel ${BASE}/assets/vmlinuz initrd=initramfs.xz console=ttyS0$`, 'm'));
    assert.deepEqual(
      { kind: events[0]!.kind, mac: events[0]!.mac, arch: events[0]!.arch, file: events[0]!.file, detail: events[0]!.detail },
      { kind: 'http-script', mac: '52:54:00:00:00:01', arch: 'efi-x86_64', file: '/ipxe', detail: 'profile default' },
    );
    // A malformed MAC does not count: the lease behind the address decides.
    [, r] = await answer(request('GET', '/ipxe?mac=zz', {}, '192.0.2.60'));
    assert.deepEqual(asked.at(-1), { mac: '52:54:00:00:00:60', uuid: undefined });
    assert.match(r.body!, /sub\/nested\.bin/);
    [, r] = await answer(request('GET', '/ipxe?mac=52:54:00:00:00:99'));
    assert.match(r.body!, /^exit 1$/m);
    assert.equal(events.at(-1)!.detail, 'profile blocked (no boot)');
  });

  it('serves assets and iPXE binaries as file bodies, telling kernel, initrd and other assets apart', async () => {
    const kinds: string[] = [];
    for (const [p, ip] of [
      ['/assets/vmlinuz', '192.0.2.50'],
      ['/assets/initramfs.xz', '192.0.2.50'],
      ['/assets/sub/nested.bin', '192.0.2.50'],
      ['/assets/sub/nested.bin', '192.0.2.60'],
      ['/assets/vmlinuz', '192.0.2.60'],
    ] as const) {
      const [, r] = await answer(request('GET', p, {}, ip));
      assert.equal(r.status, 200, p);
      assert.equal(r.file?.path, path.join(await Jail.at(tree.assets).then((j) => j.root), p.slice('/assets/'.length)));
      kinds.push(r.file!.kind);
    }
    assert.deepEqual(kinds, ['kernel', 'initrd', 'asset', 'kernel', 'initrd']);
    const [name, bin] = await answer(request('GET', '/snponly.efi'));
    assert.equal(name, 'ipxe');
    assert.deepEqual([bin.file?.name, bin.file?.kind, bin.file?.length], ['snponly.efi', 'bootfile', tree.files['snponly.efi']!.length]);
  });

  it('refuses traversal and bad encodings without touching files outside', async () => {
    for (const [p, status] of [
      ['/assets/../secret.txt', 404],
      ['/assets/%2e%2e/secret.txt', 404],
      ['/assets/sub/..%2f..%2fsecret.txt', 404],
      ['/assets/escape', 404],
      ['/assets//etc/passwd', 404],
      ['/assets/vmlinuz%00', 404],
      ['/assets/%zz', 400],
      ['/%zz', 400],
      ['/undionly.kkpxe', 404],
    ] as const) {
      const [, r] = await answer(request('GET', p));
      assert.equal(r.status, status, p);
      assert.equal(r.file, undefined, p);
    }
  });
});

describe('http file answers', () => {
  let tree: Tree;
  const file = () => path.join(tree.assets, 'vmlinuz');
  const st = () => statSync(file());
  const get = (headers: Record<string, string> = {}, method = 'GET') => fileResponse(request(method, '/assets/vmlinuz', headers), file(), st(), 'vmlinuz', 'kernel');
  before(() => {
    tree = makeTree();
  });
  after(() => tree.cleanup());

  it('a plain GET: the whole file with validators', () => {
    const r = get();
    assert.equal(r.status, 200);
    assert.equal(r.headers.ETag, etagOf(st()));
    assert.equal(r.headers['Accept-Ranges'], 'bytes');
    assert.equal(r.headers['Content-Length'], 300_001);
    const { st: version, ...body } = r.file!;
    assert.deepEqual(body, { path: file(), start: 0, end: 300_000, length: 300_001, name: 'vmlinuz', kind: 'kernel' });
    assert.equal(version?.ino, st().ino, 'the version the headers describe goes with the body');
  });

  it('ranges: a slice, a suffix, an open end, unsatisfiable, and If-Range', () => {
    let r = get({ range: 'bytes=1000-1999' });
    assert.deepEqual([r.status, r.headers['Content-Range'], r.file?.start, r.file?.end, r.headers['Content-Length']], [206, 'bytes 1000-1999/300001', 1000, 1999, 1000]);
    r = get({ range: 'bytes=-100' });
    assert.deepEqual([r.file?.start, r.file?.end], [299_901, 300_000]);
    r = get({ range: 'bytes=300000-' });
    assert.deepEqual([r.file?.start, r.file?.length], [300_000, 1]);
    r = get({ range: 'bytes=400000-500000' });
    assert.deepEqual([r.status, r.headers['Content-Range'], r.file], [416, 'bytes */300001', undefined]);
    assert.equal(get({ range: 'bytes=0-9', 'if-range': '"stale"' }).status, 200);
    assert.equal(get({ range: 'bytes=0-9', 'if-range': etagOf(st()) }).status, 206);
    assert.equal(get({ range: 'bytes=0-1,5-6' }).status, 200);
  });

  it('If-None-Match: 304 for the current tag (weak or in a list) and *, 200 for another', () => {
    const tag = etagOf(st());
    for (const inm of [tag, `W/${tag}`, `"x", ${tag}`, '*']) {
      const r = get({ 'if-none-match': inm });
      assert.equal(r.status, 304, inm);
      assert.equal(r.file, undefined);
    }
    assert.equal(get({ 'if-none-match': '"other"' }).status, 200);
  });

  it('an empty file has no body to stream', () => {
    const empty = path.join(tree.assets, 'empty');
    const r = fileResponse(request('GET', '/assets/empty'), empty, statSync(empty), 'empty', 'asset');
    assert.equal(r.headers['Content-Length'], 0);
    assert.equal(r.file?.length, 0);
  });

  it('parseRange follows RFC 9110', () => {
    assert.deepEqual(parseRange('bytes=0-0', 10), { start: 0, end: 0 });
    assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 9 });
    assert.equal(parseRange('bytes=-', 10), 'bad');
    assert.equal(parseRange('bytes=-0', 10), 'bad');
    assert.equal(parseRange('bytes=7-3', 10), 'bad');
    assert.equal(parseRange('bytes=10-', 10), 'bad');
    assert.equal(parseRange('items=0-1', 10), undefined);
  });
});
