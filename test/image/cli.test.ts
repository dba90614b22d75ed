import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { runHearth } from '../helpers/cli.js';
import { SEED_IMAGE, SEED_PROFILE, specText } from './helpers.js';

const EXAMPLE = 'examples/hearth.yaml';

function withSpec(text: string): { dir: string; file: string; done: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-image-cli-'));
  const file = path.join(dir, 'hearth.yaml');
  writeFileSync(file, text);
  return { dir, file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('--help on every image command', async () => {
  for (const sub of [[], ['profile'], ['schematic'], ['urls'], ['build'], ['catalog']]) {
    const r = await runHearth(['image', ...sub, '--help']);
    assert.equal(r.code, 0, sub.join(' '));
    assert.match(r.stdout, /Usage: hearth image/);
    assert.match(r.stdout, /Example/);
  }
});

test('image profile: the seed profile on stdout, nothing else', async () => {
  const s = withSpec(specText(SEED_IMAGE, 'v1.6.4'));
  try {
    const r = await runHearth(['image', 'profile', '-f', s.file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, SEED_PROFILE);
    assert.equal(r.stderr, '');
  } finally {
    s.done();
  }
});

test('image profile --kind all --out DIR writes one file per kind', async () => {
  const s = withSpec(specText(SEED_IMAGE, 'v1.6.4'));
  try {
    const out = path.join(s.dir, 'profiles');
    const r = await runHearth(['image', 'profile', '-f', s.file, '--kind', 'all', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(readdirSync(out).sort(), ['initramfs.yaml', 'installer.yaml', 'iso.yaml', 'kernel.yaml']);
    assert.equal(readFileSync(path.join(out, 'installer.yaml'), 'utf8'), SEED_PROFILE);
    assert.equal(parse(readFileSync(path.join(out, 'kernel.yaml'), 'utf8')).output.kind, 'kernel');
    assert.match(r.stderr, /^wrote .*installer\.yaml/);
  } finally {
    s.done();
  }
});

test('image profile: derived catalog tags are announced on stderr, the profile stays clean on stdout', async () => {
  const r = await runHearth(['image', 'profile', '-f', EXAMPLE]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^warning: \d+ extension tags for Talos v1\.13\.9 are derived, not seen published: .*ghcr\.io\/siderolabs\/zfs:2\.4\.3-v1\.13\.9/);
  assert.equal(parse(r.stdout).version, 'v1.13.9');
});

test('image profile --kind with a wrong value: usage error, exit 2', async () => {
  const r = await runHearth(['image', 'profile', '-f', EXAMPLE, '--kind', 'disk']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /argument 'disk' is invalid. Allowed choices are installer, kernel, initramfs, iso, uki, all/);
});

test('image schematic: yaml on stdout is the canonical text, the ID on stderr; json and id formats', async () => {
  const s = withSpec(specText('  extensions: [iscsi-tools, util-linux-tools]\n  source: factory'));
  try {
    const y = await runHearth(['image', 'schematic', '-f', s.file]);
    assert.equal(y.code, 0);
    assert.equal(y.stdout, 'customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/util-linux-tools\n');
    assert.equal(y.stderr, 'schematic id: 613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245\n');
    const j = await runHearth(['image', 'schematic', '-f', s.file, '-o', 'json']);
    assert.deepEqual(JSON.parse(j.stdout), {
      id: '613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245',
      schematic: { customization: { systemExtensions: { officialExtensions: ['siderolabs/iscsi-tools', 'siderolabs/util-linux-tools'] } } },
    });
    const id = await runHearth(['image', 'schematic', '-f', s.file, '-o', 'id']);
    assert.equal(id.stdout, '613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245\n');
  } finally {
    s.done();
  }
});

test('image urls: text table, json and yaml', async () => {
  const t = await runHearth(['image', 'urls', '-f', EXAMPLE]);
  assert.equal(t.code, 0);
  assert.match(t.stdout, /^ASSET\s+URL\nschematic\s+[0-9a-f]{64}\nkernel\s+https:\/\/factory\.talos\.dev\/image\/[0-9a-f]{64}\/v1\.13\.9\/kernel-amd64\n/);
  assert.match(t.stdout, /\ninstaller\s+factory\.talos\.dev\/metal-installer\/[0-9a-f]{64}:v1\.13\.9\n/);
  const j = JSON.parse((await runHearth(['image', 'urls', '-f', EXAMPLE, '-o', 'json'])).stdout);
  const y = parse((await runHearth(['image', 'urls', '-f', EXAMPLE, '-o', 'yaml'])).stdout);
  assert.deepEqual(j, y);
  assert.equal(j.iso, `https://factory.talos.dev/image/${j.schematic}/v1.13.9/metal-amd64.iso`);
  assert.equal(j.installImage, j.installer);
});

test('image catalog: every package of a release, json for scripts, unknown release exits 2', async () => {
  const t = await runHearth(['image', 'catalog', '--talos', 'v1.6.4']);
  assert.equal(t.code, 0);
  assert.match(t.stdout, /^amdgpu-firmware\s+firmware\s+ghcr\.io\/siderolabs\/amdgpu-firmware:20240115\s+yes$/m);
  assert.match(t.stderr, /^sources: /);
  const j = JSON.parse((await runHearth(['image', 'catalog', '-o', 'json'])).stdout);
  assert.equal(j.talos, 'v1.13.9');
  assert.ok(j.entries.length >= 60);
  const bad = await runHearth(['image', 'catalog', '--talos', 'v1.7.0']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'error: hearth has no extension catalog for Talos v1.7.0 (it knows v1.6.4, v1.13.9)\n');
});

test('an unknown extension stops every image command with exit 2 and the located message', async () => {
  const s = withSpec(specText('  extensions: [zsf]'));
  try {
    for (const sub of ['profile', 'schematic', 'urls', 'build']) {
      const r = await runHearth(['image', sub, '-f', s.file]);
      assert.equal(r.code, 2, sub);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error: .*hearth\.yaml: 1 problem\n {2}.*hearth\.yaml:8:16 image\.extensions\[0\]: unknown extension "zsf" for Talos v1\.13\.9 \(did you mean "zfs"\?\)/);
    }
  } finally {
    s.done();
  }
});

test('hearth validate and plan on the bundled example: DIR/image has profiles, schematic and urls', async () => {
  const v = await runHearth(['validate', '-f', EXAMPLE]);
  assert.equal(v.stdout, 'valid\n');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-plan-'));
  try {
    const r = await runHearth(['plan', '-f', EXAMPLE, '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    const img = path.join(dir, 'image');
    for (const f of ['profiles/installer.yaml', 'profiles/kernel.yaml', 'profiles/initramfs.yaml', 'profiles/iso.yaml', 'schematic.yaml', 'schematic.id', 'urls.yaml']) {
      assert.ok(existsSync(path.join(img, f)), f);
    }
    const id = readFileSync(path.join(img, 'schematic.id'), 'utf8').trim();
    // The schematic file is the canonical text: its sha256 is the ID (checked with coreutils when present).
    const sum = spawnSync('sha256sum', ['schematic.yaml'], { cwd: img, encoding: 'utf8' });
    if (!sum.error) assert.equal(sum.stdout.split(' ')[0], id);
    const urls = parse(readFileSync(path.join(img, 'urls.yaml'), 'utf8'));
    assert.equal(urls.schematic, id);
    assert.equal(urls.installImage, `factory.talos.dev/metal-installer/${id}:v1.13.9`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
