import type { Command } from 'commander';
import { under, writeArtifacts, type Artifact } from '../../common/artifacts.js';
import { planImage } from '../../image/index.js';
import { planNetboot } from '../../netboot/index.js';
import { planTalos } from '../../talos/index.js';
import { planPlatform, platformNetworking } from '../../platform/index.js';
import { loadChecked, withOutput, withSpecFile } from '../context.js';
import { formatData, out, say, table } from '../output.js';

export function registerPlan(program: Command): void {
  withOutput(
    withSpecFile(
      program
        .command('plan')
        .description('render every stage into DIR/<stage>/: image profiles and schematic, netboot scripts, Talos configs, Flux objects')
        .requiredOption('--out <DIR>', 'output directory')
        .option('--with-secrets', 'also write the Talos secrets bundle and talosconfig (mode 0600)')
        .option('--secrets <FILE>', 'use this Talos secrets bundle instead of generating one')
        .addHelpText('after', '\nExamples:\n  hearth plan -f examples/hearth.yaml --out out\n  hearth plan --out out --with-secrets -o json'),
    ),
  ).action(async (opts: { file: string; out: string; withSecrets?: boolean; secrets?: string; output: string }) => {
    const loaded = loadChecked(opts.file);
    // Render everything in memory first: a failure in any stage writes nothing.
    const stages: [string, Artifact[]][] = [
      ['image', await planImage(loaded)],
      ['netboot', await planNetboot(loaded)],
      [
        'talos',
        await planTalos(loaded, { withSecrets: Boolean(opts.withSecrets), secretsFile: opts.secrets, networking: platformNetworking(loaded.spec) }),
      ],
      ['platform', await planPlatform(loaded)],
    ];
    const all = stages.flatMap(([name, list]) => under(name, list));
    await writeArtifacts(opts.out, all);
    const summary = stages.map(([name, list]) => ({ stage: name, files: list.length, dir: `${opts.out}/${name}/` }));
    if (opts.output === 'json' || opts.output === 'yaml') {
      out(formatData({ out: opts.out, stages: summary, files: all.map((a) => a.path) }, opts.output));
    } else {
      say(table(['STAGE', 'FILES', 'DIRECTORY'], summary.map((s) => [s.stage, String(s.files), s.dir])).trimEnd());
      say(`wrote ${all.length} files for ${loaded.spec.metadata.name} into ${opts.out}/`);
    }
  });
}
