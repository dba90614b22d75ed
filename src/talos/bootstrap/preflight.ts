/**
 * The pre-flight of `hearth bootstrap`: before anything is applied, every selected machine must be
 * answering, run the spec's Talos minor version, have its install disk (exactly one disk for a
 * selector) and the links its interface or bond names. Every problem is returned at once. Pure.
 */
import { normalizeMac } from '../../spec/net.js';
import type { Machine } from '../../spec/index.js';
import type { DiscoveredNode } from '../api/index.js';
import { describeSelector, diskMatches, disksAt } from './disks.js';

export interface Candidate {
  machine: Machine;
  node: DiscoveredNode;
}

export interface PreflightResult {
  /** Machines with the node they matched, in spec order. */
  matched: Candidate[];
  /** One line per problem. */
  problems: string[];
}

/** "v1.13.9" -> "1.13"; undefined when not a version. */
export function minorVersion(tag: string | null | undefined): string | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(tag ?? '');
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/**
 * A node in maintenance mode without a Version call runs Talos older than v1.8 (v1.6 and v1.7 serve
 * maintenance mode without it); from v1.8 every maintenance node reports its version.
 */
function versionProblem(specVersion: string, node: DiscoveredNode): string | undefined {
  const want = minorVersion(specVersion)!;
  const got = minorVersion(node.talosVersion);
  if (got === undefined) {
    const [, minor] = want.split('.').map(Number) as [number, number];
    return minor >= 8 ? `runs Talos older than v1.8 (maintenance mode without the Version call), the spec wants ${specVersion}` : undefined;
  }
  return got === want ? undefined : `runs Talos ${node.talosVersion}, the spec wants ${specVersion} (minor versions differ)`;
}

function diskProblem(m: Machine, node: DiscoveredNode): string | undefined {
  const names = node.disks.map((d) => d.name).join(', ') || 'none';
  if (m.installDisk) {
    return disksAt(m.installDisk, node.disks).length === 1 ? undefined : `installDisk ${m.installDisk} not found (disks: ${names})`;
  }
  if (m.diskSelector) {
    const hits = node.disks.filter((d) => diskMatches(m.diskSelector!, d));
    if (hits.length === 1) return undefined;
    const what = `diskSelector (${describeSelector(m.diskSelector)})`;
    return hits.length === 0 ? `${what} matches no disk (disks: ${names})` : `${what} matches ${hits.length} disks (${hits.map((d) => d.name).join(', ')}), not exactly one`;
  }
  return undefined;
}

function linkProblems(m: Machine, node: DiscoveredNode): string[] {
  const has = (want: string) => node.links.some((l) => l.name === want || (l.mac && l.mac === normalizeMac(want)));
  const present = node.links.map((l) => l.name).join(', ') || 'none';
  const wanted: string[] = [];
  if (m.bond) wanted.push(...m.bond.interfaces);
  else if (typeof m.interface === 'string') wanted.push(m.interface);
  else if (m.interface?.hardwareAddr && !/[*?[]/.test(m.interface.hardwareAddr)) wanted.push(m.interface.hardwareAddr);
  const missing = wanted.filter((w) => !has(w));
  if (missing.length === 0) return [];
  const what = m.bond ? `bond ${m.bond.name} member${missing.length > 1 ? 's' : ''}` : 'interface';
  return [`${what} ${missing.join(', ')} not found (links: ${present})`];
}

/**
 * Checks the machines to bootstrap against the discovered nodes. `only` limits the machines
 * (names not in the spec are problems too); nodes that could not be read are reported.
 */
export function preflight(specVersion: string, machines: Machine[], nodes: DiscoveredNode[], only?: string[]): PreflightResult {
  const problems: string[] = [];
  for (const name of only ?? []) if (!machines.some((m) => m.name === name)) problems.push(`--only ${name}: no machine of that name in the spec`);
  const selected = only ? machines.filter((m) => only.includes(m.name)) : machines;
  for (const n of nodes) if (n.error && !n.machine) problems.push(`node ${n.address}: ${n.error}`);
  const matched: Candidate[] = [];
  for (const m of selected) {
    const found = nodes.filter((n) => n.machine === m.name);
    if (found.length === 0) {
      problems.push(`${m.name}: not found (no answering node has ${m.uuid ? `UUID ${m.uuid}` : `MAC ${m.mac ?? '(none given)'}`})`);
      continue;
    }
    if (found.length > 1) {
      problems.push(`${m.name}: matched by ${found.length} nodes (${found.map((n) => n.address).join(', ')})`);
      continue;
    }
    const node = found[0]!;
    const mine = [versionProblem(specVersion, node), diskProblem(m, node), ...linkProblems(m, node)].filter((p): p is string => Boolean(p));
    problems.push(...mine.map((p) => `${m.name} (${node.address}): ${p}`));
    if (node.error) problems.push(`${m.name} (${node.address}): ${node.error}`);
    else if (mine.length === 0) matched.push({ machine: m, node });
  }
  return { matched, problems };
}
