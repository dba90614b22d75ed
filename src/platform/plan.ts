/** The platform as a plan: the files `hearth plan` writes, and the waves `hearth platform plan` shows. Pure. */
import type { Artifact } from '../common/artifacts.js';
import type { LoadedSpec } from '../spec/index.js';
import { resolvePlatform, waves, type Resolution } from './resolve.js';
import { platformArtifacts, renderPlatform } from './render.js';

/** What `hearth plan` writes into DIR/platform/; `resolution` as already resolved, when it is. */
export async function planPlatform(loaded: LoadedSpec, resolution?: Resolution): Promise<Artifact[]> {
  const r = resolution ?? resolvePlatform(loaded.spec);
  return [...platformArtifacts(renderPlatform(r.components)), { path: 'waves.txt', content: formatWaves(r), description: 'reconcile order' }];
}

export interface PlanData {
  bundle: string;
  fluxVersion: string;
  waves: { wave: number; components: { name: string; namespace: string; chart: string; version: string; dependsOn: string[]; privileged: boolean }[] }[];
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
      })),
    })),
    warnings: r.warnings,
  };
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
  return lines.join('\n') + '\n';
}
