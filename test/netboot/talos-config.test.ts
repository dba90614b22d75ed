/**
 * Zero-touch Talos configs (issue 13 §1–§2) without sockets: the /talos/config route and its
 * checks, the talos.config= and local-boot scripts, the installed marks, and the served config
 * being byte for byte the nodes/<name>.yaml `hearth talos config` writes.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/common/errors.js';
import type { BootEvent } from '../../src/netboot/events.js';
import { httpConfig } from '../../src/netboot/http/config.js';
import type { HttpRequest } from '../../src/netboot/http/exchange.js';
import { createRouter } from '../../src/netboot/http/routes.js';
import { ConfigOnce, leaseRefusal, talosConfigRoute, type TalosConfigRouteOptions } from '../../src/netboot/http/talos-config.js';
import { INSTALLS_FILE, InstallMarks, markMachinesInstalled } from '../../src/netboot/installs.js';
import { Jail } from '../../src/netboot/jail.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { planNetboot } from '../../src/netboot/index.js';
import { findMachine, renderMachineScript, resolveBoot, talosConfigQuery, type BootPlan } from '../../src/netboot/render/index.js';
import { renderServedConfigs, talosConfigEnabled } from '../../src/netboot/talos-configs.js';
import { prepare } from '../../src/pipeline/prepare.js';
import { writeConfigs, writeSecrets } from '../../src/talos/index.js';
import { SPEC_YAML, makeTree, specFrom, type Tree } from './lib.js';

const BASE = 'http://192.0.2.1:8080';
const CP1 = '52:54:00:00:00:01';
const W1 = '52:54:00:00:00:04';
const W1_UUID = '8f0c1e3a-1111-2222-3333-444455556666';

function request(url: string, ip = '192.0.2.11', method = 'GET'): HttpRequest {
  const u = new URL(url, BASE);
  return { method, path: u.pathname, query: u.searchParams, headers: {}, ip, base: BASE };
}

/** The route over the SPEC_YAML machines with made-up configs, recording events and log lines. */
function harness(extra: Partial<TalosConfigRouteOptions> = {}) {
  const { spec } = specFrom(SPEC_YAML());
  const events: BootEvent[] = [];
  const logs: string[] = [];
  const configs = new Map([
    ['cp1', 'version: v1alpha1\nmachine: { token: cp1-SECRET-token }\n'],
    ['w1', 'version: v1alpha1\nmachine: { token: w1-SECRET-token }\n'],
  ]);
  const handle = talosConfigRoute({
    findMachine: (id) => findMachine(spec, id),
    configFor: (name) => configs.get(name),
    events: { emit: (e) => events.push(e) },
    log: (l) => logs.push(l),
    now: () => 1000,
    ...extra,
  });
  return { handle, events, logs, configs };
}

