import path from 'node:path';
import type { Command } from 'commander';
import { writeArtifacts, type Artifact } from '../../common/artifacts.js';
import { InputError } from '../../common/errors.js';
import { statSync } from 'node:fs';
import { exists, writeFileAtomic } from '../../common/fs.js';
import { configArtifacts, generateTalos, newSecrets, readSecretsFile, serializeSecrets } from '../../talos/index.js';
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

async function refuseOverwrite(dir: string, files: string[], force?: boolean): Promise<void> {
  if (force) return;
  for (const f of files) {
    if (await exists(path.join(dir, f))) throw new InputError(`${path.join(dir, f)} already exists; use --force to overwrite it`);
  }
}

export function registerTalos(program: Command): void {
  const talos = program
    .command('talos')
    .description('Talos secrets bundle, machine configs and talosconfig (what talosctl gen secrets / gen config make)');

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
    const file = path.join(opts.out, 'secrets.yaml');
    if (!opts.force && (await exists(file))) throw new InputError(`${file} already exists; use --force to replace it (every node config depends on it)`);
    const bundle = await newSecrets(loaded.spec);
    try {
      await writeFileAtomic(file, serializeSecrets(bundle), { mode: 0o600, exclusive: !opts.force });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InputError(`${file} already exists; use --force to replace it`);
      throw err;
    }
    report(opts, [{ file, mode: '0600', what: `Talos secrets bundle for ${loaded.spec.talos.version}` }], `wrote ${file}`);
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
    const secretsFile = opts.secrets ?? path.join(opts.out, 'secrets.yaml');
    const creating = !opts.secrets && !(await exists(secretsFile));
    const bundle = creating ? await newSecrets(loaded.spec) : readSecretsFile(secretsFile);
    if (!creating) {
      const mode = statSync(secretsFile).mode & 0o777;
      if (mode & 0o077) warn(`${secretsFile} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
    }
    // The platform stage decides the CNI and kube-proxy; the Talos configs follow it.
    const result = await generateTalos(loaded, bundle, new Date(), platformNetworking(loaded.spec));
    const artifacts: Artifact[] = configArtifacts(result);
    await refuseOverwrite(opts.out, artifacts.map((a) => a.path), opts.force);
    if (creating) await writeFileAtomic(secretsFile, serializeSecrets(bundle), { mode: 0o600, exclusive: true });
    await writeArtifacts(opts.out, artifacts);
    const rows = [
      ...(creating ? [{ file: secretsFile, mode: '0600', what: 'Talos secrets bundle (new)' }] : []),
      ...artifacts.map((a) => ({ file: path.join(opts.out, a.path), mode: '0600', what: a.description ?? '' })),
    ];
    report(
      opts,
      rows,
      `wrote ${artifacts.length} files for ${loaded.spec.metadata.name} (Talos ${result.contract.name}, installer ${result.installImage}); talosconfig endpoints: ${result.rendered.endpoints.join(', ')}`,
    );
  });
}
