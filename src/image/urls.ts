import type { Spec } from '../spec/index.js';
import { atLeast } from './names.js';
import { schematicFor, schematicId } from './schematic.js';

/**
 * Image Factory URLs of a schematic for the spec's version, arch, platform and SecureBoot choice.
 * Scheme (siderolabs/image-factory HTTP frontend): BASE/image/ID/VERSION/FILE with FILE
 * kernel-ARCH, initramfs-ARCH.xz, PLATFORM-ARCH[-secureboot].iso, PLATFORM-ARCH[-secureboot].raw.(xz|zst),
 * PLATFORM-ARCH-secureboot-uki.efi, cmdline-PLATFORM-ARCH[-secureboot]; the PXE frontend at
 * /pxe/ID/VERSION/PLATFORM-ARCH[-secureboot] (pxe.factory.talos.dev for the official instance);
 * the registry frontend at HOST/installer[-secureboot]/ID:VERSION, and from Talos v1.10 the
 * platform-specific HOST/PLATFORM-installer[-secureboot]/ID:VERSION.
 */
export interface FactoryUrls {
  factory: string;
  schematic: string;
  version: string;
  arch: string;
  platform: string;
  secureboot: boolean;
  kernel: string;
  initramfs: string;
  cmdline: string;
  iso: string;
  disk: string;
  uki?: string;
  pxe: string;
  installer: string;
}

export function factoryBase(spec: Spec): string {
  return spec.image.factory.replace(/\/+$/, '');
}

export function factoryUrls(spec: Spec, id = schematicId(schematicFor(spec))): FactoryUrls {
  const base = factoryBase(spec);
  const { arch, platform, secureboot } = spec.image;
  const version = spec.talos.version;
  const sb = secureboot ? '-secureboot' : '';
  const dir = `${base}/image/${id}/${version}`;
  const host = new URL(base).host;
  const pxeBase = host === 'factory.talos.dev' ? 'https://pxe.factory.talos.dev' : base;
  const diskExt = atLeast(version, 1, 10) ? 'raw.zst' : 'raw.xz';
  const installerRepo = atLeast(version, 1, 10) ? `${platform}-installer${sb}` : `installer${sb}`;
  const urls: FactoryUrls = {
    factory: base,
    schematic: id,
    version,
    arch,
    platform,
    secureboot,
    kernel: `${dir}/kernel-${arch}`,
    initramfs: `${dir}/initramfs-${arch}.xz`,
    cmdline: `${dir}/cmdline-${platform}-${arch}${sb}`,
    iso: `${dir}/${platform}-${arch}${sb}.iso`,
    disk: `${dir}/${platform}-${arch}${sb}.${diskExt}`,
    pxe: `${pxeBase}/pxe/${id}/${version}/${platform}-${arch}${sb}`,
    installer: `${host}/${installerRepo}/${id}:${version}`,
  };
  if (secureboot) urls.uki = `${dir}/${platform}-${arch}-secureboot-uki.efi`;
  return urls;
}
