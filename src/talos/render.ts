/**
 * The pure middle of the talos stage: spec + secrets + loaded patches + client identity in, every
 * config document out, patched and validated. No I/O, no randomness.
 */
import type { Spec, Machine } from '../spec/index.js';
import { cidrContains, parseCidr, parseIp } from '../spec/net.js';
import type { TalosContract } from './contract.js';
import { generateBase, type Doc, type GenOptions, type MachineType } from './generate.js';
import { machineIp, machinePatch } from './node.js';
import { applyPatch, PatchError, type Patch } from './patch.js';
import { canonicalOrder, validateDocument } from './schema.js';
import { b64, type SecretsBundle } from './secrets.js';
import type { CertAndKey } from './pki.js';

/** A patch with where it came from: a file path or a spec position (cluster.patches.common[0]). */
export interface SourcedPatch {
  source: string;
  patch: Patch;
}

export interface PatchSet {
  common: SourcedPatch[];
  controlplane: SourcedPatch[];
  worker: SourcedPatch[];
  /** by machine name */
  machines: Record<string, SourcedPatch[]>;
}

/**
 * What the cluster's networking looks like after the platform stage: when Flux installs the CNI
 * (Cilium, Kube-OVN), Talos must not deploy its own (flannel), and when Cilium replaces kube-proxy,
 * Talos must not deploy kube-proxy either.
 */
export interface ClusterNetworking {
  /** cluster.network.cni.name: none */
  cniNone: boolean;
  /** cluster.proxy.disabled: true */
  kubeProxyDisabled: boolean;
}

/** The patches that express a ClusterNetworking choice; they apply after the base, before user patches. */
export function networkingPatches(n: ClusterNetworking | undefined): { common: SourcedPatch[]; controlplane: SourcedPatch[] } {
  const source = 'platform networking (hearth)';
  return {
    common: n?.cniNone ? [{ source, patch: { kind: 'strategic', docs: [{ cluster: { network: { cni: { name: 'none' } } } }] } }] : [],
    controlplane: n?.kubeProxyDisabled ? [{ source, patch: { kind: 'strategic', docs: [{ cluster: { proxy: { disabled: true } } }] } }] : [],
  };
}

export interface RenderInput {
  spec: Spec;
  contract: TalosContract;
  secrets: SecretsBundle;
  patches: PatchSet;
  installImage: string;
  /** The talosconfig identity (os:admin client certificate). */
  client: CertAndKey;
  /** The platform's networking choice; absent: Talos's defaults (flannel, kube-proxy). */
  networking?: ClusterNetworking;
}

export interface RenderedTalos {
  controlplane: Doc[];
  worker: Doc[];
  nodes: { name: string; role: MachineType; docs: Doc[] }[];
  talosconfig: string;
  endpoints: string[];
}

