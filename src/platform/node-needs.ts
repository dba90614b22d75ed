/**
 * What platform components need from the nodes they run on, and the sum of those needs over the
 * enabled components: the talos stage turns that sum into machine-config patches (talos/render.ts
 * platformPatches), so the platform and the Talos configs cannot disagree. Pure.
 */

/** A kernel module a node loads at boot (Talos machine.kernel.modules[]). */
export interface KernelModule {
  /** The module's name as modprobe knows it (drbd, openvswitch). */
  readonly name: string;
  /** Module parameters, each `key=value` (usermode_helper=disabled). */
  readonly parameters?: readonly string[];
}

/** One containerd CRI runtime setting (a key of the CRI runtime plugin table). */
export interface CriSetting {
  /** The key in the CRI runtime table (device_ownership_from_security_context). */
  readonly key: string;
  /** Its TOML value. */
  readonly value: boolean | number | string;
}

/** A host port a component listens on that must be reachable from the cluster's nodes only. */
export interface NodeOnlyPort {
  /** A port or an inclusive range `FIRST-LAST`, as Talos' NetworkRuleConfig takes them. */
  readonly port: number | string;
  readonly protocol: 'tcp' | 'udp';
  /** What listens there, for the rule's documentation. */
  readonly what: string;
}

/** What one component needs from every node; each part becomes a Talos machine-config setting. */
export interface NodeNeeds {
  /** Kernel modules to load at boot, with their parameters (machine.kernel.modules). */
  readonly kernelModules?: readonly KernelModule[];
  /** containerd CRI runtime settings (machine.files /etc/cri/conf.d/20-customization.part). */
  readonly cri?: readonly CriSetting[];
  /** Kernel parameters (machine.sysctls). */
  readonly sysctls?: Readonly<Record<string, string>>;
  /** Talos system extensions the image must carry (image.extensions), by name: drbd, zfs. */
  readonly extensions?: readonly string[];
  /** Unauthenticated host ports to close to everything but the nodes (Talos ingress firewall). */
  readonly nodeOnlyPorts?: readonly NodeOnlyPort[];
}

/** A need with the components that asked for it. */
export type Asked<T> = T & { readonly for: readonly string[] };

/** The needs of all enabled components, merged; each entry names the components that need it. */
export interface NodeRequirements {
  readonly kernelModules: readonly Asked<{ name: string; parameters: readonly string[] }>[];
  readonly cri: readonly Asked<CriSetting>[];
  readonly sysctls: readonly Asked<{ key: string; value: string }>[];
  readonly extensions: readonly Asked<{ name: string }>[];
  readonly nodeOnlyPorts: readonly Asked<NodeOnlyPort>[];
}

export const NO_REQUIREMENTS: NodeRequirements = { kernelModules: [], cri: [], sysctls: [], extensions: [], nodeOnlyPorts: [] };

/** Two components asking for different values of one setting: the catalog or the spec is wrong. */
export interface NeedConflict {
  what: string;
  message: string;
}

/**
 * Sums the needs of the given components (in their order). A module asked for twice gets the
 * union of its parameters; a CRI setting or sysctl asked for with two values is a conflict.
 */
export function nodeRequirements(components: readonly { name: string; node?: NodeNeeds }[]): { requirements: NodeRequirements; conflicts: NeedConflict[] } {
  const modules = new Map<string, { name: string; parameters: string[]; for: string[] }>();
  const cri = new Map<string, { key: string; value: CriSetting['value']; for: string[] }>();
  const sysctls = new Map<string, { key: string; value: string; for: string[] }>();
  const extensions = new Map<string, { name: string; for: string[] }>();
  const ports = new Map<string, { port: number | string; protocol: 'tcp' | 'udp'; what: string; for: string[] }>();
  const conflicts: NeedConflict[] = [];
  const add = <T extends { for: string[] }>(m: Map<string, T>, key: string, fresh: () => T, who: string, same?: (e: T) => string | undefined) => {
    const e = m.get(key);
    if (!e) return void m.set(key, { ...fresh(), for: [who] });
    const clash = same?.(e);
    if (clash) conflicts.push({ what: key, message: clash });
    else if (!e.for.includes(who)) e.for.push(who);
  };
  for (const c of components) {
    const n = c.node;
    if (!n) continue;
    for (const k of n.kernelModules ?? []) {
      add(modules, k.name, () => ({ name: k.name, parameters: [...(k.parameters ?? [])], for: [] }), c.name);
      const e = modules.get(k.name)!;
      for (const p of k.parameters ?? []) if (!e.parameters.includes(p)) e.parameters.push(p);
    }
    for (const s of n.cri ?? []) {
      add(cri, s.key, () => ({ key: s.key, value: s.value, for: [] }), c.name, (e) =>
        e.value === s.value ? undefined : `CRI setting ${s.key}: ${e.for.join(', ')} needs ${String(e.value)}, ${c.name} needs ${String(s.value)}`,
      );
    }
    for (const [key, value] of Object.entries(n.sysctls ?? {})) {
      add(sysctls, key, () => ({ key, value, for: [] }), c.name, (e) =>
        e.value === value ? undefined : `sysctl ${key}: ${e.for.join(', ')} needs ${e.value}, ${c.name} needs ${value}`,
      );
    }
    for (const x of n.extensions ?? []) add(extensions, x, () => ({ name: x, for: [] }), c.name);
    for (const p of n.nodeOnlyPorts ?? []) add(ports, `${p.protocol}/${p.port}`, () => ({ ...p, for: [] }), c.name);
  }
  return {
    requirements: {
      kernelModules: [...modules.values()],
      cri: [...cri.values()],
      sysctls: [...sysctls.values()].sort((a, b) => a.key.localeCompare(b.key)),
      extensions: [...extensions.values()],
      nodeOnlyPorts: [...ports.values()],
    },
    conflicts,
  };
}
