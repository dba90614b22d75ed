import { stringify } from 'yaml';
import type { Spec } from '../spec/index.js';
import { InputError } from '../common/errors.js';
import { catalogEntry, entryRef, releaseCatalog } from './catalog/index.js';
import type { ProfileKind } from './kinds.js';
import { atLeast, requestedNames } from './names.js';

/**
 * Talos imager profiles (siderolabs/talos pkg/imager/profile). Pure: spec in, profile out.
 *
 * Field names and order follow the Go structs the imager decodes (Profile: arch, platform,
 * secureboot, version, customization, input, output; Input: kernel, initramfs, sdStub, sdBoot,
 * baseInstaller, secureboot, systemExtensions). hearth writes only what it decides and leaves the
 * rest to the imager's own defaults (Input.FillDefaults), as the seed's profile does.
 */
export { PROFILE_KINDS, type ProfileKind } from './kinds.js';

/** Kinds `--kind all` means: what netboot and installation need. SecureBoot swaps kernel+initramfs for a UKI. */
export function allKinds(spec: Spec): ProfileKind[] {
  return spec.image.secureboot ? ['installer', 'iso', 'uki'] : ['installer', 'kernel', 'initramfs', 'iso'];
}

export interface ImagerProfile {
  arch: string;
  platform: string;
  secureboot: boolean;
  version: string;
  customization?: { extraKernelArgs: string[] };
  input: Record<string, unknown>;
  output: { kind: ProfileKind; outFormat: string };
}

/** The base installer image the imager mutates: `installer` up to v1.10, `installer-base` from v1.11. */
export function baseInstallerRef(version: string): string {
  return atLeast(version, 1, 11) ? `ghcr.io/siderolabs/installer-base:${version}` : `ghcr.io/siderolabs/installer:${version}`;
}

/** The extension images, firmware first then extensions, each from image.refs or the catalog. */
export function extensionRefs(spec: Spec): { name: string; ref: string; verified: boolean }[] {
  const cat = releaseCatalog(spec.talos.version);
  return requestedNames(spec).map(({ name }) => {
    const explicit = spec.image.refs[name];
    if (explicit) return { name, ref: explicit, verified: true };
    const entry = cat && catalogEntry(cat, name);
    if (!entry) {
      // checkImage reports this with its field; reaching here means a caller skipped the checks.
      throw new InputError(`no image for "${name}" in the catalog of Talos ${spec.talos.version}; give it in image.refs`);
    }
    return { name, ref: entryRef(entry), verified: entry.verified };
  });
}

export function imagerProfile(spec: Spec, kind: ProfileKind): ImagerProfile {
  const { arch, platform, secureboot, extraKernelArgs } = spec.image;
  const version = spec.talos.version;
  if (secureboot && (kind === 'kernel' || kind === 'initramfs')) {
    throw new InputError(`the imager builds no separate ${kind} with secureboot: true (use --kind uki, iso or installer)`);
  }
  if (!secureboot && kind === 'uki') {
    throw new InputError('a UKI is a SecureBoot output: set image.secureboot: true, or use --kind kernel and initramfs');
  }
  const input: Record<string, unknown> = {
    kernel: { path: `/usr/install/${arch}/vmlinuz` },
    initramfs: { path: `/usr/install/${arch}/initramfs.xz` },
  };
  if (secureboot) {
    input.sdStub = { path: `/usr/install/${arch}/systemd-stub.efi` };
    input.sdBoot = { path: `/usr/install/${arch}/systemd-boot.efi` };
  }
  input.baseInstaller = { imageRef: baseInstallerRef(version) };
  if (secureboot) {
    // The imager's default key locations: mount the keys directory at /secureboot.
    input.secureboot = {
      secureBootSigner: { keyPath: '/secureboot/uki-signing-key.pem', certPath: '/secureboot/uki-signing-cert.pem' },
      pcrSigner: { keyPath: '/secureboot/pcr-signing-key.pem' },
    };
  }
  const exts = extensionRefs(spec);
  if (exts.length > 0) input.systemExtensions = exts.map((e) => ({ imageRef: e.ref }));

  const profile: ImagerProfile = { arch, platform, secureboot, version, input, output: { kind, outFormat: 'raw' } };
  // The imager rejects kernel args for kernel/initramfs, and for a non-SecureBoot installer
  // (there they belong in the machine config's install.extraKernelArgs).
  const argsAllowed = kind === 'iso' || kind === 'uki' || (kind === 'installer' && secureboot);
  if (extraKernelArgs.length > 0 && argsAllowed) {
    const { input: i, output: o, ...head } = profile;
    return { ...head, customization: { extraKernelArgs: [...extraKernelArgs] }, input: i, output: o };
  }
  return profile;
}

/** The profile as the YAML the imager reads on stdin. */
export function renderProfile(spec: Spec, kind: ProfileKind): string {
  return stringify(imagerProfile(spec, kind), { lineWidth: 0 });
}
