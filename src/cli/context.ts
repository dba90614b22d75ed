/**
 * What every command definition shares. Command definitions (./commands) load only commander and
 * this: each command's code is in ./actions and is imported when that command runs, so
 * `hearth --help` and `hearth validate` load nothing they do not use (test/cli/startup.test.ts).
 */
import { Option, type Command } from 'commander';

export const DEFAULT_SPEC = 'hearth.yaml';

/** `-f, --file FILE`, on every command that reads the spec. */
export function withSpecFile(cmd: Command): Command {
  return cmd.option('-f, --file <FILE>', 'the spec', DEFAULT_SPEC);
}

/** `-o, --output FORMAT`, on every command whose output is data. */
export function withOutput(cmd: Command, formats: string[] = ['text', 'json', 'yaml'], def = formats[0]!): Command {
  return cmd.addOption(new Option('-o, --output <FORMAT>', 'output format').choices(formats).default(def));
}

/** A command action whose module is imported only when the command runs. */
export function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const action = await load();
    await action(...args);
  };
}
