import { parseSpec, type LoadedSpec } from '../../src/spec/index.js';

/** A minimal valid spec with an image section given as YAML lines (indented by two). */
export function specText(image: string, talos = 'v1.13.9'): string {
  return `apiVersion: hearth.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
talos:
  version: ${talos}
image:
${image}
cluster:
  endpoint: https://192.0.2.10:6443
`;
}

export function load(image: string, talos = 'v1.13.9'): LoadedSpec {
  const { loaded, issues } = parseSpec(specText(image, talos), 'hearth.yaml', '/tmp');
  if (!loaded) throw new Error(`spec invalid: ${issues.map((i) => i.message).join('; ')}`);
  return loaded;
}

/** The seed's installer profile, verbatim from the blog post (../shared/seed). */
export const SEED_PROFILE = `arch: amd64
platform: metal
secureboot: false
version: v1.6.4
input:
  kernel:
    path: /usr/install/amd64/vmlinuz
  initramfs:
    path: /usr/install/amd64/initramfs.xz
  baseInstaller:
    imageRef: ghcr.io/siderolabs/installer:v1.6.4
  systemExtensions:
    - imageRef: ghcr.io/siderolabs/amd-ucode:20240115
    - imageRef: ghcr.io/siderolabs/amdgpu-firmware:20240115
    - imageRef: ghcr.io/siderolabs/bnx2-bnx2x:20240115
    - imageRef: ghcr.io/siderolabs/i915-ucode:20240115
    - imageRef: ghcr.io/siderolabs/intel-ice-firmware:20240115
    - imageRef: ghcr.io/siderolabs/intel-ucode:20231114
    - imageRef: ghcr.io/siderolabs/qlogic-firmware:20240115
    - imageRef: ghcr.io/siderolabs/drbd:9.2.6-v1.6.4
    - imageRef: ghcr.io/siderolabs/zfs:2.1.14-v1.6.4
output:
  kind: installer
  outFormat: raw
`;

export const SEED_IMAGE = `  firmware: [amd-ucode, amdgpu-firmware, bnx2-bnx2x, i915-ucode, intel-ice-firmware, intel-ucode, qlogic-firmware]
  extensions: [drbd, zfs]
  source: imager`;