/** A config that patching or validation broke; `source` names the patch (or the base config). */
export class TalosConfigError extends Error {
  override name = 'TalosConfigError';
  constructor(
    readonly source: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${source}${field ? `: ${field}` : ''}: ${reason}`);
  }
}

export function genOptions(spec: Spec, installImage: string): GenOptions {
  return {
    clusterName: spec.metadata.name,
    endpoint: spec.cluster.endpoint,
    kubernetesVersion: spec.talos.kubernetesVersion!.replace(/^v/, ''),
    podSubnets: spec.cluster.podSubnets,
    serviceSubnets: spec.cluster.serviceSubnets,
    // what `talosctl gen config` defaults to on the command line
    installDisk: '/dev/sda',
    installImage,
  };
}

function fieldOf(docs: Doc[], i: number, field: string): string {
  const d = docs[i]!;
  const what = d.kind === undefined ? 'v1alpha1' : `${String(d.kind)}${typeof d.name === 'string' ? ` ${d.name}` : ''}`;
  return `${what} ${field || '/'}`;
}

/** Schema-validates every document; the first problem as [doc index, field, message]. */
function firstProblem(contract: TalosContract, docs: Doc[]): { field: string; message: string } | undefined {
  for (let i = 0; i < docs.length; i++) {
    const p = validateDocument(contract.schema, docs[i]!)[0];
    if (p) return { field: fieldOf(docs, i, p.field), message: p.message };
  }
  const sem = semanticProblems(docs)[0];
  return sem;
}

/** Checks talosctl makes that a schema cannot (config validate, metal mode). */
export function semanticProblems(docs: Doc[]): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const v1 = docs.find((d) => d.kind === undefined) as any;
  if (!v1) return [{ field: 'v1alpha1', message: 'the config has no v1alpha1 document' }];
  const endpoint = v1.cluster?.controlPlane?.endpoint;
  try {
    const u = new URL(String(endpoint));
    if (u.protocol !== 'https:') out.push({ field: 'v1alpha1 /cluster/controlPlane/endpoint', message: `must be an https URL, not ${String(endpoint)}` });
  } catch {
    out.push({ field: 'v1alpha1 /cluster/controlPlane/endpoint', message: `must be an https URL, not ${String(endpoint)}` });
  }
  const install = v1.machine?.install ?? {};
  if (!install.disk && !install.diskSelector) out.push({ field: 'v1alpha1 /machine/install', message: 'an install disk or diskSelector is required' });
  const type = v1.machine?.type;
  if (type !== 'controlplane' && type !== 'worker' && type !== 'init') out.push({ field: 'v1alpha1 /machine/type', message: `unknown machine type "${String(type)}"` });
  for (const [key, list] of [['podSubnets', v1.cluster?.network?.podSubnets], ['serviceSubnets', v1.cluster?.network?.serviceSubnets]] as const) {
    (list ?? []).forEach((c: unknown, i: number) => {
      if (!parseCidr(String(c))) out.push({ field: `v1alpha1 /cluster/network/${key}/${i}`, message: `"${String(c)}" is not a CIDR` });
    });
  }
  const cidrs: { cidr: NonNullable<ReturnType<typeof parseCidr>>; link: string }[] = [];
  const vips: { ip: string; link: string; field: string }[] = [];
  const checkAddr = (a: unknown, field: string, link: string) => {
    const c = parseCidr(String(a));
    if (!c) out.push({ field, message: `"${String(a)}" is not an address with a prefix length` });
    else cidrs.push({ cidr: c, link });
  };
  const checkIp = (a: unknown, field: string) => {
    if (!parseIp(String(a))) out.push({ field, message: `"${String(a)}" is not an IP address` });
  };
  (v1.machine?.network?.interfaces ?? []).forEach((ifc: any, i: number) => {
    const link = ifc.interface ?? `#${i}`;
    (ifc.addresses ?? []).forEach((a: unknown, j: number) => checkAddr(a, `v1alpha1 /machine/network/interfaces/${i}/addresses/${j}`, link));
    (ifc.routes ?? []).forEach((r: any, j: number) => {
      if (r.gateway) checkIp(r.gateway, `v1alpha1 /machine/network/interfaces/${i}/routes/${j}/gateway`);
      if (r.network && !parseCidr(String(r.network))) out.push({ field: `v1alpha1 /machine/network/interfaces/${i}/routes/${j}/network`, message: `"${String(r.network)}" is not a CIDR` });
    });
    if (ifc.vip?.ip) {
      checkIp(ifc.vip.ip, `v1alpha1 /machine/network/interfaces/${i}/vip/ip`);
      vips.push({ ip: String(ifc.vip.ip), link, field: `v1alpha1 /machine/network/interfaces/${i}/vip/ip` });
    }
  });
  (v1.machine?.network?.nameservers ?? []).forEach((n: unknown, i: number) => checkIp(n, `v1alpha1 /machine/network/nameservers/${i}`));
  for (const d of docs) {
    if (d.kind === 'LinkConfig' || d.kind === 'BondConfig') {
      ((d.addresses as any[]) ?? []).forEach((a, j) => checkAddr(a?.address, `${String(d.kind)} ${String(d.name)} /addresses/${j}/address`, String(d.name)));
      ((d.routes as any[]) ?? []).forEach((r, j) => r?.gateway && checkIp(r.gateway, `${String(d.kind)} ${String(d.name)} /routes/${j}/gateway`));
    }
    if (d.kind === 'Layer2VIPConfig') {
      checkIp(d.name, `Layer2VIPConfig /name`);
      vips.push({ ip: String(d.name), link: String(d.link ?? ''), field: `Layer2VIPConfig ${String(d.name)} /name` });
    }
    if (d.kind === 'ResolverConfig') ((d.nameservers as any[]) ?? []).forEach((n, i) => checkIp(n?.address, `ResolverConfig /nameservers/${i}/address`));
  }
  for (const v of vips) {
    const ip = parseIp(v.ip);
    if (!ip) continue;
    const onLink = cidrs.filter((c) => c.link === v.link);
    if (onLink.length > 0 && !onLink.some((c) => cidrContains(c.cidr, ip))) {
      out.push({ field: v.field, message: `VIP ${v.ip} is outside the subnets of link ${v.link} (${onLink.map((c) => `${c.cidr.text ?? ''}`).join(', ') || 'its addresses'})` });
    }
  }
  return out;
}

