import type { Command } from 'commander';
import { lazy, withSpecFile } from '../context.js';

export function registerValidate(program: Command): void {
  withSpecFile(
    program
      .command('validate')
      .description('check hearth.yaml; print "valid" or every problem as FILE:LINE:COL path: message')
      .addHelpText('after', '\nExample:\n  hearth validate -f examples/hearth.yaml'),
  ).action(lazy(async () => (await import('../actions/validate.js')).validate));
}
