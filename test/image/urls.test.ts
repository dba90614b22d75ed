import { test } from 'node:test';
import assert from 'node:assert/strict';
import { factoryUrls, installerImage } from '../../src/image/index.js';
import { load } from './helpers.js';

const EMPTY = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const ISCSI = '613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245';

test('v1.13.9 metal amd64: image URLs, zstd disk image, platform installer', () => {
  const u = factoryUrls(load('  extensions: [iscsi-tools, util-linux-tools]\n  source: factory').spec);
  const dir = `https://factory.talos.dev/image/${ISCSI}/v1.13.9`;
  assert.equal(u.schematic, ISCSI);
  assert.equal(u.kernel, `${dir}/kernel-amd64`);
  assert.equal(u.initramfs, `${dir}/initramfs-amd64.xz`);
  assert.equal(u.iso, `${dir}/metal-amd64.iso`);
  assert.equal(u.disk, `${dir}/metal-amd64.raw.zst`);
  assert.equal(u.cmdline, `${dir}/cmdline-metal-amd64`);
  assert.equal(u.pxe, `https://pxe.factory.talos.dev/pxe/${ISCSI}/v1.13.9/metal-amd64`);
  assert.equal(u.installer, `factory.talos.dev/metal-installer/${ISCSI}:v1.13.9`);
  assert.equal(u.uki, undefined);
});

test('SecureBoot: -secureboot assets, a UKI, the secureboot installer', () => {
  const u = factoryUrls(load('  secureboot: true\n  source: factory').spec);
  const dir = `https://factory.talos.dev/image/${EMPTY}/v1.13.9`;
  assert.equal(u.iso, `${dir}/metal-amd64-secureboot.iso`);
  assert.equal(u.disk, `${dir}/metal-amd64-secureboot.raw.zst`);
  assert.equal(u.uki, `${dir}/metal-amd64-secureboot-uki.efi`);
  assert.equal(u.installer, `factory.talos.dev/metal-installer-secureboot/${EMPTY}:v1.13.9`);
});

test('arm64 and older releases: arch in every name, xz disk image and the generic installer before v1.10', () => {
  const u = factoryUrls(load('  arch: arm64\n  firmware: [amd-ucode]', 'v1.6.4').spec);
  assert.match(u.kernel, /\/v1\.6\.4\/kernel-arm64$/);
  assert.match(u.initramfs, /\/initramfs-arm64\.xz$/);
  assert.match(u.iso, /\/metal-arm64\.iso$/);
  assert.match(u.disk, /\/metal-arm64\.raw\.xz$/);
  assert.match(u.installer, /^factory\.talos\.dev\/installer\/[0-9a-f]{64}:v1\.6\.4$/);
});

test('a self-hosted factory: its own host for the images, the PXE frontend and the registry', () => {
  const u = factoryUrls(load('  factory: http://192.0.2.5:8080/').spec);
  assert.equal(u.kernel, `http://192.0.2.5:8080/image/${EMPTY}/v1.13.9/kernel-amd64`);
  assert.equal(u.pxe, `http://192.0.2.5:8080/pxe/${EMPTY}/v1.13.9/metal-amd64`);
  assert.equal(u.installer, `192.0.2.5:8080/metal-installer/${EMPTY}:v1.13.9`);
});

test('installerImage: image.installer wins, else the factory installer of the same schematic', () => {
  assert.equal(installerImage(load('  extensions: [iscsi-tools, util-linux-tools]').spec), `factory.talos.dev/metal-installer/${ISCSI}:v1.13.9`);
  assert.equal(installerImage(load('  installer: registry.example.com/talos/installer:v1.13.9').spec), 'registry.example.com/talos/installer:v1.13.9');
});
