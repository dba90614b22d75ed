/**
 * From the spec's `platform:` section to the list of components to install, and the dependency
 * graph as waves. Pure: spec in, components + issues + warnings out.
 */
import type { Spec, SpecIssue } from '../spec/index.js';
import { didYouMean, net } from '../spec/index.js';
import { bundleComponents, type BundleName } from './bundles/index.js';
import { CATALOG, DEFAULT_FLUX_VERSION, INGRESS_CLASS, NS, catalogComponent } from './bundles/catalog.js';
import { provenanceOf } from './bundles/provenance.js';
import { nodeRequirements, type NodeRequirements } from './node-needs.js';
import type { RenderContext, ResolvedComponent, Values } from './types.js';

export interface Resolution {
  bundle: BundleName;
  ctx: RenderContext;
  components: ResolvedComponent[];
  /** Spec problems (unknown names, cycles, duplicates): any of them stops every command. */
  issues: SpecIssue[];
  /** Things worth saying that do not stop anything (dropped dependencies, skipped components). */
  warnings: string[];
  /** What the enabled components need from the nodes: the talos stage's input. */
  node: NodeRequirements;
}

export function renderContext(spec: Spec): RenderContext {
  const p = spec.platform;
  const off = (n: string): boolean => p.disable.includes(n) || (catalogComponent(n)?.partOf !== undefined && off(catalogComponent(n)!.partOf!));
  const enabled = bundleComponents(p.bundle).filter((n) => !off(n));
  const ctx: RenderContext = {
    podSubnets: spec.cluster.podSubnets,
    serviceSubnets: spec.cluster.serviceSubnets,
    loadBalancerAddresses: p.loadBalancer?.addresses ?? [],
    platformLoadBalancer: enabled.some((n) => catalogComponent(n)?.traits.includes('load-balancer')),
    fluxVersion: p.flux.version ?? DEFAULT_FLUX_VERSION,
    fluxOnHostNetwork: enabled.some((n) => catalogComponent(n)?.traits.includes('cni')),
  };
  // The ingress controller serves its class unless it is disabled or cannot run (its skip reads only the fields above).
  const ingress = catalogComponent('ingress-nginx');
  if (ingress && enabled.includes(ingress.name) && !ingress.skip?.(ctx)) ctx.ingressClass = INGRESS_CLASS;
  return ctx;
}

