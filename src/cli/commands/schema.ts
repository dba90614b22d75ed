import type { Command } from 'commander';
import { lazy } from '../context.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of hearth.yaml (for editors; also shipped as schema/hearth.schema.json)')
    .addHelpText('after', '\nExample:\n  hearth schema > hearth.schema.json')
    .action(lazy(async () => (await import('../actions/schema.js')).schema));
}
