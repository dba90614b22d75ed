/**
 * `hearth talos discover`: finds the nodes that answer the Talos API and shows what they report,
 * matched to the spec's machines. The action (and the gRPC client) load only when it runs.
 */
import { Option, type Command } from 'commander';
import { lazy, withOutput, withSpecFile } from '../context.js';

/** Where to look for Talos nodes and how: shared by the commands that discover (talos discover, machines add). */
export function withProbeOptions(cmd: Command): Command {
  return withSpecFile(cmd)
    .option('--scan <CIDR,...>', 'networks to scan (default: the machines\' networks from the spec)')
    .option('--endpoints <ADDR,...>', 'addresses to ask directly (no scan)')
    .option('--state <DIR>', '`hearth netboot serve`\'s state directory: its leased addresses are probed too, and the nodes\' certificate pins are kept there (talos-pins.json; without --state they are not kept)')
    .addOption(new Option('--port <PORT>', 'Talos API port').default('50000'))
    .addOption(new Option('--timeout <MS>', 'per-node timeout in milliseconds').default('2000'));
}

export function registerTalosDiscover(talos: Command): void {
  withOutput(
    withProbeOptions(
      talos
        .command('discover')
        .description('find the nodes answering the Talos API and match them to the spec machines (by MAC or UUID)')
        .option('--talosconfig <FILE>', 'read configured nodes too, with this talosconfig\'s identity')
        .addHelpText('after', '\nExamples:\n  hearth talos discover -f hearth.yaml\n  hearth talos discover --endpoints 192.0.2.50,192.0.2.51 -o json'),
    ),
    ['table', 'json', 'yaml'],
  ).action(lazy(async () => (await import('../actions/talos-discover.js')).discover));
}
