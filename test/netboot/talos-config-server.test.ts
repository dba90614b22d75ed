/**
 * Zero-touch configs through the composed server on loopback (DHCP off): the script a machine
 * gets carries talos.config=, the URL in it serves the nodes/<name>.yaml `hearth talos config`
 * writes, --config-once refuses a second fetch until the machine fetches its script again, an
 * installed machine gets the local-boot script and `hearth netboot reinstall` arms it again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BootEvent } from '../../src/netboot/events.js';
import { startNetboot, type NetbootServer } from '../../src/netboot/index.js';
import { prepare } from '../../src/pipeline/prepare.js';
import { writeConfigs, writeSecrets } from '../../src/talos/index.js';
import { ROOT, runHearth } from '../helpers/cli.js';
import { stopChild, within, WAIT_MS } from '../helpers/within.js';
import { SPEC_YAML, hearthArgv, makeTree, waitForOutput, type Tree } from './lib.js';

const CP1 = '52:54:00:00:00:01';

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) });
  return { status: r.status, body: await within(WAIT_MS, `the body of ${url}`, r.text()) };
}

describe('netboot server with Talos configs (loopback)', () => {
  let tree: Tree;
  let specFile: string;
  let secrets: string;
  let out: string;
  let state: string;
  let srv: NetbootServer;
  const events: BootEvent[] = [];
  const logs: string[] = [];

  before(async () => {
    tree = makeTree();
    specFile = path.join(tree.dir, 'hearth.yaml');
    writeFileSync(specFile, SPEC_YAML(`  assets: ${tree.assets}\n  ipxe: ${tree.ipxe}`));
    const p = prepare(specFile);
    out = path.join(tree.dir, 'out');
    state = path.join(tree.dir, 'state');
    secrets = (await writeSecrets(p.loaded.spec, out)).file;
    await writeConfigs(p.loaded, { ...p.talos, out, secretsFile: secrets });
    srv = await startNetboot(p.loaded, { address: '127.0.0.1', httpPort: 0, tftpPort: 0, stateDir: state, secretsFile: secrets, configOnce: true, log: (l) => logs.push(l) });
    srv.progress.onChange((_m, e) => events.push(e));
  });
  after(async () => {
    await srv?.close();
    tree.cleanup();
  });

  const base = () => srv.config.httpBase;
  const script = () => get(`${base()}/ipxe?mac=${CP1}&platform=pcbios&buildarch=i386`);
  const configUrl = (s: string) => /talos\.config=(\S+)/.exec(s)?.[1];

  it('puts talos.config= into the script; the URL serves nodes/cp1.yaml byte for byte, once per boot', async () => {
    assert.equal(srv.talosConfig, true);
    const s = await script();
    assert.equal(s.status, 200);
    const url = configUrl(s.body);
    assert.equal(url, `${base()}/talos/config?mac=${CP1}`);
    const first = await get(url!);
    assert.equal(first.status, 200);
    assert.ok(Buffer.from(first.body).equals(readFileSync(path.join(out, 'nodes', 'cp1.yaml'))));
    const second = await get(url!);
    assert.equal(second.status, 403);
    assert.match(logs.at(-1)!, /refused the Talos config to 127\.0\.0\.1 \(mac=52:54:00:00:00:01\): cp1 already fetched/);
    // Booting through hearth again (its script) re-arms it.
    await script();
    assert.equal((await get(url!)).status, 200);
    const fetched = events.filter((e) => e.kind === 'talos-config');
    assert.equal(fetched.length, 2);
    assert.deepEqual({ ...fetched[0], at: 0 }, { kind: 'talos-config', at: 0, ip: '127.0.0.1', mac: CP1, file: '/talos/config', bytes: Buffer.byteLength(first.body), detail: 'cp1' });
    // /api/machines shows the fetch, never the config.
    const api = await get(`${base()}/api/machines`);
    const cp1 = (JSON.parse(api.body) as { machines: { mac: string; steps: { step: string }[] }[] }).machines.find((m) => m.mac === CP1)!;
    assert.ok(cp1.steps.some((x) => x.step === 'config'));
    const secretLine = first.body.split('\n').find((l) => /token: \S{10,}/.test(l))!;
    assert.ok(secretLine && !api.body.includes(secretLine.trim().split(' ').pop()!), 'a token from the config shows in /api/machines');
  });

  it('a machine whose profile sets its own talos.config= keeps it (no second one)', async () => {
    const p = path.join(tree.dir, 'own.yaml');
    writeFileSync(p, SPEC_YAML(`  assets: ${tree.assets}\n  ipxe: ${tree.ipxe}\n  profiles:\n    - { name: own, match: { mac: ["52:54:00:00:00:04"] }, extraKernelArgs: ["talos.config=http://192.0.2.9/w1.yaml"] }`));
    const own = await startNetboot(prepare(p).loaded, { address: '127.0.0.1', httpPort: 0, tftpPort: 0, stateDir: path.join(tree.dir, 'own-state'), secretsFile: secrets, log: () => undefined });
    try {
      const w1 = (await get(`${own.config.httpBase}/ipxe?mac=52:54:00:00:00:04`)).body;
      assert.deepEqual(w1.match(/talos\.config=\S+/g), ['talos.config=http://192.0.2.9/w1.yaml']);
      const cp1 = (await get(`${own.config.httpBase}/ipxe?mac=${CP1}`)).body;
      assert.deepEqual(cp1.match(/talos\.config=\S+/g), [`talos.config=${own.config.httpBase}/talos/config?mac=${CP1}`]);
    } finally {
      await own.close();
    }
  });

  it('an unlisted MAC gets 403 and no config', async () => {
    const r = await get(`${base()}/talos/config?mac=52:54:00:00:00:77`);
    assert.equal(r.status, 403);
    assert.match(logs.at(-1)!, /to 127\.0\.0\.1 .*not in machines\[\]/);
  });

  it('an installed machine gets the local-boot script; `hearth netboot reinstall` arms it again', async () => {
    await srv.installs.markInstalled(CP1);
    const local = await script();
    assert.match(local.body, /is installed; booting from its local disk\n.*sanboot --no-describe --drive 0x80 \|\|\nexit\n$/);
    assert.ok(!local.body.includes('kernel '));
    assert.equal(events.at(-1)!.kind, 'local-boot');
    const r = await runHearth(['netboot', 'reinstall', 'cp1', '-f', specFile, '--state', state]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /cp1 re-armed/);
    // The running server sees the change at the next boot, without a restart.
    assert.match((await script()).body, /^kernel .*talos\.config=/m);
    assert.equal(srv.installs.isInstalled(CP1), false);
    const again = await runHearth(['netboot', 'reinstall', 'cp1', '-f', specFile, '--state', state]);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /not marked installed/);
  });

  it('reinstall of an unknown name, and talosConfig: true without a bundle, are one-line errors (exit 2)', async () => {
    const r = await runHearth(['netboot', 'reinstall', 'nope', '-f', specFile, '--state', state]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /no machine named nope in machines\[\].*\(there are: cp1, w1\)/);
    const on = path.join(tree.dir, 'on.yaml');
    writeFileSync(on, SPEC_YAML(`  assets: ${tree.assets}\n  ipxe: ${tree.ipxe}\n  talosConfig: true`));
    const s = await runHearth(['netboot', 'serve', '-f', on, '--address', '127.0.0.1', '--http-port', '0', '--tftp-port', '0', '--state', state]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /netboot\.talosConfig is true but the server has no secrets bundle: give --secrets FILE/);
    assert.equal(s.stderr.trim().split('\n').length, 1, s.stderr);
  });

  it('`hearth netboot serve --secrets FILE --config-once` serves configs from the CLI', async () => {
    const argv = hearthArgv(['netboot', 'serve', '-f', specFile, '--address', '127.0.0.1', '--http-port', '0', '--tftp-port', '0', '--state', path.join(tree.dir, 'cli-state'), '--secrets', secrets, '--config-once', '--log']);
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    child.stdout.on('data', (d) => (log += d));
    try {
      await waitForOutput(() => log, (s) => /Talos configs: /.test(s) || child.exitCode !== null, 30_000, 'serve to start');
      const cfgBase = /Talos configs: served at (http:\/\/127\.0\.0\.1:\d+)\/talos\/config, once per boot/.exec(log)?.[1];
      assert.ok(cfgBase, log);
      const url = configUrl((await get(`${cfgBase}/ipxe?mac=${CP1}`)).body)!;
      assert.equal((await get(url)).status, 200);
      assert.equal((await get(url)).status, 403);
      await waitForOutput(() => log, (s) => /refused the Talos config to 127\.0\.0\.1/.test(s), 10_000, 'the refusal line');
      assert.match(log, /52:54:00:00:00:01 cp1 talos-config 127\.0\.0\.1 \/talos\/config \d+B cp1/);
      const token = /token: (\S{10,})/.exec(readFileSync(path.join(out, 'nodes', 'cp1.yaml'), 'utf8'))![1]!;
      assert.ok(!log.includes(token), 'a secret from the config was logged');
    } finally {
      await stopChild(child);
    }
  });
});
