/**
 * The pure middle of the talos stage: spec + secrets + loaded patches + client identity in, every
 * config document out, patched and validated. No I/O, no randomness.
 */
import type { NodeRequirements } from '../platform/node-needs.js';
import type { Spec, Machine } from '../spec/index.js';
import { cidrContains, formatCidrNetwork, parseCidr, parseIp } from '../spec/net.js';
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

/** What the platform asks of the Talos configs: its networking choice and the enabled components' node needs. */
export interface PlatformAsks {
  networking?: ClusterNetworking;
  node?: NodeRequirements;
}

/** The file Talos merges into its containerd CRI configuration (machine.files). */
export const CRI_CUSTOMIZATION_PATH = '/etc/cri/conf.d/20-customization.part';

function tomlValue(v: boolean | number | string): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** The CRI part: the runtime plugin table of the contract's containerd, one `key = value` line per setting. */
export function criPart(contract: TalosContract, settings: NodeRequirements['cri']): string {
  const table = contract.containerd2 ? 'io.containerd.cri.v1.runtime' : 'io.containerd.grpc.v1.cri';
  return `[plugins]\n  [plugins."${table}"]\n${settings.map((s) => `    ${s.key} = ${tomlValue(s.value)}\n`).join('')}`;
}

/**
 * The networks the cluster's nodes live on: the network of every machine's static address, or
 * undefined when a machine has none (its DHCP address is not known here).
 */
export function nodeSubnets(spec: Spec): string[] | undefined {
  const out: string[] = [];
  for (const m of spec.machines) {
    const c = m.address ? parseCidr(m.address) : undefined;
    if (!c) return undefined;
    const net = formatCidrNetwork(c);
    if (!out.includes(net)) out.push(net);
  }
  return out.length > 0 ? out : undefined;
}

/**
 * Talos ingress firewall documents that keep the platform's node-only host ports to the nodes'
 * networks: the default action stays `accept` (every other port as before), and one
 * NetworkRuleConfig per protocol admits only those networks to the listed ports.
 */
export function firewallDocs(ports: NodeRequirements['nodeOnlyPorts'], subnets: string[]): Doc[] {
  if (ports.length === 0) return [];
  const docs: Doc[] = [{ apiVersion: 'v1alpha1', kind: 'NetworkDefaultActionConfig', ingress: 'accept' }];
  for (const protocol of ['tcp', 'udp'] as const) {
    const list = ports.filter((p) => p.protocol === protocol);
    if (list.length === 0) continue;
    docs.push({
      apiVersion: 'v1alpha1',
      kind: 'NetworkRuleConfig',
      name: `hearth-node-only-${protocol}`,
      portSelector: { ports: list.map((p) => p.port), protocol },
      ingress: subnets.map((subnet) => ({ subnet })),
    });
  }
  return docs;
}

/**
 * The one place the platform's asks become machine-config patches (every path that renders
 * configs, `hearth talos config`, `hearth plan` and `hearth bootstrap`, goes through renderTalos
 * and so through here). `common` and `controlplane` apply after the base config, before the spec's
 * own patches, which can still override them; `last` (the firewall documents) after every spec
 * patch, so RFC 6902 patches still see the single document of a Talos < 1.12 config (talosctl
 * refuses them on several). `warnings`: asks that could not be met.
 */
