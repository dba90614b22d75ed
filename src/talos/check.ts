/**
 * The talos stage's spec checks and its one file input (patch files). Cheap to load: neither the
 * PKI nor the Talos schemas, so `hearth validate` can run it without loading the renderer.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatPath, type LoadedSpec, type Spec, type SpecIssue, type SpecPath } from '../spec/index.js';
import { contractFor, contractSupported } from './contract.js';
import { parsePatchText, PatchError, toPatch } from './patch.js';
import type { PatchSet, SourcedPatch } from './render.js';

type RawPatch = Spec['cluster']['patches']['common'][number];

/** Every patch the spec names, read once; problems are issues at the patch's spec position. */
export interface LoadedPatches {
  patches: PatchSet;
  issues: SpecIssue[];
}

/** How a string patch is meant: a file (path, or @path) or inline YAML text. */
function stringPatchKind(s: string): 'file' | 'inline' {
  if (s.startsWith('@')) return 'file';
  if (s.includes('\n') || /^\s*[[{]/.test(s) || /^\s*[\w.$/-]+:(\s|$)/.test(s)) return 'inline';
  return 'file';
}

/** One patch entry of the spec: the patch, or the issue that keeps it from being used. */
function loadOne(raw: RawPatch, at: SpecPath, baseDir: string): { sourced?: SourcedPatch; issue?: SpecIssue } {
  const pos = formatPath(at);
  try {
    if (typeof raw !== 'string') return { sourced: { source: pos, patch: toPatch(raw) } };
    if (stringPatchKind(raw) === 'inline') return { sourced: { source: pos, patch: parsePatchText(raw) } };
    const rel = raw.replace(/^@/, '');
    const file = path.resolve(baseDir, rel);
    if (!existsSync(file)) return { issue: { path: at, message: `patch file ${rel} does not exist (paths are relative to the spec file)` } };
    if (!statSync(file).isFile()) return { issue: { path: at, message: `patch ${rel} is not a file` } };
    try {
      return { sourced: { source: rel, patch: parsePatchText(readFileSync(file, 'utf8')) } };
    } catch (err) {
      if (err instanceof PatchError) return { issue: { path: at, message: `patch file ${rel}: ${err.message}` } };
      throw err;
    }
  } catch (err) {
    if (err instanceof PatchError) return { issue: { path: at, message: `patch: ${err.message}` } };
    throw err;
  }
}

/** Reads every patch the spec names (files relative to the spec's directory). */
export function loadPatches(loaded: LoadedSpec): LoadedPatches {
  const { spec, baseDir } = loaded;
  const issues: SpecIssue[] = [];
  const take = (list: RawPatch[], at: SpecPath): SourcedPatch[] =>
    list.flatMap((raw, i) => {
      const r = loadOne(raw, [...at, i], baseDir);
      if (r.issue) issues.push(r.issue);
      return r.sourced ? [r.sourced] : [];
    });
  const patches: PatchSet = {
    common: take(spec.cluster.patches.common, ['cluster', 'patches', 'common']),
    controlplane: take(spec.cluster.patches.controlplane, ['cluster', 'patches', 'controlplane']),
    worker: take(spec.cluster.patches.worker, ['cluster', 'patches', 'worker']),
    machines: {},
  };
  spec.machines.forEach((m, i) => {
    patches.machines[m.name] = take(m.patches, ['machines', i, 'patches']);
  });
  return { patches, issues };
}

/**
 * Spec-level checks of the talos stage; each names its field. `patches` are the spec's patches as
 * already read (read here when not given). (Address/gateway/VIP arithmetic, installDisk-or-
 * diskSelector and interface-or-bond exclusivity and the control-plane count are checked by the
 * spec loader already.)
 */
export function checkTalos(loaded: LoadedSpec, patches?: LoadedPatches): SpecIssue[] {
  const { spec } = loaded;
  const issues: SpecIssue[] = [];
  if (!contractSupported(spec.talos.version)) {
    issues.push({ path: ['talos', 'version'], message: `hearth generates machine configs for Talos v1.6 and later, not ${spec.talos.version}` });
    return issues;
  }
  const contract = contractFor(spec.talos.version);
  issues.push(...(patches ?? loadPatches(loaded)).issues);
  const hostnames = new Map<string, number>();
  spec.machines.forEach((m, i) => {
    const at = (...p: (string | number)[]): SpecPath => ['machines', i, ...p];
    const h = m.hostname ?? m.name;
    if (hostnames.has(h)) issues.push({ path: at(m.hostname ? 'hostname' : 'name'), message: `hostname ${h} is already used by machines[${hostnames.get(h)}]` });
    else hostnames.set(h, i);
    if (m.role === 'controlplane' && !m.installDisk && !m.diskSelector) {
      issues.push({ path: at('installDisk'), message: 'a control plane needs installDisk or diskSelector' });
    }
    if ((m.address || m.gateway) && m.interface === undefined && !m.bond) {
      issues.push({ path: at(m.address ? 'address' : 'gateway'), message: 'a static address needs an interface or a bond to sit on' });
    }
    if (m.role === 'controlplane' && spec.cluster.vip && m.interface === undefined && !m.bond) {
      issues.push({ path: at('interface'), message: 'the VIP needs an interface or a bond on every control plane' });
    }
    if (contract.multiDocNetwork && m.interface && typeof m.interface === 'object' && 'physical' in m.interface) {
      issues.push({ path: at('interface', 'physical'), message: `Talos ${contract.name} selects links with CEL over LinkStatus, which has no "physical" field: use hardwareAddr, permanentAddr, driver, busPath or pciID` });
    }
    if (!contract.multiDocNetwork && m.interface && typeof m.interface === 'object') {
      for (const k of ['permanentAddr', 'physical'] as const) {
        if (k in m.interface) issues.push({ path: at('interface', k), message: `Talos ${contract.name} device selectors have no ${k} (busPath, hardwareAddr, pciID, driver)` });
      }
    }
    if (m.bond && m.interface === undefined) {
      const dup = m.bond.interfaces.find((x, j) => m.bond!.interfaces.indexOf(x) !== j);
      if (dup) issues.push({ path: at('bond', 'interfaces'), message: `link ${dup} is listed twice` });
    }
  });
  return issues;
}
