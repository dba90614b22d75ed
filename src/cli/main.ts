#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { errorMessage, exitCodeFor, InputError } from '../common/errors.js';
import { paint } from './output.js';
import { registerInit } from './commands/init.js';
import { registerValidate } from './commands/validate.js';
import { registerPlan } from './commands/plan.js';
import { registerSchema } from './commands/schema.js';
import { registerImage } from './commands/image.js';
import { registerNetboot } from './commands/netboot.js';
import { registerTalos } from './commands/talos.js';
import { registerMachines } from './commands/machines.js';
import { registerPlatform } from './commands/platform.js';
import { registerBootstrap } from './commands/bootstrap.js';
import { registerUp } from './commands/up.js';
import { registerLab } from './commands/lab.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('hearth')
    .description('Turn a rack of bare-metal servers into your own Kubernetes cloud, from one hearth.yaml.')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .addHelpText(
      'after',
      '\nThe pipeline: image -> netboot -> talos -> platform. Start with `hearth init`, then `hearth plan --out out`.\nExit codes: 0 ok, 1 failure, 2 invalid input.',
    );
  registerInit(program);
  registerValidate(program);
  registerPlan(program);
  registerImage(program);
  registerNetboot(program);
  registerTalos(program);
  registerMachines(program);
  registerBootstrap(program);
  registerUp(program);
  registerPlatform(program);
  registerLab(program);
  registerSchema(program);
  // Every command, however deep, reports usage errors through us with exit code 2.
  const configure = (cmd: Command) => {
    cmd.exitOverride().configureOutput({ outputError: (str, write) => write(paint('red', str.trimEnd()) + '\n') });
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 2.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    report(err);
    return exitCodeFor(err);
  }
}

function report(err: unknown): void {
  const lines = [`${paint('red', 'error:')} ${errorMessage(err)}`];
  if (err instanceof InputError) lines.push(...err.details.map((d) => `  ${d}`));
  if (process.env.HEARTH_DEBUG && err instanceof Error && err.stack) lines.push(err.stack);
  process.stderr.write(lines.join('\n') + '\n');
}

// A reader that went away (`hearth ... | head`) ends the command quietly, as it does for other CLIs.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    report(err);
    process.exitCode = 1;
  },
);
