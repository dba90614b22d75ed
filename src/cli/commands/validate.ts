import type { Command } from 'commander';
import { loadChecked, withSpecFile } from '../context.js';
import { out } from '../output.js';

export function registerValidate(program: Command): void {
  withSpecFile(
    program
      .command('validate')
      .description('check hearth.yaml; print "valid" or every problem as FILE:LINE:COL path: message')
      .addHelpText('after', '\nExample:\n  hearth validate -f examples/hearth.yaml'),
  ).action((opts: { file: string }) => {
    loadChecked(opts.file);
    out('valid');
  });
}
