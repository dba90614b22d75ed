import type { Command } from 'commander';

export function registerTalos(program: Command): void {
  program.command('talos').description('talos stage (being built)');
}
