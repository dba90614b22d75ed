/**
 * The dashboard in headless Chromium when its event stream drops: a loopback relay between the
 * browser and a netboot HTTP server is cut mid-run and held shut while the run goes on; when it
 * opens again the page (same document, no reload) resumes with Last-Event-ID and shows what
 * happened in between. A second cut lasts past the bus's history, so the server starts the page
 * over (reset + snapshots) and the page is still right. Also: the page asks nothing of another
 * origin, and fits a phone's width.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHttp, type HttpServer } from '../../src/netboot/http/index.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { findMachine } from '../../src/netboot/render/index.js';
import { publishProgress } from '../../src/netboot/server.js';
import { RunEventBus } from '../../src/pipeline/events.js';
import { loopbackHttp, makeTree, specFrom, SPEC_YAML, type Tree } from '../netboot/lib.js';
import { Relay, cellStates, chromiumUnavailable, launch, openDashboard, sameDocument, until } from './browser.js';

const CP1 = '52:54:00:00:00:01';

describe('dashboard: the page across a dropped event stream', { skip: chromiumUnavailable() ?? false, timeout: 180_000 }, () => {
  let tree: Tree;
  let srv: HttpServer;
  let relay: Relay;
  let browser: Browser;
  let page: Page;
  let requests: string[];
  let errors: string[];
  const bus = new RunEventBus();
  const spec = specFrom(SPEC_YAML());
  const progress = new ProgressTracker({ nameForMac: (mac) => findMachine(spec.spec, { mac })?.name });
  publishProgress(progress, bus);
  const link = () => page.getAttribute('[data-link]', 'data-link');
  const get = async (p: string) => {
    const r = await fetch(`${srv.url}${p}`);
    await r.arrayBuffer();
    assert.equal(r.status, 200, p);
  };

  before(async () => {
    tree = makeTree();
    srv = await startHttp(loopbackHttp(tree, spec, { metrics: createMetrics(), events: progress, macForIp: (ip) => progress.macForIp(ip), bus, sse: { retryMs: 300 } }));
    relay = new Relay({ host: '127.0.0.1', port: srv.port });
    await relay.start();
    browser = await launch('127.0.0.1');
    ({ page, requests, errors } = await openDashboard(browser, `http://127.0.0.1:${relay.port}/`));
  });
  after(async () => {
    await browser?.close();
    await relay?.close();
    await srv?.close();
    tree?.cleanup();
  });

  it('shows the machine live over SSE', async () => {
    await until('the stream to be live', async () => (await link()) === 'live');
    assert.match((await page.textContent('main')) ?? '', /waiting for machines/);
    const t0 = Date.now();
    progress.emit({ kind: 'dhcp-discover', at: t0, mac: CP1, arch: 'bios' });
    progress.emit({ kind: 'dhcp-ack', at: t0 + 5, mac: CP1, ip: '127.0.0.1' });
    await until('the DHCP cell done', async () => (await cellStates(page, 'cp1')).dhcp === 'done');
    assert.equal((await cellStates(page, 'cp1')).kernel, 'waiting');
    // A download under way (as the HTTP server reports it each second): the cell shows the bytes so far and the rate.
    progress.emit({ kind: 'http-asset-start', at: t0 + 10, ip: '127.0.0.1', file: 'vmlinuz', bytes: 300_001, detail: 'kernel' });
    progress.emit({ kind: 'http-asset-progress', at: t0 + 20, ip: '127.0.0.1', file: 'vmlinuz', bytes: 150_000, detail: 'kernel' });
    await until('the kernel under way', async () => (await cellStates(page, 'cp1')).kernel === 'active');
    assert.match((await page.textContent('[data-machine="cp1"] [data-step="kernel"]')) ?? '', /146 KiB · .*\/s/);
  });

  it('resumes with Last-Event-ID after the stream drops, and shows what happened meanwhile', async () => {
    relay.hold(true);
    assert.ok(relay.cut() > 0, 'the event stream ran through the relay');
    await until('the page to notice', async () => (await link()) === 'reconnecting');
    // The boot goes on while the page is cut off: script, kernel, initrd, Talos fetching its config.
    await get(`/ipxe?mac=${CP1}`);
    await get('/assets/vmlinuz');
    await get('/assets/initramfs.xz');
    bus.emit({ type: 'talos', at: Date.now(), name: 'cp1', phase: 'config-fetched', address: '192.0.2.11' });
    bus.emit({ type: 'log', at: Date.now(), level: 'info', message: 'emitted while the page was cut off' });
    const before = relay.exchanges.length;
    relay.hold(false);
    await until('the page to catch up', async () => {
      const c = await cellStates(page, 'cp1');
      return c.script === 'done' && c.kernel === 'done' && c.initrd === 'done' && c.config === 'done';
    });
    assert.ok(await sameDocument(page), 'the page was not reloaded');
    const resumed = relay.exchanges.slice(before).find((x) => x.head.startsWith('GET /api/events'));
    const id = Number(/\r\nlast-event-id: *(\d+)\r\n/i.exec(resumed?.head ?? '')?.[1]);
    assert.ok(id > 0, `the reconnect carried Last-Event-ID: ${resumed?.head}`);
    // The server continued the stream after that id: no reset, the next event first.
    assert.doesNotMatch(resumed!.reply, /event: reset/);
    assert.match(resumed!.reply, new RegExp(`\\nid: ${id + 1}\\n`));
    assert.match((await page.textContent('.feed')) ?? '', /emitted while the page was cut off/);
    assert.match((await page.textContent('[data-machine="cp1"]')) ?? '', /192\.0\.2\.11/);
    assert.equal((await cellStates(page, 'cp1')).installing, 'waiting');
  });

  it('starts over from snapshots when the outage outlasts the history, and is still right', async () => {
    relay.hold(true);
    relay.cut();
    await until('the page to notice', async () => (await link()) === 'reconnecting');
    for (let i = 0; i < 2500; i++) bus.emit({ type: 'log', at: Date.now(), level: 'info', message: `filler ${i}` });
    bus.emit({ type: 'talos', at: Date.now(), name: 'cp1', phase: 'installing', address: '192.0.2.11' });
    bus.emit({ type: 'component', at: Date.now(), name: 'cilium', namespace: 'kube-system', state: 'ready', dependsOn: [] });
    bus.emit({ type: 'component', at: Date.now(), name: 'ingress', namespace: 'platform', state: 'progressing', waitingFor: 'cilium', dependsOn: ['cilium'] });
    const before = relay.exchanges.length;
    relay.hold(false);
    await until('the installing phase', async () => (await cellStates(page, 'cp1')).installing === 'active');
    assert.ok(await sameDocument(page), 'the page was not reloaded');
    const resumed = relay.exchanges.slice(before).find((x) => x.head.startsWith('GET /api/events'));
    assert.match(resumed?.head ?? '', /\r\nlast-event-id: *\d+\r\n/i);
    assert.match(resumed!.reply, /event: reset/, 'the server started the page over');
    const c = await cellStates(page, 'cp1');
    // The netboot timeline came back from the machine's snapshot, not from the (dropped) history.
    assert.deepEqual([c.dhcp, c.script, c.kernel, c.initrd, c.config, c.running], ['done', 'done', 'done', 'done', 'done', 'waiting']);
    const order = await page.$$eval('[data-component]', (rows) => rows.map((r) => r.getAttribute('data-component')));
    assert.deepEqual(order, ['cilium', 'ingress']);
    assert.match((await page.textContent('[data-component="ingress"]')) ?? '', /waiting for cilium/);
    const feed = (await page.textContent('.feed')) ?? '';
    assert.match(feed, /filler 2499/);
    assert.doesNotMatch(feed, /filler 5\b/, 'the feed holds the latest events, not the dropped ones');
  });

  it('loaded nothing from another origin and logged no error', () => {
    const origin = `http://127.0.0.1:${relay.port}/`;
    assert.ok(requests.length >= 3, requests.join(' '));
    for (const r of requests) assert.ok(r.startsWith(origin), `request to another origin: ${r}`);
    assert.deepEqual(errors, []);
  });

  it('fits a phone screen', async () => {
    const phone = await openDashboard(browser, `http://127.0.0.1:${relay.port}/`, { width: 390, height: 844 });
    await until('the machine on the phone', async () => (await cellStates(phone.page, 'cp1')).kernel === 'done');
    const { scroll, width } = (await phone.page.evaluate('({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })')) as { scroll: number; width: number };
    assert.ok(scroll <= width, `no sideways scrolling on a phone: ${scroll} > ${width}`);
    await phone.page.close();
  });
});
