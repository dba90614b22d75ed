/**
 * The dashboard never shows a secret: with a Talos secrets bundle in play and a run publishing
 * on the bus (real boot requests through the HTTP server, Talos phases, components, and publishers
 * that wrongly hang configs or the bundle itself on their events), neither /api/events nor the
 * page's files nor /api/machines carry any secret of the bundle. Also the page's own headers
 * (a CSP that allows this server only) and the answer when the dashboard is not built.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dashboardDir, dashboardRoutes } from '../../src/netboot/http/dashboard.js';
import { startHttp, type HttpServer } from '../../src/netboot/http/index.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { ProgressTracker, type MachineProgress } from '../../src/netboot/progress/index.js';
import { findMachine } from '../../src/netboot/render/index.js';
import { publishProgress } from '../../src/netboot/server.js';
import { RunEventBus, type RunEvent } from '../../src/pipeline/events.js';
import { contractFor } from '../../src/talos/contract.js';
import { generateSecrets, serializeSecrets, type SecretsBundle } from '../../src/talos/secrets.js';
import { ROOT } from '../helpers/cli.js';
import { loopbackHttp, makeTree, specFrom, SPEC_YAML, type Tree } from '../netboot/lib.js';

const CP1 = '52:54:00:00:00:01';

/** Every secret string of the bundle, and each line of every PEM block (a fragment is a leak too). */
function needles(bundle: SecretsBundle): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      out.push(v);
      for (const line of v.split('\n')) if (line.length >= 16 && !line.startsWith('-----')) out.push(line);
    } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(bundle);
  return [...new Set(out)].filter((s) => s.length >= 12);
}

/** /api/events read until the stream has sent `lastId`. */
function readStream(url: string, lastId: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = http.get(`${url}/api/events`, { agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (text.includes(`id: ${lastId}\n`)) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => reject(new Error(`no event ${lastId} in: ${text.slice(-500)}`)));
  });
}

describe('dashboard: no secrets', () => {
  let tree: Tree;
  let srv: HttpServer;
  let bundle: SecretsBundle;
  const bus = new RunEventBus();
  const spec = specFrom(SPEC_YAML());
  const progress = new ProgressTracker({ nameForMac: (mac) => findMachine(spec.spec, { mac })?.name });
  publishProgress(progress, bus);

  before(async () => {
    bundle = await generateSecrets(contractFor('v1.13.9'));
    tree = makeTree();
    srv = await startHttp(loopbackHttp(tree, spec, { metrics: createMetrics(), events: progress, macForIp: (ip) => progress.macForIp(ip), machines: () => progress.list(), bus }));
  });
  after(async () => {
    await srv?.close();
    tree?.cleanup();
  });

  it('neither /api/events, the page, nor /api/machines carry a secret of the bundle', async () => {
    const yaml = serializeSecrets(bundle);
    for (const p of [`/ipxe?mac=${CP1}`, '/assets/vmlinuz', '/assets/initramfs.xz']) await (await fetch(`${srv.url}${p}`)).arrayBuffer();
    // What `hearth up` publishes, and publishers that wrongly attach configs and the bundle.
    bus.emit({ type: 'talos', at: Date.now(), name: 'cp1', phase: 'config-fetched', address: '192.0.2.11', config: yaml } as RunEvent);
    const m = { ...progress.get(CP1)!, machineConfig: yaml, secrets: bundle } as MachineProgress;
    bus.emit({ type: 'machine', at: Date.now(), machine: m });
    bus.emit({ type: 'component', at: Date.now(), name: 'cilium', namespace: 'kube-system', state: 'ready', dependsOn: [], values: { token: bundle.secrets.bootstraptoken } } as RunEvent);
    bus.emit({ type: 'boot', at: Date.now(), boot: { kind: 'http-asset-done', at: Date.now(), mac: CP1, file: 'config', body: yaml } as never });
    bus.emit({ type: 'stage', at: Date.now(), stage: 'bootstrap', state: 'started', bundle } as RunEvent);
    const stream = await readStream(srv.url, bus.lastId());
    assert.match(stream, /"phase":"config-fetched"/, 'the events themselves went out');
    assert.match(stream, /"step":"kernel"/);
    const bodies: Record<string, string> = { '/api/events': stream };
    for (const p of ['/', '/dashboard.js', '/dashboard.css', '/api/machines']) {
      const r = await fetch(`${srv.url}${p}`);
      assert.equal(r.status, 200, p);
      bodies[p] = await r.text();
    }
    const secrets = needles(bundle);
    assert.ok(secrets.length > 10, `needles from the bundle: ${secrets.length}`);
    for (const [where, body] of Object.entries(bodies)) for (const [i, s] of secrets.entries()) assert.ok(!body.includes(s), `${where} carries secret #${i} of the bundle (${s.length} characters)`);
  });

  it('serves the page with a CSP that allows this server only', async () => {
    const r = await fetch(`${srv.url}/`);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /https?:|\*/);
    const html = await r.text();
    assert.match(html, /src="\/dashboard\.js"/);
    assert.doesNotMatch(html, /https?:\/\//, 'the page references no other origin');
    const js = await (await fetch(`${srv.url}/dashboard.js`)).text();
    assert.match(js, /api\/events/);
    assert.doesNotMatch(js, /https?:\/\/(?!www\.w3\.org)/, 'the script fetches nothing from another origin');
  });

  it('finds the built files from the compiled tree and from the bundled CLI, never above dist/', () => {
    const built = path.join(ROOT, 'dist', 'dashboard');
    assert.equal(dashboardDir(path.join(ROOT, 'dist', 'src', 'netboot', 'http')), built);
    assert.equal(dashboardDir(path.join(ROOT, 'dist', 'cli', 'chunks')), built);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'hearth-dash-'));
    mkdirSync(path.join(empty, 'dist', 'cli'), { recursive: true });
    assert.equal(dashboardDir(path.join(empty, 'dist', 'cli')), undefined);
    rmSync(empty, { recursive: true, force: true });
  });

  it('answers 503 with a one-line reason when the dashboard is not built', () => {
    const r = dashboardRoutes(() => undefined).get('/')!();
    assert.equal(r.status, 503);
    assert.equal(r.body, 'the dashboard is not built (npm run build)\n');
  });
});
