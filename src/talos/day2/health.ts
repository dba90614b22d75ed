/**
 * Cluster health as the day-two commands see it over the Talos API: every machine answers, is
 * running and ready, and etcd's members are exactly the control planes (EtcdMemberList).
 */
import { machineReadiness, type EtcdMember } from '../api/index.js';
import type { Target } from './targets.js';

export interface MachineHealth {
  name: string;
  role: string;
  address: string;
  version: string | null;
  stage: string | null;
  ready: boolean;
  /** Control planes: whether etcd lists it; workers: null. */
  etcdMember: boolean | null;
  problem: string | null;
}

export interface EtcdHealth {
  /** Who answered EtcdMemberList (a control plane's name), or null when none could. */
  askedVia: string | null;
  members: string[];
  missing: string[];
  unexpected: string[];
}

export interface ClusterHealth {
  machines: MachineHealth[];
  etcd: EtcdHealth;
  healthy: boolean;
  problems: string[];
}

const host = (url: string): string => {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return '';
  }
};

/** Which control plane an etcd member is: by peer URL address, else by hostname or name. */
function memberOf(m: EtcdMember, cps: Target[]): Target | undefined {
  const addrs = [...m.peerUrls, ...m.clientUrls].map(host);
  return cps.find((t) => addrs.includes(t.address)) ?? cps.find((t) => m.hostname === (t.machine.hostname ?? t.machine.name));
}

/** etcd as the first control plane that answers sees it: which control planes are missing, which members are strangers. */
export async function etcdHealth(cps: Target[]): Promise<EtcdHealth & { error?: string }> {
  let error: string | undefined;
  for (const t of cps) {
    let members: EtcdMember[];
    try {
      members = await t.api.etcdMemberList();
    } catch (err) {
      error = `etcd members via ${t.machine.name}: ${(err as Error).message}`;
      continue;
    }
    const matched = members.map((m) => memberOf(m, cps));
    return {
      askedVia: t.machine.name,
      members: members.map((m, i) => matched[i]?.machine.name ?? m.hostname),
      missing: cps.filter((c) => !matched.includes(c)).map((c) => c.machine.name),
      unexpected: members.filter((_, i) => !matched[i]).map((m) => m.hostname || m.id),
    };
  }
  return { askedVia: null, members: [], missing: cps.map((c) => c.machine.name), unexpected: [], ...(error ? { error } : {}) };
}

async function machineHealth(t: Target): Promise<Omit<MachineHealth, 'etcdMember'>> {
  const base = { name: t.machine.name, role: t.machine.role, address: t.address };
  try {
    const [version, status] = await Promise.all([t.api.version(), machineReadiness(t.api)]);
    const { stage, ready } = status;
    const problem = status.problem ?? null;
    return { ...base, version: version.tag, stage, ready, problem };
  } catch (err) {
    return { ...base, version: null, stage: null, ready: false, problem: (err as Error).message };
  }
}

/** Health of `targets`; etcd is checked against every control plane in `controlPlanes`. */
export async function clusterHealth(targets: Target[], controlPlanes: Target[]): Promise<ClusterHealth> {
  const [rows, etcd] = await Promise.all([Promise.all(targets.map(machineHealth)), etcdHealth(controlPlanes)]);
  const machines = rows.map((r) => ({ ...r, etcdMember: r.role === 'controlplane' ? etcd.askedVia !== null && !etcd.missing.includes(r.name) : null }));
  const problems = machines.filter((m) => m.problem).map((m) => `${m.name}: ${m.problem}`);
  if (controlPlanes.length > 0) {
    if (etcd.askedVia === null) problems.push(`etcd: no control plane answered EtcdMemberList${'error' in etcd && etcd.error ? ` (${etcd.error})` : ''}`);
    else {
      if (etcd.missing.length > 0) problems.push(`etcd: ${etcd.missing.join(', ')} not a member`);
      if (etcd.unexpected.length > 0) problems.push(`etcd: members not in the spec: ${etcd.unexpected.join(', ')}`);
    }
  }
  const { askedVia, members, missing, unexpected } = etcd;
  return { machines, etcd: { askedVia, members, missing, unexpected }, healthy: problems.length === 0, problems };
}
