/**
 * Flux on the host network, so it can start on a fresh Talos cluster that has no CNI yet
 * (`cni: none`: Cilium and Kube-OVN are releases Flux itself installs).
 *
 * What a pod needs to run before the CNI exists, and what Flux's controllers need on top:
 *  - `hostNetwork: true`: no pod network is needed;
 *  - tolerations for the taints a node carries until its network is ready
 *    (node.kubernetes.io/not-ready, …/network-unavailable, the cloud-provider and Cilium agent
 *    taints) and for control-plane nodes, which are all the nodes a fresh cluster may have;
 *  - the API server through KubePrism (KUBERNETES_SERVICE_HOST=localhost, _PORT=7445): there is
 *    no kube-proxy (Cilium replaces it), so the `kubernetes` Service IP leads nowhere yet;
 *  - `dnsPolicy: Default` (the node's resolver): cluster DNS needs CoreDNS, which needs the CNI,
 *    and source-controller must resolve the chart repositories to fetch the CNI's chart;
 *  - distinct ports: on the host network every controller's metrics and health ports (all :8080
 *    and :9440 upstream, :9090 for both source- and notification-controller) share the node's
 *    port space; the numbers below are flux-aio's (stefanprodan/flux-aio), which runs Flux the
 *    same way, and stay clear of flux-operator's 8080/8081/9080;
 *  - artifacts served at the node's address (`--storage-adv-addr=$(HOST_IP):9790`), since
 *    helm-controller cannot resolve `source-controller.<ns>.svc` without cluster DNS;
 *  - events sent to notification-controller's Service IP, taken from the Service environment
 *    variables the kubelet sets (no DNS needed; delivered once the CNI serves Service IPs);
 *  - `strategy: Recreate`: a host-network pod's ports are host ports, so a surge pod could never
 *    start on the node the old one occupies (single-node clusters would stall every upgrade).
 *
 * The same settings are expressed twice, from one table: as a pure transform of Flux's
 * install.yaml (what `hearth platform install` applies) and as the FluxInstance kustomize patches
 * of the `fluxcd` release (so the operator's takeover keeps Flux on the host network).
 */
import { stringify } from 'yaml';
import type { KubeObject } from './types.js';

/** Talos KubePrism: the API server on every node at localhost:7445 (machine.features.kubePrism). */
export const KUBEPRISM = { host: 'localhost', port: 7445 } as const;

/** Taints a node has before its network is up, plus control-plane nodes. */
export const PRE_CNI_TOLERATIONS: { key: string; operator: 'Exists'; effect?: string }[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists' },
  { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists' },
  { key: 'node.cloudprovider.kubernetes.io/uninitialized', operator: 'Exists' },
  { key: 'node.cilium.io/agent-not-ready', operator: 'Exists' },
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
];

export interface ControllerNet {
  /** Container ports by name (the names upstream's probes and Services refer to). */
  ports: Record<string, number>;
  /** Flags set (flag name without `--` -> value). */
  flags: Record<string, string>;
  /** Whether the container needs HOST_IP (the node address). */
  hostIp?: boolean;
}

const EVENTS_VIA_SERVICE_ENV = 'http://$(NOTIFICATION_CONTROLLER_SERVICE_HOST):$(NOTIFICATION_CONTROLLER_SERVICE_PORT)/';

function metricsHealth(metrics: number, health: number, events = true): ControllerNet {
  return {
    ports: { 'http-prom': metrics, healthz: health },
    flags: { 'metrics-addr': `:${metrics}`, 'health-addr': `:${health}`, ...(events ? { 'events-addr': EVENTS_VIA_SERVICE_ENV } : {}) },
  };
}

/** Per Flux controller: its host ports and flags. */
export const FLUX_CONTROLLERS: Record<string, ControllerNet> = {
  'source-controller': {
    ports: { http: 9790, 'http-prom': 9791, healthz: 9792 },
    flags: {
      'storage-addr': ':9790',
      'metrics-addr': ':9791',
      'health-addr': ':9792',
      'storage-adv-addr': '$(HOST_IP):9790',
      'events-addr': EVENTS_VIA_SERVICE_ENV,
    },
    hostIp: true,
  },
  'kustomize-controller': metricsHealth(9793, 9794),
  'helm-controller': metricsHealth(9795, 9796),
  'notification-controller': {
    ports: { http: 9690, 'http-webhook': 9797, 'http-prom': 9798, healthz: 9799 },
    flags: { 'events-addr': ':9690', receiverAddr: ':9797', 'metrics-addr': ':9798', 'health-addr': ':9799' },
  },
  'image-reflector-controller': metricsHealth(9800, 9801),
  'image-automation-controller': metricsHealth(9802, 9803),
};

/** The core components hearth runs (what `flux install` installs by default). */
export const FLUX_COMPONENTS = ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller'] as const;

type Json = Record<string, unknown>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

function envFor(net: ControllerNet): EnvVar[] {
  return [
    { name: 'KUBERNETES_SERVICE_HOST', value: KUBEPRISM.host },
    { name: 'KUBERNETES_SERVICE_PORT', value: String(KUBEPRISM.port) },
    ...(net.hostIp ? [{ name: 'HOST_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIP' } } }] : []),
  ];
}

function flagName(arg: string): string | undefined {
  const m = /^--([^=]+)(=|$)/.exec(arg);
  return m?.[1];
}

