import type { CatalogEntry, ReleaseCatalog } from './types.js';

/**
 * Official system extensions of Talos v1.13.9 (siderolabs/extensions v1.13.9, released 2026-08-19).
 *
 * The extensions repository at the v1.13.9 tag itself is not in the stored index, so this file is
 * assembled from the nearest stored upstream data, each entry marked by how it was found:
 *
 * Names (80): the build targets of siderolabs/extensions `.kres.yaml` at commit
 *   6daf50e9b06f594535a591bd3d8fe9ca0c63a36a (main during v1.13 development, PKGS
 *   v1.13.0-alpha.0-41-gda7ab57), the last stored target list before the release-1.13 branch.
 *   Main right after the branch (c5ef7eb00e02973375441fe8709564b10af7e7e2, PKGS
 *   v1.14.0-alpha.0-11) adds only intel-npu; later main adds joydev, uhid,
 *   harbor-credential-provider, hyperv-guest-agent, kata-containers-snp, qemu and wpa-supplicant.
 *   Those are left out: whether any was backported to release-1.13 is not recorded in the sources
 *   (a published v1.13.9 catalog copy has 83 official entries, so up to three may have been).
 *
 * Tag formats: the generated catalog table in README.md (`bldr dump --build-arg TAG=VERSION`) at
 *   6daf50e9 and at 1e1b4f14dbc080f4899cf2787f1380935b3cb4e2 (main, 2026-08-08), e.g. drbd
 *   `<DRBD_DRIVER_VERSION>-<talos tag>`, amdgpu/i915/xe/panfrost `<LINUX_FIRMWARE_VERSION>-<tag>`,
 *   bare `<tag>` for module-only extensions, gasket `5815ee3-<tag>`.
 *
 * verified: true means the exact tag was seen published for v1.13.9 (digest-pinned imager scripts
 * and image inspections for v1.13.9: amd-ucode/amdgpu/i915 20260810, glibc 2.43, tailscale 1.102.2,
 * nvidia-*-lts 580.178.04 with toolkit v1.19.1, drbd 9.3.3) or the tag is a literal constant across
 * every stored catalog of the 1.13 line (iscsi-tools v0.2.0).
 * Everything else is derived (verified: false) from, in order of preference:
 *   - linux-firmware 20260810 (the date in the verified firmware tags) for all linux-firmware packages;
 *   - siderolabs/pkgs Pkgfile at d8c80cc52d6c60a25c7ab2a80fa78814c08a04da (the pkgs pinned by Talos
 *     v1.13.6, release-1.13): zfs 2.4.3, ena 2.16.1, tenstorrent 2.7.0, hailort 4.23.0, mstflint
 *     4.34.1-4, px-fuse 4b7ade7d…, gdrcopy v2.5.2, NVIDIA production 595.71.05, qemu 10.2.2;
 *   - containerd 2.2.7 reported on a Talos v1.13.9 node (ctr);
 *   - the main-branch catalog of 2026-08-08 (1e1b4f14) for user-space versions, the stored
 *     snapshot nearest to v1.13.9; the release branch takes dependency updates, so these drift.
 * Pin with image.refs when a build reports a missing tag, or read the truth with
 * `crane export ghcr.io/siderolabs/extensions:v1.13.9 | tar x -O image-digests`.
 */
const T = 'v1.13.9';
const FW = '20260810';
const fw = (name: string, tag: string, verified = false): CatalogEntry => ({ name, kind: 'firmware', tag, verified });
const ext = (name: string, tag: string, verified = false): CatalogEntry => ({ name, kind: 'extension', tag, verified });

