import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { marshalSchematic, schematicFor, schematicId, type Schematic } from '../../src/image/index.js';
import { yamlV3String as scalar } from '../../src/common/yamlv3.js';
import { load } from './helpers.js';

const exts = (...names: string[]): Schematic => ({ customization: { systemExtensions: { officialExtensions: names.map((n) => `siderolabs/${n}`) } } });

/**
 * Schematic IDs users published, each with the extensions it was made from (order as
 * published: the factory hashes the list in the order it was posted).
 */
const PUBLISHED: [string, string[], string][] = [
  ['376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba', [], 'default schematic, image-factory README and Talos docs'],
  ['613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245', ['iscsi-tools', 'util-linux-tools'], 'Longhorn docs'],
  ['ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515', ['qemu-guest-agent'], 'Proxmox/nocloud ISO URLs'],
  ['c9078f9419961640c712a8bf2bb9174933dfcf1da383fd8ea2b7dc21493f8bac', ['iscsi-tools'], 'homelab notes (c9078f94...)'],
  ['4b3cd373a192c8469e859b7a0cfbed3ecc3577c4a2d346a37b0aeff9cd17cdb0', ['i915', 'intel-ucode'], 'talosctl gen config --install-image (Intel)'],
  ['1e17720baa2217bdf64a7caa256011144fce07af5dd12ce18baed735789e7c81', ['amd-ucode', 'amdgpu', 'iscsi-tools'], 'homelab notes (1e17720b...)'],
  ['16be3b98edc75480e2b2dfdce9eaf6544b2ffff8bd0494dc845e76c1b53870c9', ['intel-ucode', 'i915', 'mei'], 'homelab notes (16be3b98...), unsorted order'],
  ['334e798f530db5f67f1a4d2b9b5f6bf136d4e956035e8e1c92fdaf064dd7d755', ['intel-ucode', 'tailscale'], 'talosctl upgrade runbook for v1.13.9'],
];

for (const [id, names, where] of PUBLISHED) {
  test(`schematic ID ${id.slice(0, 12)}... (${names.join(', ') || 'empty'}; ${where})`, () => {
    assert.equal(schematicId(names.length ? exts(...names) : { customization: {} }), id);
  });
}

test('the hint from the brief: the exact bytes of the iscsi-tools + util-linux-tools schematic', () => {
  const text = 'customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/util-linux-tools\n';
  assert.equal(marshalSchematic(exts('iscsi-tools', 'util-linux-tools')), text);
  assert.equal(createHash('sha256').update(text).digest('hex'), '613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245');
});

test('an empty customization is written as a flow mapping, like yaml.v3', () => {
  assert.equal(marshalSchematic({ customization: {} }), 'customization: {}\n');
});

test('from a spec: firmware first, then extensions, each siderolabs/<name>, kernel args before extensions', () => {
  const spec = load('  firmware: [intel-ucode]\n  extensions: [tailscale]').spec;
  assert.equal(schematicId(schematicFor(spec)), '334e798f530db5f67f1a4d2b9b5f6bf136d4e956035e8e1c92fdaf064dd7d755');
  const withArgs = load('  firmware: [intel-ucode]\n  extraKernelArgs: [vga=791, "-selinux"]').spec;
  assert.equal(
    marshalSchematic(schematicFor(withArgs)),
    'customization:\n    extraKernelArgs:\n        - vga=791\n        - -selinux\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/intel-ucode\n',
  );
  assert.equal(schematicId(schematicFor(load('  arch: amd64').spec)), '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba');
});

test('META values and overlays are laid out as yaml.v3 lays out a sequence of mappings', () => {
  const s: Schematic = {
    overlay: { image: 'siderolabs/sbc-raspberrypi', name: 'rpi_generic' },
    customization: { meta: [{ key: 10, value: '{}' }] },
  };
  assert.equal(
    marshalSchematic(s),
    "overlay:\n    image: siderolabs/sbc-raspberrypi\n    name: rpi_generic\ncustomization:\n    meta:\n        - key: 10\n          value: '{}'\n",
  );
});

test('yaml.v3 string quoting: plain when it reads back as the same string', () => {
  for (const s of ['vga=791', 'console=ttyS0,115200', 'net.ifnames=0', '-selinux', 'talos.platform=metal', 'a:b', 'ip=dhcp', 'ärger', 'x#y', 'a"b', 'nbsp\u00A0x']) {
    assert.equal(scalar(s), s, s);
  }
});

test('yaml.v3 string quoting: double quotes for what would resolve to another type', () => {
  for (const [s, want] of [
    ['1', '"1"'],
    ['', '""'],
    ['true', '"true"'],
    ['yes', '"yes"'],
    ['on', '"on"'],
    ['null', '"null"'],
    ['~', '"~"'],
    ['1.5', '"1.5"'],
    ['0x1F', '"0x1F"'],
    ['1_000', '"1_000"'],
    ['1e3', '"1e3"'],
    ['.inf', '".inf"'],
    ['1:20', '"1:20"'],
    ['2001-12-14', '"2001-12-14"'],
    ['a\tb', '"a\\tb"'],
    ['\u{1F600}', '"\\U0001F600"'],
    ['bom\uFEFF', '"bom\\uFEFF"'],
  ] as [string, string][]) {
    assert.equal(scalar(s), want, JSON.stringify(s));
  }
});

test('yaml.v3 string quoting: single quotes where plain is not allowed', () => {
  for (const [s, want] of [
    ['{}', "'{}'"],
    ['- x', "'- x'"],
    ['a: b', "'a: b'"],
    ['a #b', "'a #b'"],
    [' lead', "' lead'"],
    ['trail ', "'trail '"],
    ['*alias', "'*alias'"],
    ["it's: x", "'it''s: x'"],
    ['---', "'---'"],
    ['@x', "'@x'"],
    ['%x', "'%x'"],
    ['"x', "'\"x'"],
  ] as [string, string][]) {
    assert.equal(scalar(s), want, JSON.stringify(s));
  }
});

test('a value with a line break is hashed as the literal block yaml.v3 writes', () => {
  const s: Schematic = { customization: { extraKernelArgs: ['a\nb'] } };
  assert.equal(marshalSchematic(s), 'customization:\n    extraKernelArgs:\n        - |-\n          a\n          b\n');
});

test('custom extensions given only by ref stay out of the schematic; pinned official ones stay in', () => {
  const spec = load(
    '  extensions: [iscsi-tools, my-ext, util-linux-tools]\n  refs:\n    my-ext: registry.example.com/my-ext:1\n    iscsi-tools: ghcr.io/siderolabs/iscsi-tools:v0.2.0\n  installer: registry.example.com/i:v1',
  ).spec;
  assert.equal(schematicId(schematicFor(spec)), '613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245');
});
