import type { Command } from 'commander';
import { specJsonSchema } from '../../spec/index.js';
import { out } from '../output.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of hearth.yaml (for editors; also shipped as schema/hearth.schema.json)')
    .addHelpText('after', '\nExample:\n  hearth schema > hearth.schema.json')
    .action(() => {
      out(JSON.stringify(specJsonSchema(), null, 2));
    });
}