export const catalog: ReleaseCatalog = {
  talos: T,
  sources: [
    'siderolabs/extensions .kres.yaml @6daf50e9 (v1.13 development, last stored target list before release-1.13): names',
    'siderolabs/extensions README.md catalog @6daf50e9 and @1e1b4f14 (main 2026-08-08): tag formats, user-space versions',
    'siderolabs/pkgs Pkgfile @d8c80cc5 (pinned by Talos v1.13.6): zfs, ena, tenstorrent, hailort, mstflint, px-fuse, gdrcopy, NVIDIA production',
    'published digest-pinned imager scripts and image inspections for v1.13.9: amd-ucode, amdgpu, i915, glibc, tailscale, drbd, nvidia-*-lts',
    'Image Factory listings for the v1.13 line quoted in public build scripts: iscsi-tools v0.2.0, util-linux-tools 2.41.4 (v1.13.8)',
  ],
  entries: [
    fw('amd-ucode', FW, true),
    fw('amdgpu', `${FW}-${T}`, true),
    fw('bnx2-bnx2x', FW),
    fw('chelsio-firmware', FW),
    fw('i915', `${FW}-${T}`, true),
    fw('intel-ice-firmware', FW),
    fw('intel-ucode', '20260512'), // Intel's own release dates; main carried 20260512 from June to August 2026
    fw('panfrost', `${FW}-${T}`),
    fw('qlogic-firmware', FW),
    fw('realtek-firmware', FW),
    fw('revpi-firmware', 'v1.0.0'),
    fw('xe', `${FW}-${T}`),
    ext('amazon-ena', `2.16.1-${T}`),
    ext('binfmt-misc', T),
    ext('bird2', '2.18'),
    ext('btrfs', T),
    ext('chelsio-drivers', T),
    ext('cloudflared', '2026.7.2'),
    ext('crun', '1.28'),
    ext('ctr', 'v2.2.7'),
    ext('drbd', `9.3.3-${T}`, true),
    ext('dvb-cx23885', T),
    ext('dvb-m88ds3103', T),
    ext('ecr-credential-provider', 'v1.36.1'),
    ext('fuse3', '3.18.2'),
    ext('gasket-driver', `5815ee3-${T}`),
    ext('glibc', '2.43', true),
    ext('gpio-pinctrl', T),
    ext('gvisor', '20260714.0'), // 20260622.0 was published for v1.13.6
    ext('gvisor-debug', 'v1.0.0'),
    ext('hailort', '4.23.0'),
    ext('hello-world-service', 'v1.0.0'),
    ext('iscsi-tools', 'v0.2.0', true),
    ext('kata-containers', '3.32.0'),
    ext('lldpd', '1.0.22'),
    ext('mdadm', 'v4.4'),
    ext('mei', T),
    ext('mellanox-mstflint', `4.34.1-4-${T}`),
    ext('metal-agent', 'v0.1.6'),
    ext('multipath-tools', 'v0.0.1'),
    ext('nebula', '1.10.3'),
    ext('netbird', '0.74.7'),
    ext('newt', '1.15.0'),
    ext('nfs-utils', 'v0.1.1'),
    ext('nfsd', T),
    ext('nfsrahead', '2.8.3'),
    ext('nonfree-kmod-nvidia-lts', `580.178.04-${T}`),
    ext('nonfree-kmod-nvidia-production', `595.71.05-${T}`),
    ext('nut-client', '2.8.5'),
    ext('nvidia-container-toolkit-lts', '580.178.04-v1.19.1', true),
    ext('nvidia-container-toolkit-production', '595.71.05-v1.19.1'),
    ext('nvidia-fabricmanager-lts', '580.178.04'),
    ext('nvidia-fabricmanager-production', '595.71.05'),
    ext('nvidia-gdrdrv-device', 'v2.5.2'),
    ext('nvidia-open-gpu-kernel-modules-lts', `580.178.04-${T}`, true),
    ext('nvidia-open-gpu-kernel-modules-production', `595.71.05-${T}`),
    ext('nvme-cli', 'v2.14'),
    ext('px-fuse', `4b7ade7d7a4afe10b87ff7a16a59e9d1e3fae68f-${T}`),
    ext('qemu-guest-agent', '10.2.2'),
    ext('rockchip-rknn', T),
    ext('soci-snapshotter', 'v0.14.1'),
    ext('spin', 'v0.25.1'),
    ext('stargz-snapshotter', 'v0.18.2'),
    ext('tailscale', '1.102.2', true),
    ext('tenstorrent', '2.7.0'),
    ext('thunderbolt', T),
    ext('trident-iscsi-tools', 'v0.0.1'),
    ext('uinput', T),
    ext('usb-audio-drivers', T),
    ext('usb-modem-drivers', T),
    ext('util-linux-tools', '2.41.4'), // published for v1.13.8; follows the tools release, not main
    ext('v4l-uvc-drivers', T),
    ext('vc4', T),
    ext('vmtoolsd-guest-agent', 'v1.5.0'),
    ext('wasmedge', 'v0.6.1'),
    ext('xdma-driver', `aefa9a1-${T}`), // the label at v1.13 development; main relabelled it later
    ext('xen-guest-agent', '0.4.0-g5c274e6'),
    ext('youki', '0.6.0'),
    ext('zerotier', '1.16.2'),
    ext('zfs', `2.4.3-${T}`),
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
