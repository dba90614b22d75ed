/**
 * Runs the `talos discover` command module as its own process, the way main.ts will once the lead
 * registers it (one line per error, exit 2 for bad input, 1 for failures).
 */
import { Command } from 'commander';
import { errorMessage, exitCodeFor } from '../../../src/common/errors.js';
import { registerTalosDiscover } from '../../../src/cli/commands/talos-discover.js';

const program = new Command('hearth').exitOverride();
registerTalosDiscover(program.command('talos'));
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (err) {
  process.stderr.write(`error: ${errorMessage(err)}\n`);
  process.exitCode = exitCodeFor(err);
}
