import type { Command } from 'commander';

export function registerNetboot(program: Command): void {
  program.command('netboot').description('netboot stage (being built)');
}
