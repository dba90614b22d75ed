import { Option, type Command } from 'commander';
import { assertNoIssues, loadSpec, type LoadedSpec, type SpecIssue } from '../spec/index.js';
import { checkImage } from '../image/index.js';
import { checkNetboot } from '../netboot/index.js';
import { checkTalos } from '../talos/index.js';
import { checkPlatform } from '../platform/index.js';

export const DEFAULT_SPEC = 'hearth.yaml';

/** `-f, --file FILE`, on every command that reads the spec. */
export function withSpecFile(cmd: Command): Command {
  return cmd.option('-f, --file <FILE>', 'the spec', DEFAULT_SPEC);
}

/** `-o, --output FORMAT`, on every command whose output is data. */
export function withOutput(cmd: Command, formats: string[] = ['text', 'json', 'yaml'], def = formats[0]!): Command {
  return cmd.addOption(new Option('-o, --output <FORMAT>', 'output format').choices(formats).default(def));
}

/** Every stage's own checks of a loaded spec (catalog names, patch files, dependency graph...). */
export function stageIssues(loaded: LoadedSpec): SpecIssue[] {
  return [...checkImage(loaded), ...checkNetboot(loaded), ...checkTalos(loaded), ...checkPlatform(loaded)];
}

/** Loads a spec and runs every stage's checks: the gate before anything is written or run. */
export function loadChecked(file: string): LoadedSpec {
  const loaded = loadSpec(file);
  assertNoIssues(loaded, stageIssues(loaded));
  return loaded;
}
