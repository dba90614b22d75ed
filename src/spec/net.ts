import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as a number, so subnets can be compared without string games. */
export interface Ip {
  family: 4 | 6;
  value: bigint;
  text: string;
}

export interface Cidr {
  /** The address as written (a host address for machine addresses, the network for subnets). */
  ip: Ip;
  prefix: number;
  /** The network address (host bits cleared). */
  network: bigint;
  text: string;
}

export function parseIp(text: string): Ip | undefined {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { family: 4, value, text };
  }
  if (isIPv6(text)) {
    return { family: 6, value: ipv6ToBigInt(text), text };
  }
  return undefined;
}

function ipv6ToBigInt(text: string): bigint {
  let s = text;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = v4[1]!.split('.').map(Number);
    s = s.slice(0, -v4[1]!.length) + `${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  const parts = [...h, ...Array<string>(fill).fill('0'), ...t];
  return parts.reduce((acc, p) => (acc << 16n) | BigInt(parseInt(p, 16)), 0n);
}

export function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 255n).toString()).join('.');
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const ip = parseIp(m[1]!);
  if (!ip) return undefined;
  const prefix = Number(m[2]);
  const bits = ip.family === 4 ? 32 : 128;
  if (prefix > bits) return undefined;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { ip, prefix, network: ip.value & mask, text };
}

export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  if (cidr.ip.family !== ip.family) return false;
  const bits = cidr.ip.family === 4 ? 32 : 128;
  const shift = BigInt(bits - cidr.prefix);
  return ip.value >> shift === cidr.network >> shift;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.ip.family !== b.ip.family) return false;
  const p = Math.min(a.prefix, b.prefix);
  const bits = a.ip.family === 4 ? 32 : 128;
  const shift = BigInt(bits - p);
  return a.network >> shift === b.network >> shift;
}

export function formatIpv6(value: bigint): string {
  const parts = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = parts.map((p) => p.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** `192.0.2.11/24` -> `192.0.2.0/24`. */
export function formatCidrNetwork(c: Cidr): string {
  const net = c.ip.family === 4 ? formatIpv4(c.network) : formatIpv6(c.network);
  return `${net}/${c.prefix}`;
}

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
const MAC_DASH = /^[0-9a-f]{2}(?:-[0-9a-f]{2}){5}$/i;

export function isMac(text: string): boolean {
  return MAC.test(text) || MAC_DASH.test(text);
}

/** Lower-case, colon-separated: the form used as a key everywhere in hearth. */
export function normalizeMac(text: string): string {
  // Accepts any separator (or none), as iPXE, firmware and people write MACs differently.
  const hex = text.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length !== 12) return text.toLowerCase();
  return hex.match(/../g)!.join(':');
}
