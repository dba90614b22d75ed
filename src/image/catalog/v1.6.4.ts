import type { CatalogEntry, ReleaseCatalog } from './types.js';

/**
 * Official system extensions of Talos v1.6.4 (siderolabs/extensions v1.6.4, release-1.6 branch).
 *
 * Sources:
 * - The seed recipe (Kubernetes blog, "DIY: Create Your Own Cloud with Kubernetes (Part 1)", 2024-04-05):
 *   the imager profile for v1.6.4 with amd-ucode, amdgpu-firmware, bnx2-bnx2x, i915-ucode,
 *   intel-ice-firmware, qlogic-firmware:20240115, intel-ucode:20231114, drbd:9.2.6-v1.6.4, zfs:2.1.14-v1.6.4.
 * - Published machine configs for the v1.6 line (gvisor:20231214.0-v1.6.x, mdadm:v4.2-v1.6.x,
 *   iscsi-tools:v0.1.4).
 * - Names: siderolabs/extensions .kres.yaml/Makefile at 622ec82db2121ea353d7bd88084e29883d446b52
 *   (2023-12-07, right after the release-1.6 branch: 30 targets + nonfree-kmod-nvidia), plus
 *   qlogic-firmware (added on main in 7ba3b3a and shipped in the seed's v1.6.4 profile). The
 *   extensions CHANGELOG places realtek-firmware, kata-containers, wasmedge, xen-guest-agent (which
 *   replaced xe-guest-utilities), spin, vmtoolsd-guest-agent and cloudflared in v1.7 or later.
 * - Tag formats: commit 4a93d56e "adjust extension versions (tags) to drop Talos version" (v1.7.0-alpha.0)
 *   rewrote the VERSION of gvisor, fuse3, mdadm, stargz-snapshotter, nut-client and util-linux-tools
 *   from `<version>-<talos tag>` to `<version>`, so on the v1.6 line those carry the `-v1.6.4` suffix.
 *   The v1.6.0 release notes (hack/release.toml @9105eef3) give gasket driver 09385d4 and Xen Guest
 *   Utilities 8.3.1.
 * Entries with verified: false follow those rules: linux-firmware 20240115 for firmware, `-v1.6.4`
 * for kernel modules and the suffixed packages above; the component versions are the newest seen for
 * the 1.6 line. Pin anything else with image.refs, or check
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
    'siderolabs/extensions Makefile/.kres.yaml @622ec82d (targets after the release-1.6 branch) and CHANGELOG (names)',
    'siderolabs/extensions commit 4a93d56e (which v1.6 tags carry the Talos version) and hack/release.toml @9105eef3 (v1.6.0 versions)',
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
    ext('binfmt-misc', T),
    ext('btrfs', T),
    ext('chelsio-drivers', T),
    ext('drbd', `9.2.6-${T}`, true),
    ext('ecr-credential-provider', 'v1.28.1'),
    ext('fuse3', `3.16.2-${T}`),
    ext('gasket-driver', `09385d4-${T}`),
    ext('gvisor', `20231214.0-${T}`, true),
    ext('hello-world-service', T),
    ext('iscsi-tools', 'v0.1.4', true),
    ext('mdadm', `v4.2-${T}`, true),
    ext('nonfree-kmod-nvidia', `535.129.03-${T}`),
    ext('nut-client', `2.8.1-${T}`),
    ext('nvidia-container-toolkit', '535.129.03-v1.14.3'),
    ext('nvidia-fabricmanager', '535.129.03'),
    ext('nvidia-open-gpu-kernel-modules', `535.129.03-${T}`),
    ext('qemu-guest-agent', '8.1.3'),
    ext('stargz-snapshotter', `v0.15.1-${T}`),
    ext('tailscale', '1.56.1'),
    ext('thunderbolt', T),
    ext('usb-modem-drivers', T),
    ext('util-linux-tools', `2.39.3-${T}`),
    ext('xe-guest-utilities', '8.3.1'),
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
