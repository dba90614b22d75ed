import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkImage } from '../../src/image/index.js';
import { formatIssue, parseSpec } from '../../src/spec/index.js';
import { specText } from './helpers.js';

/** Runs the image checks on a spec and returns the located lines, as `hearth validate` prints them. */
function problems(image: string, talos = 'v1.13.9'): string[] {
  const { loaded, issues } = parseSpec(specText(image, talos), 'hearth.yaml', '/tmp');
  assert.ok(loaded, issues.map(formatIssue).join('\n'));
  return loaded.locate(checkImage(loaded)).map(formatIssue);
}

test('the seed spec and the bundled names pass', () => {
  assert.deepEqual(problems('  firmware: [amd-ucode, amdgpu-firmware, bnx2-bnx2x, i915-ucode, intel-ice-firmware, intel-ucode, qlogic-firmware]\n  extensions: [drbd, zfs]', 'v1.6.4'), []);
  assert.deepEqual(problems('  firmware: [amd-ucode, amdgpu, bnx2-bnx2x, i915, intel-ice-firmware, intel-ucode, qlogic-firmware]\n  extensions: [drbd, zfs]'), []);
});

test('unknown firmware: did-you-mean and the known firmware', () => {
  assert.deepEqual(problems('  firmware: [intel-ucod]'), [
    'hearth.yaml:8:14 image.firmware[0]: unknown firmware "intel-ucod" for Talos v1.13.9 (did you mean "intel-ucode"?); known firmware: amd-ucode, amdgpu, bnx2-bnx2x, chelsio-firmware, i915, intel-ice-firmware, intel-ucode, panfrost, qlogic-firmware, realtek-firmware, revpi-firmware, xe; or give its image in image.refs',
  ]);
});

test('unknown extension: did-you-mean, and a pointer to the catalog when the list is long', () => {
  assert.deepEqual(problems('  extensions: [zsf]'), [
    'hearth.yaml:8:16 image.extensions[0]: unknown extension "zsf" for Talos v1.13.9 (did you mean "zfs"?); 68 extensions are known, list them with `hearth image catalog --talos v1.13.9`; or give its image in image.refs',
  ]);
  assert.deepEqual(problems('  extensions: [nosuchthing]', 'v1.6.4'), [
    'hearth.yaml:8:16 image.extensions[0]: unknown extension "nosuchthing" for Talos v1.6.4; 24 extensions are known, list them with `hearth image catalog --talos v1.6.4`; or give its image in image.refs',
  ]);
});

test('renamed packages say so, in both directions', () => {
  assert.deepEqual(problems('  firmware: [amdgpu-firmware, i915-ucode]'), [
    'hearth.yaml:8:14 image.firmware[0]: "amdgpu-firmware" was renamed to "amdgpu" by Talos v1.13.9: use "amdgpu"',
    'hearth.yaml:8:31 image.firmware[1]: "i915-ucode" was renamed to "i915" by Talos v1.13.9: use "i915"',
  ]);
  assert.deepEqual(problems('  firmware: [amdgpu]', 'v1.6.4'), [
    'hearth.yaml:8:14 image.firmware[0]: "amdgpu" is the newer name of this package: Talos v1.6.4 calls it "amdgpu-firmware"',
  ]);
  assert.deepEqual(problems('  extensions: [nonfree-kmod-nvidia]'), [
    'hearth.yaml:8:16 image.extensions[0]: "nonfree-kmod-nvidia" was renamed to "nonfree-kmod-nvidia-lts" by Talos v1.13.9: use "nonfree-kmod-nvidia-lts"',
  ]);
});

test('firmware and extensions each in their own list', () => {
  assert.deepEqual(problems('  firmware: [drbd]\n  extensions: [intel-ucode]'), [
    'hearth.yaml:8:14 image.firmware[0]: "drbd" is an extension, not firmware: list it under image.extensions',
    'hearth.yaml:9:16 image.extensions[0]: "intel-ucode" is firmware: list it under image.firmware',
  ]);
});

test('a name listed twice', () => {
  assert.deepEqual(problems('  firmware: [amd-ucode]\n  extensions: [zfs, zfs]'), ['hearth.yaml:9:21 image.extensions[1]: "zfs" is listed twice (also at image.extensions[0])']);
});

test('a Talos version without a catalog names the field and the known versions', () => {
  assert.deepEqual(problems('  firmware: [amd-ucode]\n  extensions: [zfs]', 'v1.7.0'), [
    'hearth.yaml:6:12 talos.version: hearth has no extension catalog for Talos v1.7.0 (it knows v1.6.4, v1.13.9); use one of those, or give image.refs for amd-ucode, zfs',
  ]);
  // Nothing to resolve: no catalog needed.
  assert.deepEqual(problems('  arch: amd64', 'v1.7.0'), []);
});

test('explicit refs cover names the catalog lacks, and unknown versions', () => {
  const refs = '  refs:\n    zfs: ghcr.io/siderolabs/zfs:2.2.4-v1.7.0\n    my-ext: registry.example.com/my-ext:1\n  installer: registry.example.com/talos/installer:v1.7.0';
  assert.deepEqual(problems(`  extensions: [zfs, my-ext]\n${refs}`, 'v1.7.0'), []);
});

test('unused refs, refs with the factory, and refs without an installer', () => {
  assert.deepEqual(problems('  extensions: [zfs]\n  refs:\n    zsf: ghcr.io/siderolabs/zfs:2.4.3-v1.13.9\n  installer: registry.example.com/i:v1'), [
    'hearth.yaml:10:5 image.refs.zsf: "zsf" is not in image.firmware or image.extensions, so this ref is unused',
  ]);
  assert.deepEqual(problems('  extensions: [zfs]\n  source: factory\n  refs:\n    zfs: ghcr.io/siderolabs/zfs:2.4.3-v1.13.9'), [
    'hearth.yaml:10:3 image.refs: image.refs only apply to source imager: the Image Factory installs official extensions by name',
  ]);
  assert.deepEqual(problems('  extensions: [zfs]\n  refs:\n    zfs: ghcr.io/siderolabs/zfs:2.4.3-v1.13.9'), [
    'hearth.yaml:9:3 image.refs: with custom image.refs the Image Factory cannot serve the installer: set image.installer to the image you push the installer built by `hearth image build` to',
  ]);
});
