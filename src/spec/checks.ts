import { cidrContains, cidrsOverlap, formatCidrNetwork, normalizeMac, parseCidr, parseIp, type Cidr } from './net.js';
import { formatPath, type SpecIssue } from './issues.js';
import { CLUSTER_NETWORK_DEFAULTS } from './sections/core.js';

/**
 * Checks that span several fields: duplicates, subnets, exclusive choices. They read the raw
 * document defensively, so they run even when the shape checks failed and every problem is
 * reported in one go.
 */
export function crossFieldChecks(raw: unknown): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const root = obj(raw);
  if (!root) return issues;
  const machines = Array.isArray(root.machines) ? root.machines.map(obj) : [];
  const cluster = obj(root.cluster);
  const netboot = obj(root.netboot);
  const dhcp = obj(netboot?.dhcp);

  const seen = { name: new Map<string, number>(), mac: new Map<string, number>(), address: new Map<string, number>() };
  const subnets: { cidr: Cidr; index: number; role: unknown }[] = [];

  machines.forEach((m, i) => {
    if (!m) return;
    const at = (field: string) => ['machines', i, field];
    if (typeof m.name === 'string') dup(seen.name, m.name, i, at('name'), 'machine name', issues);
    if (typeof m.mac === 'string') dup(seen.mac, normalizeMac(m.mac), i, at('mac'), 'MAC address', issues);
    if (m.installDisk !== undefined && m.diskSelector !== undefined) {
      issues.push({ path: at('diskSelector'), message: 'give installDisk or diskSelector, not both' });
    }
    if (m.interface !== undefined && m.bond !== undefined) {
      issues.push({ path: at('bond'), message: 'give interface or bond, not both' });
    }
    const addr = typeof m.address === 'string' ? parseCidr(m.address) : undefined;
    if (addr) {
      dup(seen.address, addr.ip.text, i, at('address'), 'address', issues);
      subnets.push({ cidr: addr, index: i, role: m.role });
      const hostBits = (addr.ip.family === 4 ? 32 : 128) - addr.prefix;
      if (addr.ip.family === 4 && hostBits >= 2) {
        const broadcast = addr.network | ((1n << BigInt(hostBits)) - 1n);
        if (addr.ip.value === addr.network) {
          issues.push({ path: at('address'), message: `${addr.ip.text} is the network address of ${fmtNet(addr)}, not a host address` });
        } else if (addr.ip.value === broadcast) {
          issues.push({ path: at('address'), message: `${addr.ip.text} is the broadcast address of ${fmtNet(addr)}` });
        }
      }
      const gw = typeof m.gateway === 'string' ? parseIp(m.gateway) : undefined;
      if (gw && !cidrContains(addr, gw)) {
        issues.push({ path: at('gateway'), message: `gateway ${gw.text} is outside the machine's subnet ${fmtNet(addr)}` });
      }
    } else if (m.gateway !== undefined && m.address === undefined) {
      issues.push({ path: at('gateway'), message: 'a gateway needs a static address (machines[].address) to route from' });
    }
  });

  if (machines.length > 0 && !machines.some((m) => m?.role === 'controlplane')) {
    issues.push({ path: ['machines'], message: 'needs at least one machine with role controlplane' });
  }

  // The VIP floats between control planes, so it must sit in one of their subnets.
  const cpSubnets = subnets.filter((s) => s.role === 'controlplane');
  const vip = typeof cluster?.vip === 'string' ? parseIp(cluster.vip) : undefined;
  if (vip && cpSubnets.length > 0) {
    if (!cpSubnets.some((s) => cidrContains(s.cidr, vip))) {
      issues.push({ path: ['cluster', 'vip'], message: `VIP ${vip.text} is outside every control-plane subnet (${uniqNets(cpSubnets)})` });
    }
    const taken = subnets.find((s) => s.cidr.ip.value === vip.value && s.cidr.ip.family === vip.family);
    if (taken) {
      issues.push({ path: ['cluster', 'vip'], message: `VIP ${vip.text} is also the address of machines[${taken.index}]` });
    }
  }

  // Pod and service networks must not collide with each other or with the machines' networks.
  const clusterNets: { cidr: Cidr; path: (string | number)[] }[] = [];
  for (const field of ['podSubnets', 'serviceSubnets'] as const) {
    const given = cluster?.[field];
    const list = Array.isArray(given) ? (given as unknown[]) : given === undefined ? CLUSTER_NETWORK_DEFAULTS[field] : [];
    list.forEach((t, j) => {
      const c = typeof t === 'string' ? parseCidr(t) : undefined;
      if (c) clusterNets.push({ cidr: c, path: ['cluster', field, j] });
    });
  }
  clusterNets.forEach((a, ai) => {
    const other = clusterNets.slice(0, ai).find((b) => cidrsOverlap(a.cidr, b.cidr));
    if (other) {
      issues.push({ path: a.path, message: `${a.cidr.text} overlaps ${other.cidr.text} (${formatPath(other.path)})` });
    }
    const machineNet = subnets.find((s) => cidrsOverlap(a.cidr, s.cidr));
    if (machineNet) {
      issues.push({ path: a.path, message: `${a.cidr.text} overlaps the network of machines[${machineNet.index}] (${fmtNet(machineNet.cidr)})` });
    }
  });

  // DHCP: the pool and router must be on the machines' network, and fixed addresses outside the pool.
  const range = typeof dhcp?.range === 'string' ? parseRange(dhcp.range) : undefined;
  const v4Subnets = subnets.filter((s) => s.cidr.ip.family === 4);
  if (range && v4Subnets.length > 0) {
    for (const [end, ip] of [['first', range.lo], ['last', range.hi]] as const) {
      if (!v4Subnets.some((s) => cidrContains(s.cidr, ip))) {
        issues.push({ path: ['netboot', 'dhcp', 'range'], message: `${end} address ${ip.text} is outside every machine subnet (${uniqNets(v4Subnets)})` });
      }
    }
    for (const s of v4Subnets) {
      const m = machines[s.index];
      if (m && typeof m.mac === 'string' && s.cidr.ip.value >= range.lo.value && s.cidr.ip.value <= range.hi.value) {
        issues.push({
          path: ['machines', s.index, 'address'],
          message: `${s.cidr.ip.text} lies inside netboot.dhcp.range ${String(dhcp?.range)}; fixed addresses must be outside the dynamic pool`,
        });
      }
    }
  }
  for (const field of ['router'] as const) {
    const r = typeof dhcp?.[field] === 'string' ? parseIp(dhcp[field] as string) : undefined;
    if (r && v4Subnets.length > 0 && !v4Subnets.some((s) => cidrContains(s.cidr, r))) {
      issues.push({ path: ['netboot', 'dhcp', field], message: `${r.text} is outside every machine subnet (${uniqNets(v4Subnets)})` });
    }
  }
  const mode = dhcp?.mode ?? 'full';
  if (netboot && mode === 'full' && dhcp?.range === undefined && !machines.some((m) => m?.mac !== undefined && m?.address !== undefined)) {
    issues.push({ path: ['netboot', 'dhcp'], message: 'mode full needs a range, or machines with a mac and an address to hand out' });
  }
  return issues;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function dup(seen: Map<string, number>, key: string, i: number, path: (string | number)[], what: string, issues: SpecIssue[]): void {
  const first = seen.get(key);
  if (first === undefined) seen.set(key, i);
  else issues.push({ path, message: `duplicate ${what} "${key}" (also machines[${first}])` });
}

function fmtNet(c: Cidr): string {
  return formatCidrNetwork(c);
}

function uniqNets(list: { cidr: Cidr }[]): string {
  return [...new Set(list.map((s) => fmtNet(s.cidr)))].join(', ');
}

export function parseRange(text: string) {
  const [a, b] = text.split('-').map((s) => s.trim());
  const lo = a ? parseIp(a) : undefined;
  const hi = b ? parseIp(b) : undefined;
  return lo && hi ? { lo, hi } : undefined;
}
