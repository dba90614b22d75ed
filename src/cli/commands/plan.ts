import type { Command } from 'commander';
import { lazy, withOutput, withSpecFile } from '../context.js';

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
  ).action(lazy(async () => (await import('../actions/plan.js')).plan));
}