/** Applies patches in order; a patch that fails to apply or breaks validation is named. */
export function patchAndValidate(contract: TalosContract, base: Doc[], all: SourcedPatch[]): Doc[] {
  let docs = base;
  const history: Doc[][] = [docs];
  for (const s of all) {
    try {
      docs = applyPatch(docs, s.patch);
    } catch (err) {
      if (err instanceof PatchError) throw new TalosConfigError(s.source, err.field, err.message);
      throw err;
    }
    history.push(docs);
  }
  const problem = firstProblem(contract, docs);
  if (problem) {
    // find the first step after which the config stopped validating
    let culprit = 'base config';
    for (let i = 1; i < history.length; i++) {
      if (firstProblem(contract, history[i]!)) {
        culprit = all[i - 1]!.source;
        break;
      }
    }
    throw new TalosConfigError(culprit, problem.field, problem.message);
  }
  return docs.map((d) => canonicalOrder(contract.schema, d));
}

/** talosconfig: a client config with one context named after the cluster (clientconfig.Config). */
export function renderTalosconfig(contextName: string, endpoints: string[], caCrt: string, client: CertAndKey): string {
  const eps = endpoints.map((e) => `            - ${e}\n`).join('');
  return (
    `context: ${contextName}\n` +
    `contexts:\n` +
    `    ${contextName}:\n` +
    `        endpoints:\n${eps}` +
    `        ca: ${b64(caCrt)}\n` +
    `        crt: ${b64(client.crt)}\n` +
    `        key: ${b64(client.key)}\n`
  );
}

/** talosconfig endpoints: the control planes' addresses, else the VIP, else the endpoint host. */
export function talosEndpoints(spec: Spec): string[] {
  const cps = spec.machines.filter((m: Machine) => m.role === 'controlplane').map(machineIp).filter((x): x is string => Boolean(x));
  if (cps.length > 0) return cps;
  if (spec.cluster.vip) return [spec.cluster.vip];
  return [new URL(spec.cluster.endpoint).hostname.replace(/^\[(.*)\]$/, '$1')];
}

export function renderTalos(input: RenderInput): RenderedTalos {
  const { spec, contract, secrets, patches } = input;
  const opts = genOptions(spec, input.installImage);
  const net = networkingPatches(input.networking);
  const netFor = (role: MachineType) => [...net.common, ...(role === 'controlplane' ? net.controlplane : [])];
  const roleDocs = (role: MachineType) =>
    patchAndValidate(contract, generateBase(role, contract, secrets, opts), [...netFor(role), ...patches.common, ...patches[role]]);
  const controlplane = roleDocs('controlplane');
  const worker = roleDocs('worker');
  const nodes = spec.machines.map((m) => {
    const role = m.role as MachineType;
    const own: SourcedPatch = {
      source: `machines[${spec.machines.indexOf(m)}] (${m.name})`,
      patch: machinePatch({ machine: m, contract, installImage: input.installImage, vip: spec.cluster.vip }),
    };
    const steps = [...netFor(role), ...patches.common, ...patches[role], own, ...(patches.machines[m.name] ?? [])];
    return { name: m.name, role, docs: patchAndValidate(contract, generateBase(role, contract, secrets, opts), steps) };
  });
  const endpoints = talosEndpoints(spec);
  return { controlplane, worker, nodes, endpoints, talosconfig: renderTalosconfig(spec.metadata.name, endpoints, secrets.certs.os.crt, input.client) };
}
