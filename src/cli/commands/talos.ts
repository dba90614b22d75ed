import type { Command } from 'commander';
import { lazy, withOutput, withSpecFile } from '../context.js';
import { registerTalosDiscover } from './talos-discover.js';
import { registerTalosDay2 } from './talos-day2.js';

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
  ).action(lazy(async () => (await import('../actions/talos.js')).secrets));

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
  ).action(lazy(async () => (await import('../actions/talos.js')).config));
  registerTalosDiscover(talos);
  registerTalosDay2(talos);
}
