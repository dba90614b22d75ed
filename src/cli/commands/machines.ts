/**
 * `hearth machines add`: adopts discovered Talos nodes the spec does not list, appending them to
 * hearth.yaml. The action (and the gRPC client) load only when it runs.
 */
import { Option, type Command } from 'commander';
import { lazy } from '../context.js';
import { withProbeOptions } from './talos-discover.js';

export function registerMachines(program: Command): void {
  const machines = program
    .command('machines')
    .description('the machines of hearth.yaml: adopt discovered servers')
    .addHelpText('after', '\nExample:\n  hearth machines add -f hearth.yaml --scan 192.0.2.0/24');
  withProbeOptions(
    machines
      .command('add')
      .description('append discovered nodes that hearth.yaml does not list (asks on a terminal; flags answer otherwise)')
      .option('--node <ADDR>', 'the discovered node to adopt (needed without a terminal when several are found)')
      .option('--name <NAME>', 'machine name (default: the node\'s hostname)')
      .addOption(new Option('--role <ROLE>', 'controlplane or worker').choices(['controlplane', 'worker']))
      .option('--disk <DISK>', 'install disk: its name (sda), path (/dev/sda) or number in the node\'s disk list')
      .option('--interface <LINK>', 'the link to configure (default: the node\'s first link that is up)')
      .option('--bond <LINK,LINK,...>', 'bond these links (802.3ad) instead of one interface')
      .option('--address <CIDR>', 'static address with prefix length (default: the address the node has now)')
      .option('--gateway <IP>', 'default gateway (default: from the spec\'s machines on that subnet, or netboot.dhcp.router)')
      .option('--nameservers <IP,...>', 'nameservers (default: as --gateway, or netboot.dhcp.dns)')
      .option('--dry-run', 'print the entries instead of writing hearth.yaml')
      .addHelpText(
        'after',
        '\nOn a terminal every question is asked, with the flags and the node as defaults; without one the\n' +
          'flags answer and the rest take their defaults. The new text must pass `hearth validate` before\n' +
          'hearth.yaml is replaced (atomically; comments and layout kept).\n' +
          '\nExamples:\n  hearth machines add -f hearth.yaml --scan 192.0.2.0/24\n' +
          '  hearth machines add --endpoints 192.0.2.105 --name worker3 --role worker --disk nvme0n1 --address 192.0.2.23/24',
      ),
  ).action(lazy(async () => (await import('../actions/machines.js')).add));
}
