/**
 * `hearth plan`: every stage rendered from one prepared spec into DIR/<stage>/. Everything is
 * rendered in memory first, so a failure in any stage writes nothing.
 */
import { under, writeArtifacts, type Artifact } from '../common/artifacts.js';
import { planImage } from '../image/index.js';
import { planNetboot } from '../netboot/index.js';
import { planPlatform } from '../platform/plan.js';
import { planTalos } from '../talos/index.js';
import type { Prepared } from './prepare.js';

export type StageName = 'image' | 'netboot' | 'talos' | 'platform';

export interface PlanOptions {
  /** Write the real Talos configs, talosconfig and secrets bundle (else the configs, redacted). */
  withSecrets: boolean;
  /** The Talos secrets bundle to use instead of a new one. */
  secretsFile?: string;
}

/** Each stage's files, paths relative to its own directory. */
export async function planStages(p: Prepared, opts: PlanOptions): Promise<{ stage: StageName; files: Artifact[] }[]> {
  return [
    { stage: 'image', files: await planImage(p.loaded) },
    { stage: 'netboot', files: await planNetboot(p.loaded) },
    { stage: 'talos', files: await planTalos(p.loaded, { ...p.talos, ...opts }) },
    { stage: 'platform', files: await planPlatform(p.loaded, p.platform) },
  ];
}

/** Renders every stage and writes DIR/<stage>/...; returns what each stage wrote (paths relative to DIR). */
export async function writePlan(p: Prepared, dir: string, opts: PlanOptions): Promise<{ stage: StageName; files: string[] }[]> {
  const stages = (await planStages(p, opts)).map((s) => ({ stage: s.stage, files: under(s.stage, s.files) }));
  await writeArtifacts(dir, stages.flatMap((s) => s.files));
  return stages.map((s) => ({ stage: s.stage, files: s.files.map((a) => a.path) }));
}
