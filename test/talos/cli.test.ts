import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runHearth } from '../helpers/cli.js';
import { TALOS_REF, writeSpec } from './helpers.js';

const mode = (f: string) => statSync(f).mode & 0o777;
const REF_SECRETS = path.join(TALOS_REF, 'secrets-from-talosctl.yaml');
/** every base64/PEM secret of the reference bundle, to make sure none is ever printed */
const refSecretStrings = readFileSync(REF_SECRETS, 'utf8').match(/: (\S{16,})$/gm)!.map((s) => s.slice(2));

test('talos --help lists secrets and config; each has --help', async () => {
  const r = await runHearth(['talos', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /secrets/);
  assert.match(r.stdout, /config/);
  for (const sub of ['secrets', 'config']) {
    const h = await runHearth(['talos', sub, '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--out <DIR>/);
    assert.match(h.stdout, /--force/);
  }
});

test('talos secrets: 0600, never printed, never overwritten without --force', async () => {
  const { dir, file } = writeSpec();
  const out = path.join(dir, 'out');
  const r = await runHearth(['talos', 'secrets', '-f', file, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const f = path.join(out, 'secrets.yaml');
  assert.equal(mode(f), 0o600);
  const text = readFileSync(f, 'utf8');
  const token = /bootstraptoken: (\S+)/.exec(text)![1]!;
  const key = /key: (\S+)/.exec(text)![1]!;
  for (const s of [token, key]) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), 'secret printed');
  const again = await runHearth(['talos', 'secrets', '-f', file, '--out', out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists; use --force/);
  assert.equal(readFileSync(f, 'utf8'), text, 'untouched');
  const forced = await runHearth(['talos', 'secrets', '-f', file, '--out', out, '--force', '-o', 'json']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(JSON.parse(forced.stdout).files[0].mode, '0600');
  assert.notEqual(readFileSync(f, 'utf8'), text);
  assert.equal(mode(f), 0o600);
});

test('talos config: creates DIR/secrets.yaml when missing, writes every file 0600, refuses to overwrite', async () => {
  const { dir, file } = writeSpec();
  const out = path.join(dir, 'out');
  const r = await runHearth(['talos', 'config', '-f', file, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const files = ['secrets.yaml', 'controlplane.yaml', 'worker.yaml', 'talosconfig', ...['cp1', 'cp2', 'cp3', 'worker1', 'worker2'].map((m) => `nodes/${m}.yaml`)];
  for (const f of files) assert.equal(mode(path.join(out, f)), 0o600, f);
  assert.match(r.stderr, /talosconfig endpoints: 192\.0\.2\.11, 192\.0\.2\.12, 192\.0\.2\.13/);
  const token = /bootstraptoken: (\S+)/.exec(readFileSync(path.join(out, 'secrets.yaml'), 'utf8'))![1]!;
  assert.ok(readFileSync(path.join(out, 'controlplane.yaml'), 'utf8').includes(`token: ${token}`), 'configs use the new bundle');
  const again = await runHearth(['talos', 'config', '-f', file, '--out', out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists; use --force/);
  const forced = await runHearth(['talos', 'config', '-f', file, '--out', out, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(readFileSync(path.join(out, 'worker.yaml'), 'utf8').includes(`token: ${token}`), 'the existing bundle is reused');
});

test('talos config --secrets with the talosctl bundle: nothing of it is printed', async () => {
  const { dir, file } = writeSpec();
  const out = path.join(dir, 'out');
  // A read-only copy that others may read (git does not keep the fixture's mode).
  const bundle = path.join(dir, 'secrets-from-talosctl.yaml');
  copyFileSync(REF_SECRETS, bundle);
  chmodSync(bundle, 0o444);
  const r = await runHearth(['talos', 'config', '-f', file, '--out', out, '--secrets', bundle, '-o', 'yaml']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(path.join(out, 'secrets.yaml')), false, 'no copy of a given bundle');
  assert.match(r.stderr, /readable by others \(mode 0444\); chmod 600 it/, 'the bundle is 0444');
  for (const s of refSecretStrings) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), 'secret printed');
  assert.ok(readFileSync(path.join(out, 'nodes/cp1.yaml'), 'utf8').includes(refSecretStrings[0]!));
});

const BAD: [string, (s: any, dir: string) => void, RegExp][] = [
  [
    'broken patch (unknown field) names the patch file and the field',
    (s, dir) => {
      writeFileSync(path.join(dir, 'bad.yaml'), 'machine:\n  instal:\n    disk: /dev/vda\n');
      s.cluster.patches.controlplane = ['bad.yaml'];
    },
    /patch bad\.yaml: v1alpha1 \/machine\/instal: unknown field "instal"/,
  ],
  [
    'JSON patch on a missing path names the spec position and the operation',
    (s) => {
      s.talos.version = 'v1.6.4';
      s.image.firmware = []; // the example's firmware names are the newer ones
      s.machines[1].patches = [[{ op: 'replace', path: '/machine/nothere/x', value: 1 }]];
    },
    /patch machines\[1\]\.patches\[0\]: \/machine\/nothere\/x: operation 0 \(replace \/machine\/nothere\/x\): path \/machine\/nothere\/x does not exist/,
  ],
  [
    'RFC 6902 patch on a Talos v1.13 (multi-document) config: refused as talosctl does',
    (s) => {
      s.cluster.patches.common = [[{ op: 'add', path: '/machine/certSANs/-', value: 'x' }]];
    },
    /patch cluster\.patches\.common\[0\]: JSON6902 patches are not supported for multi-document machine configuration/,
  ],
  ['patch file that does not exist', (s) => (s.cluster.patches.common = ['patches/missing.yaml']), /hearth\.yaml:\d+:\d+ cluster\.patches\.common\[0\]: patch file patches\/missing\.yaml does not exist/],
  ['role missing', (s) => delete s.machines[0].role, /machines\[0\]\.role/],
  ['disk missing on a control plane', (s) => delete s.machines[1].installDisk, /machines\[1\]\.installDisk: a control plane needs installDisk or diskSelector/],
  ['VIP outside the subnet', (s) => (s.cluster.vip = '198.51.100.10'), /cluster\.vip: VIP 198\.51\.100\.10 is outside/],
  ['broken inline YAML patch', (s) => (s.cluster.patches.worker = ['machine:\n  install: [\n']), /cluster\.patches\.worker\[0\]: patch: YAML/],
];

for (const [name, edit, want] of BAD) {
  test(`bad input, one clear error, nothing written: ${name}`, async () => {
    const { dir, file } = writeSpec(edit);
    const out = path.join(dir, 'out');
    const r = await runHearth(['talos', 'config', '-f', file, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, want);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(out), false, `nothing written: ${existsSync(out) ? readdirSync(out).join(',') : ''}`);
    const v = await runHearth(['validate', '-f', file]);
    if (!/broken patch|JSON patch|RFC 6902/.test(name)) assert.equal(v.code, 2, 'hearth validate reports it too');
  });
}

test('hearth plan writes DIR/talos (redacted without --with-secrets, 0600 files with it)', async () => {
  const { dir, file } = writeSpec();
  const out = path.join(dir, 'plan');
  const r = await runHearth(['plan', '-f', file, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(path.join(out, 'talos/secrets.yaml')), false);
  assert.equal(existsSync(path.join(out, 'talos/talosconfig')), false);
  assert.match(readFileSync(path.join(out, 'talos/nodes/cp1.yaml'), 'utf8'), /\*\*\*\*\*\*/);
  const out2 = path.join(dir, 'plan2');
  const r2 = await runHearth(['plan', '-f', file, '--out', out2, '--with-secrets']);
  assert.equal(r2.code, 0, r2.stderr);
  for (const f of ['secrets.yaml', 'talosconfig', 'controlplane.yaml', 'nodes/worker2.yaml']) assert.equal(mode(path.join(out2, 'talos', f)), 0o600, f);
});

test('the bundled example passes hearth validate', async () => {
  const r = await runHearth(['validate', '-f', 'examples/hearth.yaml']);
  assert.equal(r.code, 0, r.stderr);
});
