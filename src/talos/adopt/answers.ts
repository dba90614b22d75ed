/**
 * Adopting a discovered node into hearth.yaml: the questions (name, role, install disk, interface or
 * bond, address, gateway, nameservers), their defaults from what the node reports and what the spec
 * already says, a check of each answer, and the `machines[]` entry the answers make.
 */
import { normalizeMac, parseCidr, parseIp } from '../../spec/net.js';
import type { Spec } from '../../spec/index.js';
import type { DiscoveredDisk, DiscoveredNode } from '../api/discover.js';

export interface Answers {
  name: string;
  role: 'controlplane' | 'worker';
  /** The install disk's name (sda, nvme0n1). */
  disk: string;
  /** One link name, or the member links of a bond ("bond:eth0,eth1" when typed). */
  link: { interface: string } | { bond: string[] };
  address: string;
  gateway: string;
  nameservers: string[];
}

export type Question = keyof Answers;
export const QUESTIONS: Question[] = ['name', 'role', 'disk', 'link', 'address', 'gateway', 'nameservers'];

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function sameSubnet(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return !!x && !!y && x.prefix === y.prefix && x.network === y.network;
}

/** "256 GB", "1.9 TB". */
export function humanSize(bytes: number): string {
  if (bytes >= 1e12) return `${(bytes / 1e12).toFixed(1)} TB`;
  return `${Math.round(bytes / 1e9)} GB`;
}

/** One disk menu line: "sda  256 GB  QEMU HARDDISK  serial QM0001  (sata, hdd)". */
export function diskLabel(d: DiscoveredDisk): string {
  const kind = d.rotational ? 'hdd' : 'ssd';
  return `${d.name}  ${humanSize(d.size)}  ${d.model || '(no model)'}  serial ${d.serial || '-'}  (${[d.transport, kind].filter(Boolean).join(', ')})`;
}

/** The node's physical links (not bonds, bridges or VLANs). */
const physicalLinks = (node: DiscoveredNode) => node.links.filter((l) => l.kind === '' && l.mac);

/** What each question defaults to for this node. */
export function defaultAnswers(node: DiscoveredNode, spec: Spec): Answers {
  const taken = new Set(spec.machines.map((m) => m.name));
  const host = node.hostname?.toLowerCase() ?? '';
  const octet = node.address.split(/[.:]/).pop() ?? '0';
  let name = DNS_LABEL.test(host) && !taken.has(host) ? host : `node-${octet}`;
  for (let i = 2; taken.has(name) && i < 1000; i++) name = `node-${octet}-${i}`;
  const disk = node.disks.find((d) => d.transport !== 'usb' && d.transport !== 'mmc') ?? node.disks[0];
  const links = physicalLinks(node);
  const link = links.find((l) => l.state === 'up') ?? links[0];
  const address = node.addresses.find((a) => parseCidr(a)?.ip.family === 4) ?? node.addresses[0] ?? '';
  const neighbour = spec.machines.find((m) => m.address && address && sameSubnet(m.address, address));
  const dhcp = spec.netboot.dhcp;
  return {
    name,
    role: spec.machines.some((m) => m.role === 'controlplane') ? 'worker' : 'controlplane',
    disk: disk?.name ?? '',
    link: { interface: link?.name ?? '' },
    address,
    gateway: neighbour?.gateway ?? dhcp?.router ?? '',
    nameservers: neighbour?.nameservers ?? dhcp?.dns ?? [],
  };
}

/** Parses one typed answer; returns the value, or a message saying what is wrong. */
export function parseAnswer(q: Question, text: string, node: DiscoveredNode, spec: Spec): { value: Answers[Question] } | { error: string } {
  const t = text.trim();
  switch (q) {
    case 'name':
      if (!DNS_LABEL.test(t)) return { error: `"${t}" is not a DNS label (lower-case letters, digits and -, at most 63)` };
      if (spec.machines.some((m) => m.name === t)) return { error: `the spec already has a machine named ${t}` };
      return { value: t };
    case 'role':
      if (t === 'controlplane' || t === 'worker') return { value: t };
      if (t === 'cp' || t === 'c') return { value: 'controlplane' };
      if (t === 'w') return { value: 'worker' };
      return { error: 'the role is controlplane or worker' };
    case 'disk': {
      const n = Number(t);
      const byIndex = Number.isInteger(n) && n >= 1 ? node.disks[n - 1] : undefined;
      const d = byIndex ?? node.disks.find((x) => x.name === t.replace(/^\/dev\//, ''));
      return d ? { value: d.name } : { error: `no disk "${t}" on this node (${node.disks.map((x) => x.name).join(', ') || 'none reported'})` };
    }
    case 'link': {
      const bond = /^bond:(.*)$/.exec(t);
      const names = bond ? bond[1]!.split(',').map((s) => s.trim()).filter(Boolean) : [t];
      const known = physicalLinks(node).map((l) => l.name);
      const missing = names.filter((x) => !known.includes(x));
      if (names.length === 0 || missing.length > 0) return { error: `no link ${missing.join(', ') || '(none given)'} on this node (${known.join(', ')})` };
      if (bond && names.length < 2) return { error: 'a bond needs at least two links: bond:eth0,eth1' };
      return { value: bond ? { bond: names } : { interface: names[0]! } };
    }
    case 'address':
      return parseCidr(t) ? { value: t } : { error: `"${t}" is not an address with a prefix length, like 192.0.2.31/24` };
    case 'gateway':
      return t === '' || parseIp(t) ? { value: t } : { error: `"${t}" is not an IP address` };
    case 'nameservers': {
      const list = t.split(/[\s,]+/).filter(Boolean);
      const bad = list.find((x) => !parseIp(x));
      return bad ? { error: `"${bad}" is not an IP address` } : { value: list };
    }
  }
}

/** How an answer is shown as a default, and typed back. */
export function formatAnswer(q: Question, a: Answers): string {
  const v = a[q];
  if (q === 'link') return 'bond' in a.link ? `bond:${a.link.bond.join(',')}` : a.link.interface;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** The machines[] entry: the boot MAC (and UUID) so discovery matches it again, then the answers. */
export function machineEntry(node: DiscoveredNode, a: Answers): Record<string, unknown> {
  const first = 'bond' in a.link ? a.link.bond[0]! : a.link.interface;
  const mac = node.links.find((l) => l.name === first)?.mac ?? node.macs[0];
  return {
    name: a.name,
    role: a.role,
    ...(mac ? { mac: normalizeMac(mac) } : {}),
    ...(node.uuid ? { uuid: node.uuid } : {}),
    address: a.address,
    ...(a.gateway ? { gateway: a.gateway } : {}),
    ...(a.nameservers.length > 0 ? { nameservers: a.nameservers } : {}),
    ...('bond' in a.link ? { bond: { interfaces: a.link.bond, mode: '802.3ad' } } : { interface: a.link.interface }),
    installDisk: `/dev/${a.disk}`,
  };
}