export function platformPatches(
  asks: PlatformAsks,
  contract: TalosContract,
  spec: Spec,
): { common: SourcedPatch[]; controlplane: SourcedPatch[]; last: SourcedPatch[]; warnings: string[] } {
  const n = asks.networking;
  const need = asks.node;
  const common: SourcedPatch[] = [];
  const controlplane: SourcedPatch[] = [];
  const last: SourcedPatch[] = [];
  const warnings: string[] = [];
  const strategic = (source: string, docs: Doc[]): SourcedPatch => ({ source, patch: { kind: 'strategic', docs } });
  const whom = (l: readonly { for: readonly string[] }[]) => [...new Set(l.flatMap((x) => x.for))].join(', ');
  if (n?.cniNone) common.push(strategic('platform networking (hearth)', [{ cluster: { network: { cni: { name: 'none' } } } }]));
  if (n?.kubeProxyDisabled) controlplane.push(strategic('platform networking (hearth)', [{ cluster: { proxy: { disabled: true } } }]));
  if (need && need.kernelModules.length > 0) {
    const modules = need.kernelModules.map((k) => ({ name: k.name, ...(k.parameters.length > 0 ? { parameters: [...k.parameters] } : {}) }));
    common.push(strategic(`platform kernel modules (${whom(need.kernelModules)})`, [{ machine: { kernel: { modules } } }]));
  }
  if (need && need.sysctls.length > 0) {
    common.push(strategic(`platform sysctls (${whom(need.sysctls)})`, [{ machine: { sysctls: Object.fromEntries(need.sysctls.map((s) => [s.key, s.value])) } }]));
  }
  if (need && need.cri.length > 0) {
    const file = { content: criPart(contract, need.cri), permissions: 0o644, path: CRI_CUSTOMIZATION_PATH, op: 'create' };
    common.push(strategic(`platform CRI settings (${whom(need.cri)})`, [{ machine: { files: [file] } }]));
  }
  if (need && need.nodeOnlyPorts.length > 0) {
    const subnets = nodeSubnets(spec);
    const what = need.nodeOnlyPorts.map((p) => `${p.protocol}/${p.port}`).join(', ');
    if (!contract.ingressFirewall) warnings.push(`Talos ${contract.name} has no ingress firewall: ${what} (${whom(need.nodeOnlyPorts)}) stay reachable from anywhere`);
    else if (!subnets) warnings.push(`a machine has no static address, so the nodes' networks are unknown: no ingress firewall for ${what} (${whom(need.nodeOnlyPorts)})`);
    else last.push(strategic(`platform ingress firewall (${whom(need.nodeOnlyPorts)})`, firewallDocs(need.nodeOnlyPorts, subnets)));
  }
  return { common, controlplane, last, warnings };
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
  /** What the platform's enabled components need from the nodes; absent: nothing. */
  node?: NodeRequirements;
}

export interface RenderedTalos {
  controlplane: Doc[];
  worker: Doc[];
  nodes: { name: string; role: MachineType; docs: Doc[] }[];
  talosconfig: string;
  endpoints: string[];
  /** Platform asks the configs could not meet. */
  warnings: string[];
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
  const net = platformPatches({ networking: input.networking, node: input.node }, contract, spec);
  const netFor = (role: MachineType) => [...net.common, ...(role === 'controlplane' ? net.controlplane : [])];
  const roleDocs = (role: MachineType) =>
    patchAndValidate(contract, generateBase(role, contract, secrets, opts), [...netFor(role), ...patches.common, ...patches[role], ...net.last]);
  const controlplane = roleDocs('controlplane');
  const worker = roleDocs('worker');
  const nodes = spec.machines.map((m) => {
    const role = m.role as MachineType;
    const own: SourcedPatch = {
      source: `machines[${spec.machines.indexOf(m)}] (${m.name})`,
      patch: machinePatch({ machine: m, contract, installImage: input.installImage, vip: spec.cluster.vip }),
    };
    const steps = [...netFor(role), ...patches.common, ...patches[role], own, ...(patches.machines[m.name] ?? []), ...net.last];
    return { name: m.name, role, docs: patchAndValidate(contract, generateBase(role, contract, secrets, opts), steps) };
  });
  const endpoints = talosEndpoints(spec);
  return {
    controlplane,
    worker,
    nodes,
    endpoints,
    talosconfig: renderTalosconfig(spec.metadata.name, endpoints, secrets.certs.os.crt, input.client),
    warnings: net.warnings,
  };
}
