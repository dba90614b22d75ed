import type { Command } from 'commander';
import { lazy } from '../context.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented example hearth.yaml (3 control planes with a VIP, 2 workers)')
    .argument('[DIR]', 'directory to write hearth.yaml into', '.')
    .option('--force', 'replace an existing hearth.yaml')
    .addHelpText('after', '\nExample:\n  hearth init mycloud && hearth validate -f mycloud/hearth.yaml')
    .action(lazy(async () => (await import('../actions/init.js')).init));
}
