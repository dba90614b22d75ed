/**
 * DHCP option codes (RFC 2132, RFC 4578 PXE, RFC 3004 user class, RFC 3396 long options) and the
 * small value codecs the server needs. Wire facts only; no policy.
 */

export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST: 28,
  VENDOR_SPECIFIC: 43,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER_NAME: 66,
  BOOTFILE_NAME: 67,
  USER_CLASS: 77,
  CLIENT_ARCH: 93,
  CLIENT_NDI: 94,
  CLIENT_UUID: 97,
  IPXE_ENCAP: 175,
  END: 255,
} as const;

export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type MessageTypeName = keyof typeof MessageType;

const TYPE_NAMES: Record<number, MessageTypeName> = Object.fromEntries(Object.entries(MessageType).map(([k, v]) => [v, k as MessageTypeName]));

export function messageTypeName(t: number): MessageTypeName | undefined {
  return TYPE_NAMES[t];
}

/** PXE vendor-encapsulated sub-options inside option 43 (PXE spec 2.1, table 2-1). */
export const PxeSub = {
  DISCOVERY_CONTROL: 6,
  BOOT_SERVERS: 8,
  BOOT_MENU: 9,
  MENU_PROMPT: 10,
  BOOT_ITEM: 71,
  END: 255,
} as const;

/** Client system architecture types (RFC 4578 §2.1 and the IANA registry). */
export const ARCH_NAMES: Record<number, string> = {
  0: 'bios',
  1: 'nec-pc98',
  2: 'efi-itanium',
  3: 'dec-alpha',
  4: 'arc-x86',
  5: 'intel-lean',
  6: 'efi-ia32',
  7: 'efi-x64',
  8: 'efi-xscale',
  9: 'efi-x64', // EFI BC: assigned to x86-64 by every firmware in practice (RFC 4578 errata)
  10: 'efi-arm32',
  11: 'efi-arm64',
  15: 'efi-ia32-http',
  16: 'efi-x64-http',
  18: 'efi-arm32-http',
  19: 'efi-arm64-http',
};

// --- IPv4 as unsigned 32-bit numbers ------------------------------------------------------------

export function ipToNum(text: string): number {
  const p = text.split('.');
  if (p.length !== 4) throw new Error(`not an IPv4 address: ${text}`);
  let n = 0;
  for (const s of p) {
    const b = Number(s);
    if (!/^\d{1,3}$/.test(s) || b > 255) throw new Error(`not an IPv4 address: ${text}`);
    n = n * 256 + b;
  }
  return n >>> 0;
}

/** ipToNum, or undefined for text that is not a dotted IPv4 address. */
export function parseIp(text: string): number | undefined {
  try {
    return ipToNum(text);
  } catch {
    return undefined;
  }
}

export function numToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function ipBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function ipListBytes(list: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * list.length);
  list.forEach((n, i) => b.writeUInt32BE(n >>> 0, 4 * i));
  return b;
}

export function u32Bytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(n))), 0);
  return b;
}

/** Reads a 4-byte IPv4 option; undefined when absent or the wrong length. */
export function readIp(v: Buffer | undefined): number | undefined {
  return v && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

/** Character codes of the lower-case hex digits. */
const HEX = [...'0123456789abcdef'].map((c) => c.charCodeAt(0));

/**
 * `aa:bb:cc:dd:ee:ff` (lower case) of the first `hlen` bytes. Made for every DHCP packet, so an
 * Ethernet address is one string made at once, not a dozen pieces joined.
 */
export function macText(chaddr: Buffer, hlen = 6): string {
  const h = (i: number) => HEX[chaddr[i]! >> 4]!;
  const l = (i: number) => HEX[chaddr[i]! & 15]!;
  if (hlen === 6) return String.fromCharCode(h(0), l(0), 58, h(1), l(1), 58, h(2), l(2), 58, h(3), l(3), 58, h(4), l(4), 58, h(5), l(5));
  let s = '';
  for (let i = 0; i < hlen; i++) s += (i ? ':' : '') + String.fromCharCode(h(i), l(i));
  return s;
}

export function macBytes(mac: string): Buffer {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`not a MAC address: ${mac}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/** Printable ASCII of an option value (vendor class, hostname), control characters replaced. */
export function asciiOf(v: Buffer | undefined): string | undefined {
  if (!v) return undefined;
  // eslint-disable-next-line no-control-regex
  return v.toString('latin1').replace(/[\x00-\x1f\x7f-\xff]/g, '?');
}

/**
 * User class (option 77). RFC 3004 encodes a list of length-prefixed class names; iPXE and many
 * PXE ROMs send one plain string instead. Returns every plausible reading, so a match against
 * "iPXE" works for both encodings.
 */
export function userClasses(v: Buffer | undefined): readonly string[] {
  if (!v || v.length === 0) return NO_CLASSES;
  const plain = asciiOf(v)!;
  const out = [plain];
  let i = 0;
  const list: string[] = [];
  while (i < v.length) {
    const len = v[i]!;
    if (len === 0 || i + 1 + len > v.length) return out;
    list.push(asciiOf(v.subarray(i + 1, i + 1 + len))!);
    i += 1 + len;
  }
  return [...out, ...list];
}

const NO_CLASSES: readonly string[] = Object.freeze([]);

/** Option 93: a list of 16-bit architecture types; the first is the one booting. */
export function clientArchs(v: Buffer | undefined): number[] {
  if (!v || v.length < 2 || v.length % 2 !== 0) return [];
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 2) out.push(v.readUInt16BE(i));
  return out;
}

/** The first (booting) architecture of option 93, as clientArchs(v)[0] without the list. */
export function firstArch(v: Buffer | undefined): number | undefined {
  return v && v.length >= 2 && v.length % 2 === 0 ? v.readUInt16BE(0) : undefined;
}

/** GUID byte order of the SMBIOS text form: the first three fields reversed. */
const UUID_BYTES = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
/** Where clientUuid writes the text before making it one string (nothing else runs in between). */
const uuidText = Buffer.alloc(36);

/**
 * Option 97: type 0 then a 16-byte GUID (RFC 4578 §2.3). Returned in SMBIOS text form, the first
 * three fields little-endian as firmware stores them (matching `dmidecode -s system-uuid`).
 */
export function clientUuid(v: Buffer | undefined): string | undefined {
  if (!v || v.length !== 17 || v[0] !== 0) return undefined;
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) uuidText[at++] = 45; // '-'
    const b = v[1 + UUID_BYTES[i]!]!;
    uuidText[at++] = HEX[b >> 4]!;
    uuidText[at++] = HEX[b & 15]!;
  }
  return uuidText.toString('latin1', 0, 36);
}

export function encodeSubOptions(entries: [number, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of entries) parts.push(Buffer.from([code, value.length]), value);
  parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}
