import type { CatalogEntry, ReleaseCatalog } from './types.js';

/**
 * Official system extensions of Talos v1.13.9 (siderolabs/extensions v1.13.9), the release of the
 * reference schemas.
 *
 * Sources:
 * - Names: the full `talosctl image talos-bundle` list pinned in siderolabs/talos
 *   internal/integration/cli/image.go (the v1.11 catalog; image-digests of ghcr.io/siderolabs/extensions),
 *   without the sbc-* overlays, which are overlays and not extensions.
 * - Tags seen published for v1.13.9: amdgpu:20260810-v1.13.9, amd-ucode:20260810, glibc:2.43,
 *   tailscale:1.102.2, nvidia-open-gpu-kernel-modules-lts:580.178.04-v1.13.9,
 *   nvidia-container-toolkit-lts:580.178.04-v1.19.1 (digest-pinned imager scripts for v1.13.9);
 *   iscsi-tools:v0.2.0 and util-linux-tools:2.41.4 (Image Factory listings for v1.13.x).
 * Entries with verified: false follow the release's tag scheme: linux-firmware 20260810 (the
 * amd-ucode/amdgpu date) for firmware, `-v1.13.9` for kernel modules, and otherwise the newest
 * version seen published on the 1.13 line (drbd 9.3.2 and zfs 2.4.1 at v1.13.4, gvisor 20260622.0
 * at v1.13.6) or on the v1.11/v1.12 lines. Pin with image.refs when a build reports a missing tag, or check
 * `crane export ghcr.io/siderolabs/extensions:v1.13.9 | tar x -O image-digests`.
 */
const T = 'v1.13.9';
const FW = '20260810';
const fw = (name: string, tag: string, verified = false): CatalogEntry => ({ name, kind: 'firmware', tag, verified });
const ext = (name: string, tag: string, verified = false): CatalogEntry => ({ name, kind: 'extension', tag, verified });

export const catalog: ReleaseCatalog = {
  talos: T,
  sources: [
    'siderolabs/talos internal/integration/cli/image.go: official extension list (names)',
    'published digest-pinned imager scripts for v1.13.9 (amdgpu, amd-ucode, glibc, tailscale, nvidia-*-lts)',
    'Image Factory /version/v1.13.x/extensions/official listings quoted in public build scripts (iscsi-tools, util-linux-tools)',
  ],
  entries: [
    fw('amd-ucode', FW, true),
    fw('amdgpu', `${FW}-${T}`, true),
    fw('bnx2-bnx2x', FW),
    fw('chelsio-firmware', FW),
    fw('i915', `${FW}-${T}`),
    fw('intel-ice-firmware', FW),
    fw('intel-ucode', '20251111'), // newest seen published (v1.12 line); Intel's microcode has its own dates
    fw('panfrost', `${FW}-${T}`),
    fw('qlogic-firmware', FW),
    fw('realtek-firmware', FW),
    fw('revpi-firmware', 'v1.0.0'),
    ext('amazon-ena', `2.15.0-${T}`),
    ext('binfmt-misc', T),
    ext('btrfs', T),
    ext('chelsio-drivers', T),
    ext('cloudflared', '2024.12.1'),
    ext('crun', '1.24'),
    ext('ctr', 'v2.1.5'),
    ext('drbd', `9.3.2-${T}`),
    ext('dvb-cx23885', T),
    ext('dvb-m88ds3103', T),
    ext('ecr-credential-provider', 'v1.34.0'),
    ext('fuse3', '3.17.4'),
    ext('gasket-driver', `5815ee3-${T}`),
    ext('glibc', '2.43', true),
    ext('gvisor', '20260622.0'),
    ext('gvisor-debug', 'v1.0.0'),
    ext('hailort', '4.21.0'),
    ext('hello-world-service', 'v1.0.0'),
    ext('iscsi-tools', 'v0.2.0', true),
    ext('kata-containers', '3.20.0'),
    ext('lldpd', '1.0.20'),
    ext('mdadm', 'v4.3'),
    ext('mei', T),
    ext('metal-agent', 'v0.1.3'),
    ext('nebula', '1.9.6'),
    ext('newt', '1.4.4'),
    ext('nfsd', T),
    ext('nfsrahead', '2.8.3'),
    ext('nonfree-kmod-nvidia-lts', `580.178.04-${T}`),
    ext('nonfree-kmod-nvidia-production', `580.178.04-${T}`),
    ext('nut-client', '2.8.4'),
    ext('nvidia-container-toolkit-lts', '580.178.04-v1.19.1', true),
    ext('nvidia-container-toolkit-production', '580.178.04-v1.19.1'),
    ext('nvidia-fabricmanager-lts', '580.178.04'),
    ext('nvidia-fabricmanager-production', '580.178.04'),
    ext('nvidia-open-gpu-kernel-modules-lts', `580.178.04-${T}`, true),
    ext('nvidia-open-gpu-kernel-modules-production', `580.178.04-${T}`),
    ext('nvme-cli', 'v2.14'),
    ext('qemu-guest-agent', '10.2.0'),
    ext('spin', 'v0.21.0'),
    ext('stargz-snapshotter', 'v0.17.0'),
    ext('tailscale', '1.102.2', true),
    ext('tenstorrent', '1.34'),
    ext('thunderbolt', T),
    ext('uinput', T),
    ext('usb-modem-drivers', T),
    ext('util-linux-tools', '2.41.4', true),
    ext('v4l-uvc-drivers', T),
    ext('vc4', T),
    ext('vmtoolsd-guest-agent', 'v1.4.0'),
    ext('wasmedge', 'v0.6.0'),
    ext('xdma-driver', `aefa9a1-${T}`),
    ext('xen-guest-agent', '0.4.0-g5c274e6'),
    ext('youki', '0.5.5'),
    ext('zerotier', '1.16.0'),
    ext('zfs', `2.4.1-${T}`),
  ],
  renamed: {
    'amdgpu-firmware': 'amdgpu',
    'i915-ucode': 'i915',
    'nonfree-kmod-nvidia': 'nonfree-kmod-nvidia-lts',
    'nvidia-open-gpu-kernel-modules': 'nvidia-open-gpu-kernel-modules-lts',
    'nvidia-container-toolkit': 'nvidia-container-toolkit-lts',
    'nvidia-fabricmanager': 'nvidia-fabricmanager-lts',
  },
};
