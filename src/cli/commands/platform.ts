import type { Command } from 'commander';

export function registerPlatform(program: Command): void {
  program.command('platform').description('platform stage (being built)');
}
