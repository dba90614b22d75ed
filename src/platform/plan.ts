/** The platform as a plan: the files `hearth plan` writes, and the waves `hearth platform plan` shows. Pure. */
import type { Artifact } from '../common/artifacts.js';
import type { LoadedSpec } from '../spec/index.js';
import type { NodeRequirements } from './node-needs.js';
import { resolvePlatform, waves, type Resolution } from './resolve.js';
import type { Provenance } from './types.js';
import { platformArtifacts, renderPlatform } from './render.js';

/** What `hearth plan` writes into DIR/platform/; `resolution` as already resolved, when it is. */
export async function planPlatform(loaded: LoadedSpec, resolution?: Resolution): Promise<Artifact[]> {
  const r = resolution ?? resolvePlatform(loaded.spec);
  return [
    ...platformArtifacts(renderPlatform(r.components)),
    { path: 'waves.txt', content: formatWaves(r), description: 'reconcile order' },
    { path: 'provenance.txt', content: formatProvenance(r), description: 'where each pin was checked upstream' },
  ];
}

export interface PlanComponent {
  name: string;
  namespace: string;
  chart: string;
  version: string;
  dependsOn: string[];
  privileged: boolean;
  /** The upstream files the chart version and value keys were checked against. */
  provenance: readonly Provenance[];
}

export interface PlanData {
  bundle: string;
  fluxVersion: string;
  waves: { wave: number; components: PlanComponent[] }[];
  /** What the enabled components need from the nodes (the Talos configs carry it). */
  node: NodeRequirements;
  warnings: string[];
}

export function planData(r: Resolution): PlanData {
  return {
    bundle: r.bundle,
    fluxVersion: r.ctx.fluxVersion,
    waves: waves(r.components).map((w, i) => ({
      wave: i + 1,
      components: w.map((c) => ({
        name: c.name,
        namespace: c.namespace,
        chart: `${c.chart.repository.replace(/\/+$/, '')}/${c.chart.name}`,
        version: c.chart.version,
        dependsOn: c.dependsOn,
        privileged: c.privileged,
        provenance: c.provenance ?? [],
      })),
    })),
    node: r.node,
    warnings: r.warnings,
  };
}

/** The node needs as lines: one per kind of setting. */
function nodeLines(n: NodeRequirements): string[] {
  const by = (l: readonly { for: readonly string[] }[], f: (x: any) => string) => l.map((x) => `${f(x)} (${x.for.join(', ')})`).join('; ');
  const out: string[] = [];
  if (n.kernelModules.length) out.push(`  kernel modules: ${by(n.kernelModules, (k) => [k.name, ...k.parameters].join(' '))}`);
  if (n.cri.length) out.push(`  CRI: ${by(n.cri, (s) => `${s.key} = ${String(s.value)}`)}`);
  if (n.sysctls.length) out.push(`  sysctls: ${by(n.sysctls, (s) => `${s.key}=${s.value}`)}`);
  if (n.extensions.length) out.push(`  extensions: ${by(n.extensions, (x) => x.name)}`);
  if (n.nodeOnlyPorts.length) out.push(`  node-only ports: ${by(n.nodeOnlyPorts, (p) => `${p.protocol}/${p.port} ${p.what}`)}`);
  return out;
}

/** Where each pin was checked: one line per upstream file, weak evidence said so. */
export function formatProvenance(r: Resolution): string {
  const lines = ['where each chart version and value key was checked (repository, file, ref):'];
  for (const c of [...r.components].sort((a, b) => a.name.localeCompare(b.name))) {
    const list = c.provenance ?? [];
    if (list.length === 0) {
      lines.push(`  ${c.name}: ${c.origin === 'spec' ? 'from the spec' : 'no record'}`);
      continue;
    }
    lines.push(`  ${c.name}:`);
    for (const p of list) {
      lines.push(`    ${p.repo} ${p.path} @ ${p.ref}: ${p.checks}`);
      if (p.weak) lines.push(`      WEAK: ${p.weak}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The waves as text: one block per wave, one line per component. */
export function formatWaves(r: Resolution): string {
  const d = planData(r);
  const all = d.waves.flatMap((w) => w.components);
  const nameW = Math.max(0, ...all.map((c) => c.name.length));
  const nsW = Math.max(0, ...all.map((c) => c.namespace.length));
  const chartW = Math.max(0, ...all.map((c) => `${c.chart.split('/').pop()}@${c.version}`.length));
  const lines = [`bundle ${d.bundle}, Flux ${d.fluxVersion}: ${r.components.length} components in ${d.waves.length} waves`];
  for (const w of d.waves) {
    lines.push('', `wave ${w.wave} (${w.components.length} in parallel${w.wave > 1 ? ', after earlier waves' : ''}):`);
    for (const c of w.components) {
      const deps = c.dependsOn.length > 0 ? `  after ${c.dependsOn.join(', ')}` : '';
      const chart = `${c.chart.split('/').pop()}@${c.version}`;
      lines.push(`  ${c.name.padEnd(nameW)}  ${c.namespace.padEnd(nsW)}  ${chart.padEnd(chartW)}  ${c.privileged ? 'privileged' : '          '}${deps}`.trimEnd());
    }
  }
  const node = nodeLines(d.node);
  if (node.length > 0) lines.push('', 'the Talos configs give the nodes:', ...node);
  return lines.join('\n') + '\n';
}
