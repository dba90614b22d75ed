import type { Command } from 'commander';

export function registerImage(program: Command): void {
  program.command('image').description('image stage (being built)');
}