describe('GET /talos/config', () => {
  it('serves a listed MAC its config, as an event with mac, ip, URL path and size but not the text', () => {
    const h = harness();
    const r = h.handle(request(`/talos/config?mac=${CP1.toUpperCase().replace(/:/g, '-')}`));
    assert.equal(r.status, 200);
    assert.equal(r.body, h.configs.get('cp1'));
    assert.equal(r.headers['Content-Type'], 'application/yaml');
    assert.equal(r.headers['Cache-Control'], 'no-store');
    assert.deepEqual(h.events, [{ kind: 'talos-config', at: 1000, ip: '192.0.2.11', mac: CP1, file: '/talos/config', bytes: Buffer.byteLength(h.configs.get('cp1')!), detail: 'cp1' }]);
    assert.deepEqual(h.logs, []);
  });

  it('finds a machine by its UUID too', () => {
    const h = harness();
    const r = h.handle(request(`/talos/config?uuid=${W1_UUID.toUpperCase()}`));
    assert.equal(r.status, 200);
    assert.equal(r.body, h.configs.get('w1'));
    assert.equal(h.events[0]!.mac, W1);
  });

  it('refuses an unlisted, malformed or missing identity with 403, an event and a log line naming the requester', () => {
    const h = harness();
    const cases: [string, RegExp][] = [
      ['/talos/config?mac=52:54:00:00:00:77', /mac 52:54:00:00:00:77 is not in machines\[\]/],
      ['/talos/config?uuid=00000000-0000-0000-0000-000000000000', /is not in machines\[\]/],
      ['/talos/config?mac=zz:54:00:00:00:01', /malformed mac/],
      ['/talos/config', /no mac or uuid/],
    ];
    for (const [url, why] of cases) {
      const r = h.handle(request(url, '192.0.2.99'));
      assert.equal(r.status, 403, url);
      assert.match(r.body!, why);
      const e = h.events.at(-1)!;
      assert.equal(e.kind, 'talos-config-refused');
      assert.equal(e.ip, '192.0.2.99');
      assert.equal(e.mac, undefined, 'a refusal is not pinned on the MAC the requester claimed');
      assert.match(e.detail!, why);
      assert.match(h.logs.at(-1)!, /refused the Talos config to 192\.0\.2\.99 /);
    }
    assert.equal(h.logs.length, cases.length);
  });

  it('never puts a config into a log line or a refusal', () => {
    const h = harness({ once: new ConfigOnce() });
    h.handle(request(`/talos/config?mac=${CP1}`));
    h.handle(request(`/talos/config?mac=${CP1}`));
    h.handle(request('/talos/config?mac=52:54:00:00:00:77'));
    const all = JSON.stringify([h.logs, h.events]);
    assert.ok(h.logs.length === 2 && !all.includes('SECRET'), all);
  });

  it('with hearth DHCP: only to the address leased to that MAC', () => {
    const leases = new Map([
      ['192.0.2.11', CP1],
      ['192.0.2.21', W1],
    ]);
    const h = harness({ addressRefusal: (ip, m) => leaseRefusal(ip, m, leases.get(ip), new Map()) });
    assert.equal(h.handle(request(`/talos/config?mac=${CP1}`, '192.0.2.11')).status, 200);
    const stolen = h.handle(request(`/talos/config?mac=${CP1}`, '192.0.2.21'));
    assert.equal(stolen.status, 403);
    assert.match(stolen.body!, /192\.0\.2\.21 is leased to 52:54:00:00:00:04, not to cp1/);
    const stranger = h.handle(request(`/talos/config?mac=${CP1}`, '192.0.2.200'));
    assert.equal(stranger.status, 403);
    assert.match(stranger.body!, /holds no lease from hearth/);
    assert.deepEqual(
      h.events.map((e) => e.kind),
      ['talos-config', 'talos-config-refused', 'talos-config-refused'],
    );
  });

  it('a UUID-only machine goes to the lease whose MAC reported that UUID in DHCP', () => {
    const m = { name: 'u1', uuid: W1_UUID.toUpperCase() };
    assert.equal(leaseRefusal('192.0.2.30', m, '52:54:00:00:00:30', new Map([[W1_UUID, '52:54:00:00:00:30']])), undefined);
    assert.match(leaseRefusal('192.0.2.30', m, '52:54:00:00:00:30', new Map([[W1_UUID, '52:54:00:00:00:31']]))!, /did not report u1's uuid/);
    assert.match(leaseRefusal('192.0.2.30', m, '52:54:00:00:00:30', new Map())!, /did not report u1's uuid/);
  });

  it('--config-once: the second GET of a boot is refused; HEAD does not use it up; rearm allows one more', () => {
    const once = new ConfigOnce();
    const h = harness({ once });
    assert.equal(h.handle(request(`/talos/config?mac=${CP1}`, '192.0.2.11', 'HEAD')).status, 200);
    assert.equal(h.events.length, 0, 'a HEAD is not a fetch');
    assert.equal(h.handle(request(`/talos/config?mac=${CP1}`)).status, 200);
    const again = h.handle(request(`/talos/config?mac=${CP1}`));
    assert.equal(again.status, 403);
    assert.match(again.body!, /cp1 already fetched its config during this boot \(--config-once\)/);
    assert.equal(h.handle(request(`/talos/config?mac=${W1}`)).status, 200, 'the gate is per machine');
    once.rearm('cp1');
    assert.equal(h.handle(request(`/talos/config?mac=${CP1}`)).status, 200);
    assert.equal(h.handle(request(`/talos/config?mac=${CP1}`)).status, 403);
  });

  it('is wired into the router only when the server serves configs; the machine script of an installed machine is a local-boot event', async () => {
    const tree = makeTree();
    try {
      const events: BootEvent[] = [];
      const plan: BootPlan = { machine: 'cp1', profile: 'default', boot: true, kernel: 'vmlinuz', initrd: [], kernelArgs: [] };
      const base = { address: '192.0.2.1', port: 8080, assets: tree.assets, ipxe: tree.ipxe, metrics: createMetrics(), events: { emit: (e: BootEvent) => events.push(e) } };
      const jails = { assets: await Jail.at(tree.assets), ipxe: await Jail.at(tree.ipxe) };
      const without = createRouter(httpConfig({ ...base, resolveBoot: () => plan }), jails)('GET', '/talos/config');
      assert.equal((await without.handle(request('/talos/config?mac=' + CP1))).status, 404);
      const h = harness();
      const route = createRouter(httpConfig({ ...base, resolveBoot: () => ({ ...plan, localBoot: true }), talosConfig: h.handle }), jails);
      const cfgRoute = route('GET', '/talos/config');
      assert.equal(cfgRoute.name, 'talos-config');
      assert.equal((await cfgRoute.handle(request('/talos/config?mac=' + CP1))).status, 200);
      const script = await route('GET', '/ipxe').handle(request(`/ipxe?mac=${CP1}`));
      assert.match(script.body!, /sanboot --no-describe --drive 0x80/);
      assert.equal(events.at(-1)!.kind, 'local-boot');
      assert.equal(events.at(-1)!.mac, CP1);
    } finally {
      tree.cleanup();
    }
  });
});

describe('scripts', () => {
  const { spec } = specFrom(SPEC_YAML());

  it('talos.config= names the machine by MAC (else UUID) on the kernel line', () => {
    const plan = { ...resolveBoot(spec, { mac: CP1 }), talosConfig: talosConfigQuery(spec.machines[0]!) };
    const s = renderMachineScript(plan, BASE);
    const kernel = s.split('\n').find((l) => l.startsWith('kernel '))!;
    assert.ok(kernel.endsWith(` talos.config=${BASE}/talos/config?mac=${CP1}`), kernel);
    assert.equal(talosConfigQuery({ uuid: '{8F0C1E3A-1111-2222-3333-444455556666}' }), `uuid=${W1_UUID}`);
    assert.equal(talosConfigQuery({}), undefined);
    assert.ok(!renderMachineScript(resolveBoot(spec, { mac: CP1 }), BASE).includes('talos.config'), 'off unless the plan carries it');
  });

  it('hearth plan writes talos.config= only when the spec turns netboot.talosConfig on', async () => {
    const script = async (extra: string) => {
      const arts = await planNetboot(specFrom(SPEC_YAML(extra)));
      return String(arts.find((a) => a.path === 'machines/cp1.ipxe')!.content);
    };
    assert.match(await script('  talosConfig: true'), new RegExp(`talos\\.config=http://\\$\\{next-server\\}:8080/talos/config\\?mac=${CP1}`));
    assert.ok(!(await script('')).includes('talos.config'));
  });

  it('an installed machine boots its disk: sanboot 0x80 on BIOS, exit elsewhere, no kernel', () => {
    const s = renderMachineScript({ ...resolveBoot(spec, { mac: CP1 }), localBoot: true }, BASE);
    assert.equal(
      s,
      ['#!ipxe', 'echo hearth: machine cp1 is installed; booting from its local disk', 'iseq ${platform} pcbios && sanboot --no-describe --drive 0x80 ||', 'exit', ''].join('\n'),
    );
  });

  it('talosConfig defaults to on exactly when a secrets bundle is given; the flag and the spec win', () => {
    assert.equal(talosConfigEnabled(undefined, undefined, 's.yaml'), true);
    assert.equal(talosConfigEnabled(undefined, undefined, undefined), false);
    assert.equal(talosConfigEnabled(undefined, false, 's.yaml'), false);
    assert.equal(talosConfigEnabled(false, true, 's.yaml'), false);
  });
});

describe('installed marks', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-marks-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('persist in the state dir, survive a restart and are cleared by rearm', async () => {
    const state = path.join(dir, 'a', 'state');
    const marks = new InstallMarks(state, (mac) => (mac === CP1 ? 'cp1' : undefined), () => new Date('2026-01-02T03:04:05Z'));
    assert.equal(marks.isInstalled(CP1), false);
    await Promise.all([marks.markInstalled('52-54-00-00-00-01'), marks.markInstalled(W1)]);
    assert.equal(marks.isInstalled(CP1), true);
    const file = JSON.parse(readFileSync(path.join(state, INSTALLS_FILE), 'utf8'));
    assert.deepEqual(file, { version: 1, machines: [{ mac: CP1, name: 'cp1', at: '2026-01-02T03:04:05.000Z' }, { mac: W1, at: '2026-01-02T03:04:05.000Z' }] });
    const again = new InstallMarks(state);
    assert.deepEqual(again.list().map((m) => m.mac), [CP1, W1]);
    await again.rearm(CP1);
    assert.equal(again.isInstalled(CP1), false);
    // The first instance (a running server) sees the other process's change without a restart.
    assert.equal(marks.isInstalled(CP1), false);
    assert.equal(marks.isInstalled(W1), true);
  });

  it('after `hearth bootstrap`: the bootstrapped machines with a MAC are marked, by name', async () => {
    const state = path.join(dir, 'c');
    const machines = [{ name: 'cp1', mac: '52-54-00-00-00-01' }, { name: 'u1' }, { name: 'w1', mac: W1 }];
    const r = await markMachinesInstalled(state, machines, ['cp1', 'u1']);
    assert.deepEqual(r, { names: ['cp1'], file: path.join(state, INSTALLS_FILE) });
    const marks = new InstallMarks(state);
    assert.deepEqual(marks.list().map((m) => [m.mac, m.name]), [[CP1, 'cp1']]);
    assert.equal(marks.isInstalled(W1), false, 'a machine bootstrap did not report stays armed');
  });

  it('a damaged file is a one-line InputError at start, and keeps the last marks while serving', async () => {
    const state = path.join(dir, 'b');
    const marks = new InstallMarks(state);
    await marks.markInstalled(CP1);
    writeFileSync(path.join(state, INSTALLS_FILE), '{"version":1,"machines":[{');
    assert.equal(marks.isInstalled(CP1), true);
    assert.throws(() => new InstallMarks(state), (e: unknown) => e instanceof InputError && /installed\.json is damaged/.test(e.message) && !e.message.includes('\n'));
    writeFileSync(path.join(state, INSTALLS_FILE), '{"machines":[{"mac":1}]}');
    assert.throws(() => new InstallMarks(state), /not an installed-marks file/);
  });
});

describe('served configs are the files `hearth talos config` writes', () => {
  let tree: Tree;
  before(() => (tree = makeTree()));
  after(() => tree.cleanup());

  it('byte for byte, for every machine, with the same spec and bundle', async () => {
    const specFile = path.join(tree.dir, 'hearth.yaml');
    writeFileSync(specFile, SPEC_YAML(`  assets: ${tree.assets}`));
    const p = prepare(specFile);
    const out = path.join(tree.dir, 'out');
    const { file: secrets } = await writeSecrets(p.loaded.spec, out);
    await writeConfigs(p.loaded, { ...p.talos, out, secretsFile: secrets });
    // Without the pipeline's inputs (derived the same way) and with them.
    for (const inputs of [undefined, p.talos]) {
      const { configs, warnings } = await renderServedConfigs(p.loaded, secrets, inputs);
      assert.deepEqual([...configs.keys()], ['cp1', 'w1']);
      for (const [name, text] of configs) assert.ok(Buffer.from(text).equals(readFileSync(path.join(out, 'nodes', `${name}.yaml`))), `${name} differs`);
      assert.deepEqual(warnings, []);
    }
    chmodSync(secrets, 0o644);
    assert.match((await renderServedConfigs(p.loaded, secrets)).warnings.join(), /readable by others \(mode 0644\)/);
  });

  it('progress shows the fetch and the refusal, never the config', () => {
    const progress = new ProgressTracker({ nameForMac: (mac) => (mac === CP1 ? 'cp1' : undefined), macForIp: (ip) => (ip === '192.0.2.11' ? CP1 : undefined) });
    progress.emit({ kind: 'talos-config', at: 1, ip: '192.0.2.11', mac: CP1, file: '/talos/config', bytes: 42, detail: 'cp1' });
    progress.emit({ kind: 'talos-config-refused', at: 2, ip: '192.0.2.11', file: '/talos/config', detail: 'cp1 already fetched its config during this boot (--config-once)' });
    progress.emit({ kind: 'local-boot', at: 3, ip: '192.0.2.11', mac: CP1, file: '/ipxe' });
    const m = progress.get(CP1)!;
    assert.deepEqual(m.steps.map((s) => [s.step, s.bytes]), [['config', 42], ['local-boot', undefined]]);
    assert.equal(m.errorCount, 1);
    assert.match(m.errors[0]!, /refused to 192\.0\.2\.11: cp1 already fetched/);
    assert.equal(m.state, 'installed: booting from disk');
  });
});
