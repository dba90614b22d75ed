import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { imagerProfile, renderProfile, allKinds } from '../../src/image/index.js';
import { load, SEED_IMAGE, SEED_PROFILE } from './helpers.js';

test('the seed spec gives exactly the installer profile of the seed recipe (golden, test/fixtures/seed)', () => {
  const spec = load(SEED_IMAGE, 'v1.6.4').spec;
  assert.equal(renderProfile(spec, 'installer'), SEED_PROFILE);
});

test('v1.13.9 installs from installer-base and the v1.13 catalog names', () => {
  const spec = load(`  firmware: [amd-ucode, amdgpu]\n  extensions: [drbd]`).spec;
  const p = imagerProfile(spec, 'installer');
  assert.deepEqual(p.input.baseInstaller, { imageRef: 'ghcr.io/siderolabs/installer-base:v1.13.9' });
  assert.deepEqual(p.input.systemExtensions, [
    { imageRef: 'ghcr.io/siderolabs/amd-ucode:20260810' },
    { imageRef: 'ghcr.io/siderolabs/amdgpu:20260810-v1.13.9' },
    { imageRef: 'ghcr.io/siderolabs/drbd:9.3.3-v1.13.9' },
  ]);
});

test('a SecureBoot installer matches the upstream imager test profile for v1.13 (pkg/imager/profile/testdata)', () => {
  // siderolabs/talos pkg/imager/profile/testdata/secureboot-installer-amd64-1.13.0.yaml, with our version string.
  const upstream = `arch: amd64
platform: metal
secureboot: true
version: v1.13.9
input:
  kernel:
    path: /usr/install/amd64/vmlinuz
  initramfs:
    path: /usr/install/amd64/initramfs.xz
  sdStub:
    path: /usr/install/amd64/systemd-stub.efi
  sdBoot:
    path: /usr/install/amd64/systemd-boot.efi
  baseInstaller:
    imageRef: ghcr.io/siderolabs/installer-base:v1.13.9
  secureboot:
    secureBootSigner:
      keyPath: /secureboot/uki-signing-key.pem
      certPath: /secureboot/uki-signing-cert.pem
    pcrSigner:
      keyPath: /secureboot/pcr-signing-key.pem
output:
  kind: installer
  outFormat: raw
`;
  assert.equal(renderProfile(load('  secureboot: true').spec, 'installer'), upstream);
});

test('arm64 takes its inputs from the arm64 install tree', () => {
  const p = imagerProfile(load('  arch: arm64').spec, 'kernel');
  assert.deepEqual(p.input.kernel, { path: '/usr/install/arm64/vmlinuz' });
  assert.deepEqual(p.input.initramfs, { path: '/usr/install/arm64/initramfs.xz' });
  assert.equal(p.arch, 'arm64');
  assert.deepEqual(p.output, { kind: 'kernel', outFormat: 'raw' });
});

test('kernel args go where the imager accepts them: ISO yes, plain installer and kernel no', () => {
  const spec = load('  extraKernelArgs: [console=ttyS0, net.ifnames=0]').spec;
  const iso = parse(renderProfile(spec, 'iso'));
  assert.deepEqual(Object.keys(iso), ['arch', 'platform', 'secureboot', 'version', 'customization', 'input', 'output']);
  assert.deepEqual(iso.customization, { extraKernelArgs: ['console=ttyS0', 'net.ifnames=0'] });
  assert.equal(parse(renderProfile(spec, 'installer')).customization, undefined);
  assert.equal(parse(renderProfile(spec, 'kernel')).customization, undefined);
  const sb = load('  secureboot: true\n  extraKernelArgs: [console=ttyS0]').spec;
  assert.deepEqual(parse(renderProfile(sb, 'installer')).customization, { extraKernelArgs: ['console=ttyS0'] });
});

test('SecureBoot has no separate kernel/initramfs, and a UKI needs SecureBoot', () => {
  const sb = load('  secureboot: true').spec;
  assert.throws(() => imagerProfile(sb, 'kernel'), /no separate kernel with secureboot: true/);
  assert.throws(() => imagerProfile(load('  arch: amd64').spec, 'uki'), /a UKI is a SecureBoot output/);
  assert.deepEqual(allKinds(sb), ['installer', 'iso', 'uki']);
  assert.deepEqual(allKinds(load('  arch: amd64').spec), ['installer', 'kernel', 'initramfs', 'iso']);
});

test('explicit refs override the catalog and keep the order', () => {
  const spec = load(`  extensions: [zfs, my-ext]\n  refs: { my-ext: registry.example.com/ext/my-ext:1.0 }\n  installer: registry.example.com/talos/installer:v1.13.9`).spec;
  assert.deepEqual(imagerProfile(spec, 'installer').input.systemExtensions, [
    { imageRef: 'ghcr.io/siderolabs/zfs:2.4.3-v1.13.9' },
    { imageRef: 'registry.example.com/ext/my-ext:1.0' },
  ]);
});

test('a profile is YAML the imager can read: the kinds the imager knows, outFormat raw', () => {
  const spec = load(SEED_IMAGE, 'v1.6.4').spec;
  for (const kind of ['installer', 'kernel', 'initramfs', 'iso'] as const) {
    const p = parse(renderProfile(spec, kind));
    assert.equal(p.output.kind, kind);
    assert.equal(p.output.outFormat, 'raw');
    assert.equal(p.input.systemExtensions.length, 9);
  }
});
