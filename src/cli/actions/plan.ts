import { writePlan } from '../../pipeline/plan.js';
import { prepare } from '../../pipeline/prepare.js';
import { formatData } from '../format.js';
import { out, say, table } from '../output.js';

export async function plan(opts: { file: string; out: string; withSecrets?: boolean; secrets?: string; output: string }): Promise<void> {
  const prepared = prepare(opts.file);
  const stages = await writePlan(prepared, opts.out, { withSecrets: Boolean(opts.withSecrets), secretsFile: opts.secrets });
  const summary = stages.map((s) => ({ stage: s.stage, files: s.files.length, dir: `${opts.out}/${s.stage}/` }));
  const files = stages.flatMap((s) => s.files);
  if (opts.output === 'json' || opts.output === 'yaml') {
    out(formatData({ out: opts.out, stages: summary, files }, opts.output));
  } else {
    say(table(['STAGE', 'FILES', 'DIRECTORY'], summary.map((s) => [s.stage, String(s.files), s.dir])).trimEnd());
    say(`wrote ${files.length} files for ${prepared.loaded.spec.metadata.name} into ${opts.out}/`);
  }
}
