/**
 * Which boot file a network-boot client gets: pure functions from the request's options
 * (60 vendor class, 77 user class, 93 client architecture, 97 UUID, 175 iPXE) to a boot choice.
 *
 * Choices (see docs/netboot-dhcp.md for the reasoning):
 *   BIOS PXE (arch 0)                 → undionly.kpxe over TFTP (uses the NIC's UNDI, works on any PXE ROM)
 *   UEFI x64 PXE (arch 7, 9)          → snponly.efi over TFTP: iPXE driving the firmware's own SNP
 *                                       driver, so every NIC the firmware can boot from works
 *                                       (ipxe.efi brings its own drivers, which fight the firmware's
 *                                       on some NICs and lack others, e.g. OVMF's virtio works with both)
 *   UEFI arm64 PXE (arch 11)          → snponly-arm64.efi over TFTP (iPXE's bin-arm64-efi/snponly.efi)
 *   UEFI HTTP boot (HTTPClient, 16/19)→ ${httpBase}/<the same EFI binary>, option 60 "HTTPClient" echoed
 *   iPXE (option 175 or user class)   → ${httpBase}/boot.ipxe
 *   chainload and an iPXE ROM         → our iPXE binary over TFTP first; the reply carries user class
 *                                       CHAIN_MARKER, which iPXE imports and sends back, so the chained
 *                                       iPXE is told apart from the ROM (their requests are otherwise identical)
 */
import { ARCH_NAMES, Opt, asciiOf, clientUuid, firstArch, userClasses } from './options.js';

/** User class we put in the reply that hands an iPXE ROM our iPXE binary. */
export const CHAIN_MARKER = 'HEARTH-IPXE';

/** Boot file names by architecture, as found in Debian's ipxe package (/usr/lib/ipxe). */
export const BOOT_FILES = {
  bios: 'undionly.kpxe',
  efiX64: 'snponly.efi',
  efiArm64: 'snponly-arm64.efi',
} as const;

export interface BootClient {
  /** Vendor class starts with PXEClient. */
  pxe: boolean;
  /** Vendor class starts with HTTPClient (UEFI HTTP boot). */
  http: boolean;
  /** iPXE (option 175 present or user class "iPXE"). */
  ipxe: boolean;
  /** Carries our chain marker: an iPXE we handed out ourselves. */
  chained: boolean;
  /** First architecture from option 93, if any. */
  arch?: number;
  /** Readable architecture (event `arch`). */
  archName?: string;
  uuid?: string;
  vendorClass?: string;
}

export function classify(options: Map<number, Buffer>): BootClient {
  const vendorClass = asciiOf(options.get(Opt.VENDOR_CLASS));
  const classes = userClasses(options.get(Opt.USER_CLASS));
  const arch = firstArch(options.get(Opt.CLIENT_ARCH));
  const ipxe = options.has(Opt.IPXE_ENCAP) || classes.includes('iPXE') || classes.includes(CHAIN_MARKER);
  const chained = classes.includes(CHAIN_MARKER);
  return {
    pxe: vendorClass?.startsWith('PXEClient') ?? false,
    http: vendorClass?.startsWith('HTTPClient') ?? false,
    ipxe,
    chained,
    arch,
    archName: arch === undefined ? (ipxe ? 'ipxe' : undefined) : (ARCH_NAMES[arch] ?? `arch-${arch}`),
    uuid: clientUuid(options.get(Opt.CLIENT_UUID)),
    vendorClass,
  };
}

export function isBootClient(c: BootClient): boolean {
  return c.pxe || c.http || c.ipxe;
}

export interface BootConfig {
  httpBase: string;
  chainload: boolean;
}

export interface BootChoice {
  /** File name (TFTP, relative to the TFTP root) or URL (HTTP). */
  file: string;
  /** Over TFTP (siaddr/next-server) rather than a URL. */
  tftp: boolean;
  /** Option 60 to echo: UEFI HTTP boot ignores offers without "HTTPClient". */
  vendorClass?: 'HTTPClient' | 'PXEClient';
  /** Put CHAIN_MARKER in option 77 of the reply. */
  markChain: boolean;
}

export type BootDecision = BootChoice | { none: string };

function efiBinary(arch: number | undefined): string | undefined {
  switch (arch) {
    case 7:
    case 9:
    case 16:
      return BOOT_FILES.efiX64;
    case 11:
    case 19:
      return BOOT_FILES.efiArm64;
    default:
      return undefined;
  }
}

function tftpBinary(arch: number | undefined): string | undefined {
  if (arch === undefined || arch === 0) return BOOT_FILES.bios;
  return efiBinary(arch);
}

/** The boot URLs under one httpBase, made once for the server's base rather than per reply. */
interface BootUrls {
  readonly httpBase: string;
  /** The iPXE script. */
  readonly script: string;
  /** The UEFI HTTP boot binaries by name. */
  readonly efi: Readonly<Record<string, string>>;
}
let urls: BootUrls | undefined;

function bootUrls(httpBase: string): BootUrls {
  if (urls?.httpBase !== httpBase) {
    const base = httpBase.replace(/\/+$/, '');
    urls = { httpBase, script: `${base}/boot.ipxe`, efi: { [BOOT_FILES.efiX64]: `${base}/${BOOT_FILES.efiX64}`, [BOOT_FILES.efiArm64]: `${base}/${BOOT_FILES.efiArm64}` } };
  }
  return urls;
}

/**
 * @param recentlyChained the server handed this MAC an iPXE binary a moment ago; used where the
 *   marker cannot survive the chain (UEFI iPXE does not import the ROM's DHCP reply).
 */
export function chooseBoot(c: BootClient, cfg: BootConfig, recentlyChained = false): BootDecision {
  const u = bootUrls(cfg.httpBase);
  if (c.ipxe) {
    if (!cfg.chainload || c.chained || recentlyChained) return { file: u.script, tftp: false, markChain: false };
    const bin = tftpBinary(c.arch);
    if (!bin) return { none: `no iPXE binary for ${c.archName ?? 'this architecture'}` };
    return { file: bin, tftp: true, markChain: true };
  }
  if (c.http) {
    const bin = efiBinary(c.arch);
    if (!bin) return { none: `no HTTP boot binary for ${c.archName ?? 'an unknown architecture'}` };
    return { file: u.efi[bin]!, tftp: false, vendorClass: 'HTTPClient', markChain: false };
  }
  if (c.pxe) {
    const bin = tftpBinary(c.arch);
    if (!bin) return { none: `no PXE boot file for ${c.archName ?? 'an unknown architecture'}` };
    return { file: bin, tftp: true, markChain: false };
  }
  return { none: 'not a network-boot client' };
}