/** Sets each flag in place (the last occurrence wins, as for Go's pflag), appending missing ones. */
export function setFlags(args: string[], flags: Record<string, string>): string[] {
  const out = [...args];
  for (const [name, value] of Object.entries(flags)) {
    const arg = `--${name}=${value}`;
    let at = -1;
    out.forEach((a, i) => {
      if (flagName(a) === name) at = i;
    });
    if (at >= 0) {
      // Drop earlier duplicates so the flag appears once.
      for (let i = out.length - 1; i >= 0; i--) if (i !== at && flagName(out[i]!) === name) out.splice(i, 1);
      out[out.findIndex((a) => flagName(a) === name)] = arg;
    } else out.push(arg);
  }
  return out;
}

/** The effective value of each flag (last occurrence wins). */
export function effectiveFlags(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const n = flagName(a);
    if (n) out[n] = a.includes('=') ? a.slice(a.indexOf('=') + 1) : 'true';
  }
  return out;
}

/** The container ports: hearth's numbers under upstream's names (probes and Services refer to the names), in table order. */
function portsFor(net: ControllerNet, upstream: { name?: string; containerPort: number }[] | undefined) {
  const out = Object.entries(net.ports).map(([name, containerPort]) => ({ containerPort, name, protocol: 'TCP' }));
  for (const p of upstream ?? []) {
    if (p.name && !(p.name in net.ports)) out.push({ containerPort: p.containerPort, name: p.name, protocol: 'TCP' });
  }
  return out;
}

function mergeTolerations(existing: Json[] | undefined): Json[] {
  const out = [...(existing ?? [])];
  for (const t of PRE_CNI_TOLERATIONS) {
    if (!out.some((e) => e.key === t.key && (e.effect ?? undefined) === (t.effect ?? undefined))) out.push({ ...t });
  }
  return out;
}

/** The controller settings for a Deployment name, with a fallback for controllers hearth does not know. */
export function controllerNet(name: string, index = 0): ControllerNet {
  return FLUX_CONTROLLERS[name] ?? metricsHealth(9810 + 2 * index, 9811 + 2 * index);
}

function transformDeployment(d: KubeObject, net: ControllerNet): KubeObject {
  const o = structuredClone(d) as KubeObject & { spec: Json };
  const spec = (o.spec ??= {}) as Json;
  spec.strategy = { type: 'Recreate' };
  const template = (spec.template ??= {}) as Json;
  const pod = (template.spec ??= {}) as Json;
  pod.hostNetwork = true;
  pod.dnsPolicy = 'Default';
  pod.tolerations = mergeTolerations(pod.tolerations as Json[] | undefined);
  const containers = (pod.containers as Json[] | undefined) ?? [];
  if (containers.length > 0) {
    const c = containers[0]!;
    c.args = setFlags((c.args as string[] | undefined) ?? [], net.flags);
    const env = ((c.env as EnvVar[] | undefined) ?? []).filter((e) => !envFor(net).some((x) => x.name === e.name));
    c.env = [...env, ...envFor(net)];
    c.ports = portsFor(net, c.ports as { name?: string; containerPort: number }[] | undefined);
  }
  return o;
}

/**
 * Flux's install manifests (already in hearth's namespace) made to run on the host network.
 * Pure: returns new objects. Deployments get the settings above; the namespace gets Pod
 * Security `privileged` (host-network pods are refused under Talos's default `baseline`).
 */
export function fluxOnHostNetwork(objects: KubeObject[], namespace: string): KubeObject[] {
  let unknown = 0;
  return objects.map((o) => {
    if (o.kind === 'Namespace' && o.metadata.name === namespace) {
      const n = structuredClone(o);
      n.metadata.labels = { ...(n.metadata.labels ?? {}), 'pod-security.kubernetes.io/enforce': 'privileged' };
      return n;
    }
    if (o.kind === 'Deployment' && o.apiVersion === 'apps/v1' && (o.metadata.namespace ?? namespace) === namespace) {
      const net = FLUX_CONTROLLERS[o.metadata.name] ?? controllerNet(o.metadata.name, unknown++);
      return transformDeployment(o, net);
    }
    return o;
  });
}

export interface KustomizePatch {
  target: { kind: string; name: string };
  patch: string;
}

/** One RFC 6902 operation. */
export interface JsonPatchOp {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}

/**
 * The same settings as JSON 6902 operations on a Flux Deployment as flux-operator renders it
 * (one container, env and args present, as in every Flux release): flags are appended (the
 * last occurrence wins), the port list is replaced with the same names and hearth's numbers.
 */
export function hostNetworkOps(controller: string): JsonPatchOp[] {
  const net = controllerNet(controller);
  const pod = '/spec/template/spec';
  const c = `${pod}/containers/0`;
  return [
    { op: 'add', path: '/spec/strategy', value: { type: 'Recreate' } },
    { op: 'add', path: `${pod}/hostNetwork`, value: true },
    { op: 'add', path: `${pod}/dnsPolicy`, value: 'Default' },
    { op: 'add', path: `${pod}/tolerations`, value: mergeTolerations(undefined) },
    ...envFor(net).map((e): JsonPatchOp => ({ op: 'add', path: `${c}/env/-`, value: e })),
    ...Object.entries(net.flags).map(([k, v]): JsonPatchOp => ({ op: 'add', path: `${c}/args/-`, value: `--${k}=${v}` })),
    { op: 'replace', path: `${c}/ports`, value: portsFor(net, undefined) },
  ];
}

/** FluxInstance `spec.kustomize.patches`: one JSON 6902 patch per controller Deployment. */
export function fluxInstancePatches(components: readonly string[] = FLUX_COMPONENTS): KustomizePatch[] {
  return components.map((name) => ({
    target: { kind: 'Deployment', name },
    patch: stringify(hostNetworkOps(name), { lineWidth: 0 }),
  }));
}
