import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../common/errors.js';
import { exists, writeFileAtomic } from '../../common/fs.js';
import { say } from '../output.js';

/** The bundled example: `hearth init` writes exactly this file. */
export function exampleSpec(): string {
  for (const rel of ['../../../examples/hearth.yaml', '../../../../examples/hearth.yaml']) {
    try {
      return readFileSync(new URL(rel, import.meta.url), 'utf8');
    } catch {
      // try the next layout (src/ under tsx, dist/src/ when built)
    }
  }
  throw new Error('the bundled examples/hearth.yaml is missing from this installation');
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented example hearth.yaml (3 control planes with a VIP, 2 workers)')
    .argument('[DIR]', 'directory to write hearth.yaml into', '.')
    .option('--force', 'replace an existing hearth.yaml')
    .addHelpText('after', '\nExample:\n  hearth init mycloud && hearth validate -f mycloud/hearth.yaml')
    .action(async (dir: string, opts: { force?: boolean }) => {
      const target = path.join(dir, 'hearth.yaml');
      if (!opts.force && (await exists(target))) {
        throw new InputError(`${target} already exists (use --force to replace it)`);
      }
      const text = exampleSpec().replace(/^# yaml-language-server:.*\n/m, '');
      await writeFileAtomic(target, text, { mode: 0o644 });
      say(`wrote ${target}; next: hearth validate -f ${target}`);
    });
}
