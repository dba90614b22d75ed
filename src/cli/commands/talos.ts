import type { Command } from 'commander';
import { writeConfigs, writeSecrets } from '../../talos/index.js';
import { platformNetworking } from '../../platform/index.js';
import { loadChecked, withOutput, withSpecFile } from '../context.js';
import { formatData, out, say, table, warn } from '../output.js';

interface Common {
  file: string;
  out: string;
  force?: boolean;
  output: string;
}

function report(opts: Common, rows: { file: string; mode: string; what: string }[], summary: string): void {
  if (opts.output === 'json' || opts.output === 'yaml') {
    out(formatData({ out: opts.out, files: rows }, opts.output));
    return;
  }
  say(table(['FILE', 'MODE', 'WHAT'], rows.map((r) => [r.file, r.mode, r.what])).trimEnd());
  say(summary);
}

export function registerTalos(program: Command): void {
  const talos = program
    .command('talos')
    .description('stage 3: Talos secrets bundle, machine configs and talosconfig (what talosctl gen secrets / gen config make)')
    .addHelpText('after', '\nExamples:\n  hearth talos secrets -f hearth.yaml --out cluster/\n  hearth talos config -f hearth.yaml --out cluster/');

  withOutput(
    withSpecFile(
      talos
        .command('secrets')
        .description('write a new Talos secrets bundle DIR/secrets.yaml (talosctl format, mode 0600; never printed)')
        .option('--out <DIR>', 'output directory', '.')
        .option('--force', 'overwrite an existing secrets.yaml')
        .addHelpText('after', '\nExample:\n  hearth talos secrets -f hearth.yaml --out cluster/'),
    ),
  ).action(async (opts: Common) => {
    const loaded = loadChecked(opts.file);
    const written = await writeSecrets(loaded.spec, opts.out, { force: opts.force });
    report(opts, [written], `wrote ${written.file}`);
  });

  withOutput(
    withSpecFile(
      talos
        .command('config')
        .description('write controlplane.yaml, worker.yaml, talosconfig and nodes/<machine>.yaml (all mode 0600)')
        .option('--out <DIR>', 'output directory', '.')
        .option('--secrets <FILE>', 'secrets bundle (default: DIR/secrets.yaml, created there when missing)')
        .option('--force', 'overwrite existing config files')
        .addHelpText(
          'after',
          '\nPatches from cluster.patches and machines[].patches are applied in that order: common, role, the\n' +
            "machine's own settings, machine patches. Nothing is written if any config fails to validate.\n" +
            '\nExamples:\n  hearth talos config -f hearth.yaml --out cluster/\n  hearth talos config --secrets secrets.yaml --out cluster/ --force',
        ),
    ),
  ).action(async (opts: Common & { secrets?: string }) => {
    const loaded = loadChecked(opts.file);
    // The platform stage decides the CNI and kube-proxy; the Talos configs follow it.
    const { files, result, warnings } = await writeConfigs(loaded, {
      out: opts.out,
      secretsFile: opts.secrets,
      force: opts.force,
      networking: platformNetworking(loaded.spec),
    });
    for (const w of warnings) warn(w);
    report(
      opts,
      files,
      `wrote ${files.length} files for ${loaded.spec.metadata.name} (Talos ${result.contract.name}, installer ${result.installImage}); talosconfig endpoints: ${result.rendered.endpoints.join(', ')}`,
    );
  });
}
