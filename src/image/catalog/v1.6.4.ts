import type { CatalogEntry, ReleaseCatalog } from './types.js';

/**
 * Official system extensions of Talos v1.6.4 (siderolabs/extensions v1.6.4).
 *
 * Sources:
 * - The seed recipe (Kubernetes blog, "DIY: Create Your Own Cloud with Kubernetes (Part 1)", 2024-04-05):
 *   the imager profile for v1.6.4 with amd-ucode, amdgpu-firmware, bnx2-bnx2x, i915-ucode,
 *   intel-ice-firmware, qlogic-firmware:20240115, intel-ucode:20231114, drbd:9.2.6-v1.6.4, zfs:2.1.14-v1.6.4.
 * - Published machine configs for the v1.6 line (gvisor:20231214.0-v1.6.x, mdadm:v4.2-v1.6.x,
 *   iscsi-tools:v0.1.4, drbd:9.2.6-v1.6.x, zfs:2.1.14-v1.6.x).
 * - The siderolabs/extensions repository layout (one directory per extension) for the names.
 * Entries with verified: false follow the release's tag scheme: linux-firmware 20240115 for
 * firmware, `-v1.6.4` suffix for kernel modules. Pin anything else with image.refs, or check
 * `crane export ghcr.io/siderolabs/extensions:v1.6.4 | tar x -O image-digests`.
 */
const T = 'v1.6.4';
const fw = (name: string, tag: string, verified = false): CatalogEntry => ({ name, kind: 'firmware', tag, verified });
const ext = (name: string, tag: string, verified = false): CatalogEntry => ({ name, kind: 'extension', tag, verified });

export const catalog: ReleaseCatalog = {
  talos: T,
  sources: [
    'Kubernetes blog 2024-04-05, DIY: Create Your Own Cloud with Kubernetes (Part 1): imager profile for v1.6.4',
    'published Talos v1.6.x machine configs (gvisor 20231214.0, mdadm v4.2, iscsi-tools v0.1.4)',
    'github.com/siderolabs/extensions directory layout (names)',
  ],
  entries: [
    fw('amd-ucode', '20240115', true),
    fw('amdgpu-firmware', '20240115', true),
    fw('bnx2-bnx2x', '20240115', true),
    fw('chelsio-firmware', '20240115'),
    fw('i915-ucode', '20240115', true),
    fw('intel-ice-firmware', '20240115', true),
    fw('intel-ucode', '20231114', true),
    fw('qlogic-firmware', '20240115', true),
    fw('realtek-firmware', '20240115'),
    ext('btrfs', T),
    ext('chelsio-drivers', T),
    ext('cloudflared', '2023.12.1'),
    ext('drbd', `9.2.6-${T}`, true),
    ext('ecr-credential-provider', 'v1.28.1'),
    ext('fuse3', '3.16.2'),
    ext('gasket-driver', `97aeba58-${T}`),
    ext('gvisor', `20231214.0-${T}`, true),
    ext('hello-world-service', T),
    ext('iscsi-tools', 'v0.1.4', true),
    ext('kata-containers', '3.2.0'),
    ext('mdadm', `v4.2-${T}`, true),
    ext('nonfree-kmod-nvidia', `535.129.03-${T}`),
    ext('nut-client', '2.8.1'),
    ext('nvidia-container-toolkit', '535.129.03-v1.14.3'),
    ext('nvidia-fabricmanager', '535.129.03'),
    ext('nvidia-open-gpu-kernel-modules', `535.129.03-${T}`),
    ext('qemu-guest-agent', '8.1.3'),
    ext('spin', 'v0.11.1'),
    ext('stargz-snapshotter', 'v0.15.1'),
    ext('tailscale', '1.56.1'),
    ext('thunderbolt', T),
    ext('usb-modem-drivers', T),
    ext('util-linux-tools', '2.39.3'),
    ext('vmtoolsd-guest-agent', 'v0.4.0'),
    ext('wasmedge', 'v0.3.0'),
    ext('xen-guest-agent', '0.3.0-g1d6b9b5'),
    ext('zfs', `2.1.14-${T}`, true),
  ],
  renamed: {
    amdgpu: 'amdgpu-firmware',
    i915: 'i915-ucode',
    'nonfree-kmod-nvidia-lts': 'nonfree-kmod-nvidia',
    'nvidia-open-gpu-kernel-modules-lts': 'nvidia-open-gpu-kernel-modules',
    'nvidia-container-toolkit-lts': 'nvidia-container-toolkit',
    'nvidia-fabricmanager-lts': 'nvidia-fabricmanager',
  },
};
