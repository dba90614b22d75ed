/**
 * `hearth bootstrap`: from servers waiting in Talos maintenance mode to a healthy cluster, a
 * kubeconfig and a talosconfig. The action (and the gRPC client) load only when it runs.
 */
import { Option, type Command } from 'commander';
import { lazy, withOutput, withSpecFile } from '../context.js';

export function registerBootstrap(program: Command): void {
  withOutput(
    withSpecFile(
      program
        .command('bootstrap')
        .description('configure every machine over the Talos API, bootstrap etcd, wait for a healthy cluster, write kubeconfig and talosconfig')
        .requiredOption('--out <DIR>', 'where secrets.yaml (reused or created), kubeconfig and talosconfig live')
        .option('--scan <CIDR,...>', 'networks to look for nodes in, besides the machines\' own addresses')
        .option('--endpoints <ADDR,...>', 'addresses of nodes in maintenance mode (e.g. their DHCP leases)')
        .option('--state <DIR>', '`hearth netboot serve`\'s state directory: its leased addresses are probed too, and the certificate pins are kept there (talos-pins.json; default: --out)')
        .option('--only <NAME,...>', 'bootstrap only these machines')
        .addOption(new Option('--timeout <DURATION>', 'bound on the whole run (e.g. 20m)').default('20m'))
        .addOption(new Option('--port <PORT>', 'Talos API port').default('50000'))
        .addHelpText(
          'after',
          '\nExamples:\n  hearth bootstrap -f hearth.yaml --out out --endpoints 192.0.2.101,192.0.2.102\n  hearth bootstrap --out out --scan 192.0.2.0/24 -o json\n\nA rerun continues an interrupted run and changes nothing on a healthy cluster.',
        ),
    ),
    ['text', 'json'],
  ).action(lazy(async () => (await import('../actions/bootstrap.js')).bootstrap));
}