export function isPlainObject(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Helm's merge: maps merge key by key, everything else (lists, scalars) is replaced. */
export function deepMerge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

export function resolvePlatform(spec: Spec): Resolution {
  const p = spec.platform;
  const ctx = renderContext(spec);
  const issues: SpecIssue[] = [];
  const warnings: string[] = [];
  const inBundle = bundleComponents(p.bundle);
  const bundleSet = new Set(inBundle);

  // Names the spec may refer to: the bundle's components and the spec's own.
  const specNames = new Map<string, number>();
  p.components.forEach((c, i) => {
    const first = specNames.get(c.name);
    if (first !== undefined) {
      issues.push({ path: ['platform', 'components', i, 'name'], message: `duplicate component name ${c.name} (also platform.components[${first}])` });
    } else specNames.set(c.name, i);
  });
  const known = [...inBundle, ...specNames.keys()];
  const unknown = (name: string, where: string) => {
    const outside = catalogComponent(name) ? ` (not in bundle ${p.bundle})` : '';
    return `unknown component ${name}${outside}${outside ? '' : didYouMean(name, known)}${where}`;
  };

  (p.loadBalancer?.addresses ?? []).forEach((a, i) => {
    const why = addressProblem(a);
    if (why) issues.push({ path: ['platform', 'loadBalancer', 'addresses', i], message: why });
  });

  const disabled = new Set<string>();
  p.disable.forEach((name, i) => {
    if (bundleSet.has(name) || specNames.has(name)) disabled.add(name);
    else issues.push({ path: ['platform', 'disable', i], message: unknown(name, '') });
  });
  // A helper release goes with the component it serves.
  for (const name of inBundle) {
    const owner = catalogComponent(name)?.partOf;
    if (owner && disabled.has(owner)) disabled.add(name);
  }
  for (const name of Object.keys(p.values)) {
    if (!bundleSet.has(name) && !specNames.has(name)) issues.push({ path: ['platform', 'values', name], message: unknown(name, ''), atKey: true });
  }

  // Bundle components, then spec additions; overrides replace fields and merge values.
  const list: ResolvedComponent[] = [];
  for (const name of inBundle) {
    const def = catalogComponent(name)!;
    const base = typeof def.values === 'function' ? def.values(ctx) : def.values;
    const node = typeof def.node === 'function' ? def.node(ctx) : def.node;
    const provenance = provenanceOf(name);
    list.push({
      name,
      namespace: def.namespace,
      ...(def.releaseName ? { releaseName: def.releaseName } : {}),
      privileged: def.privileged,
      chart: { ...def.chart },
      // A bundle component's dependency on something outside the bundle simply goes (hosted variants).
      dependsOn: def.dependsOn.filter((d) => bundleSet.has(d)),
      values: base,
      source: def.source,
      traits: [...def.traits],
      ...(def.postRenderers ? { postRenderers: structuredClone(def.postRenderers) } : {}),
      ...(def.namespaceValue ? { namespaceValue: def.namespaceValue } : {}),
      ...(node ? { node } : {}),
      ...(def.crds ? { crds: def.crds } : {}),
      ...(provenance.length > 0 ? { provenance } : {}),
      origin: 'bundle',
    });
  }
  p.components.forEach((c, i) => {
    if (specNames.get(c.name) !== i) return; // a duplicate, reported above
    const existing = list.find((x) => x.name === c.name);
    if (existing) {
      existing.origin = 'override';
      existing.specIndex = i;
      if (c.namespace) existing.namespace = c.namespace;
      if (c.privileged !== undefined) existing.privileged = c.privileged;
      if (c.chart) existing.chart = { ...c.chart };
      if (c.dependsOn) existing.dependsOn = [...c.dependsOn];
      if (c.values) existing.values = deepMerge(existing.values, c.values);
      existing.source = `${existing.source}; overridden in platform.components[${i}]`;
      return;
    }
    if (!c.chart) {
      issues.push({ path: ['platform', 'components', i, 'chart'], message: `${c.name} is not a bundle component, so it needs a chart (repository, name, version)` });
      return;
    }
    list.push({
      name: c.name,
      namespace: c.namespace ?? `${NS}${c.name}`,
      privileged: c.privileged ?? false,
      chart: { ...c.chart },
      dependsOn: [...(c.dependsOn ?? [])],
      values: c.values ?? {},
      source: `platform.components[${i}] in the spec`,
      origin: 'spec',
      specIndex: i,
    });
  });
  for (const c of list) {
    const extra = p.values[c.name];
    // A chart that places its objects by a values key gets the release namespace there, unless the spec says otherwise.
    if (c.namespaceValue && !(isPlainObject(extra) && c.namespaceValue in extra)) c.values = { ...c.values, [c.namespaceValue]: c.namespace };
    if (extra) c.values = deepMerge(c.values, extra);
  }

  // Unknown dependencies (only the spec can name them: the catalog is checked by tests).
  const names = new Set(list.map((c) => c.name));
  for (const c of list) {
    if (c.specIndex === undefined) continue;
    c.dependsOn.forEach((d, k) => {
      if (!names.has(d)) {
        issues.push({ path: ['platform', 'components', c.specIndex!, 'dependsOn', k], message: unknown(d, ` in the dependsOn of ${c.name}`) });
      } else if (d === c.name) {
        issues.push({ path: ['platform', 'components', c.specIndex!, 'dependsOn', k], message: `cycle: ${c.name} -> ${c.name}` });
      }
    });
  }

  // Components that cannot run as configured are left out, like disabled ones.
  for (const c of list) {
    const def = c.origin === 'spec' ? undefined : catalogComponent(c.name);
    const why = def?.skip?.(ctx);
    if (why && !disabled.has(c.name)) {
      disabled.add(c.name);
      warnings.push(`${c.name} left out: ${why}`);
    }
  }
  const kept = list.filter((c) => !disabled.has(c.name));
  for (const gone of disabled) {
    const users = kept.filter((c) => c.dependsOn.includes(gone));
    if (users.length === 0) continue;
    for (const u of users) u.dependsOn = u.dependsOn.filter((d) => d !== gone);
    warnings.push(`${gone} is disabled: dropped from the dependsOn of ${users.map((u) => u.name).join(', ')}`);
  }

  warnings.push(...crdWarnings(kept, list));
  if (!issues.some((i) => i.message.startsWith('cycle:'))) issues.push(...cycleIssues(kept));
  return { bundle: p.bundle, ctx, components: kept, issues, warnings, node: nodeRequirements(kept).requirements };
}

/**
 * A component that renders objects of a CRD another component installs must come after it; when
 * that installer is left out, the objects fail unless the cluster has the CRD from elsewhere.
 */
function crdWarnings(kept: ResolvedComponent[], all: ResolvedComponent[]): string[] {
  const keptNames = new Set(kept.map((c) => c.name));
  const out: string[] = [];
  for (const c of kept) {
    for (const crd of c.crds?.uses ?? []) {
      const provider = all.find((x) => x.crds?.provides?.includes(crd));
      if (provider && !keptNames.has(provider.name)) out.push(`${c.name} renders ${crd} objects, whose CRD ${provider.name} installs, and ${provider.name} is left out: the cluster must have that CRD already`);
    }
  }
  return out;
}

/** MetalLB accepts a CIDR or a FIRST-LAST range of one address family. */
function addressProblem(a: string): string | undefined {
  if (a.includes('/')) return net.parseCidr(a) ? undefined : `${a} is not a CIDR (like 192.0.2.0/28) or a range (like 192.0.2.10-192.0.2.20)`;
  const [first, last, extra] = a.split('-').map((x) => x.trim());
  const f = first ? net.parseIp(first) : undefined;
  const l = last ? net.parseIp(last) : undefined;
  if (!f || !l || extra !== undefined) return `${a} is not a CIDR (like 192.0.2.0/28) or a range (like 192.0.2.10-192.0.2.20)`;
  if (f.family !== l.family) return `${a} mixes IPv4 and IPv6`;
  if (f.value > l.value) return `${a} ends before it starts`;
  return undefined;
}

/** Every dependency cycle once, as `cycle: a -> b -> a`, at the spec field that closes it. */
export function cycleIssues(components: ResolvedComponent[]): SpecIssue[] {
  const byName = new Map(components.map((c) => [c.name, c]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const issues: SpecIssue[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    state.set(name, 'visiting');
    stack.push(name);
    const c = byName.get(name)!;
    for (const d of c.dependsOn) {
      if (!byName.has(d)) continue;
      if (state.get(d) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(d)), d];
        const key = [...cycle.slice(0, -1)].sort().join(',');
        if (!seen.has(key)) {
          seen.add(key);
          issues.push({ path: cyclePath(cycle, byName), message: `cycle: ${cycle.join(' -> ')}` });
        }
      } else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const c of components) if (!state.has(c.name)) visit(c.name);
  return issues;
}

/** The spec field of the first edge in the cycle that the spec wrote. */
function cyclePath(cycle: string[], byName: Map<string, ResolvedComponent>): (string | number)[] {
  for (let i = 0; i < cycle.length - 1; i++) {
    const c = byName.get(cycle[i]!)!;
    if (c.specIndex !== undefined) {
      const k = c.dependsOn.indexOf(cycle[i + 1]!);
      return ['platform', 'components', c.specIndex, 'dependsOn', k];
    }
  }
  return ['platform', 'components'];
}

/**
 * The graph as waves: wave 1 has no dependencies, wave n depends only on earlier waves. Flux
 * reconciles a wave's releases in parallel once the previous waves are Ready. Assumes no cycles.
 */
export function waves(components: ResolvedComponent[]): ResolvedComponent[][] {
  const level = new Map<string, number>();
  const byName = new Map(components.map((c) => [c.name, c]));
  const depth = (name: string, guard: Set<string>): number => {
    const known = level.get(name);
    if (known !== undefined) return known;
    if (guard.has(name)) throw new Error(`cycle through ${name}`);
    guard.add(name);
    const c = byName.get(name)!;
    const d = Math.max(0, ...c.dependsOn.filter((x) => byName.has(x)).map((x) => depth(x, guard) + 1));
    guard.delete(name);
    level.set(name, d);
    return d;
  };
  const out: ResolvedComponent[][] = [];
  for (const c of components) {
    const d = depth(c.name, new Set());
    (out[d] ??= []).push(c);
  }
  return out.map((w) => [...w].sort((a, b) => a.name.localeCompare(b.name)));
}

export { CATALOG };
