import { InvalidArgumentError, Option, type Command } from 'commander';
import { lazy, withOutput, withSpecFile } from '../context.js';
import { holdOptimizer } from '../optimizer.js';
import { keepYoungGenerationSmall } from '../young-generation.js';

function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535.');
  return n;
}

export function registerNetboot(program: Command): void {
  const netboot = program
    .command('netboot')
    .description('stage 2: network boot: one DHCP + TFTP + HTTP/iPXE server that boots the machines and shows their progress')
    .addHelpText('after', '\nExamples:\n  sudo hearth netboot serve -f hearth.yaml\n  hearth netboot machines --server http://192.0.2.1:8080 -o json');

  withSpecFile(
    netboot
      .command('serve')
      .description('serve DHCP (full|proxy|off), TFTP and HTTP/iPXE on one interface until Ctrl-C; shows each machine\'s boot progress')
      .option('--interface <IF>', 'serve on this interface (overrides netboot.interface)')
      .option('--address <IP>', "server address on the interface (default: the interface's)")
      .addOption(new Option('--dhcp <MODE>', 'DHCP mode (overrides netboot.dhcp.mode)').choices(['full', 'proxy', 'off']))
      .option('--state <DIR>', 'lease database directory (default: .hearth/netboot beside the spec)')
      .option('--http-port <N>', 'HTTP port (default: netboot.httpPort, 8080)', port)
      .option('--tftp-port <N>', 'TFTP port (default: netboot.tftpPort, 69)', port)
      .option('--dhcp-port <N>', 'DHCP server port (default 67; for tests)', port)
      .option('--log', 'log lines instead of the live table, even on a terminal')
      .option('--secrets <FILE>', 'a secrets bundle (hearth talos secrets): serve each machine its Talos config (talos.config=), unless netboot.talosConfig is false')
      .option('--config-once', 'serve a machine its config once per boot through hearth; later fetches get 403 until it boots again')
      .addHelpText(
        'after',
        '\nNeeds root (or CAP_NET_BIND_SERVICE + CAP_NET_RAW) for ports 67/69.\nExamples:\n  sudo hearth netboot serve -f hearth.yaml\n  sudo hearth netboot serve --secrets out/secrets.yaml --config-once\n  sudo hearth netboot serve --interface br0 --dhcp proxy\n  hearth netboot serve --dhcp off --tftp-port 6969 --http-port 8080',
      ),
  ).action(
    lazy(async () => {
      // Before the server's modules load, or loading them grows the young generation and starts
      // the optimizing compiler (see there); serve() undoes both once it is serving.
      keepYoungGenerationSmall();
      holdOptimizer();
      return (await import('../actions/netboot.js')).serve;
    }),
  );

  withSpecFile(
    netboot
      .command('reinstall')
      .argument('<NAME>', 'a machine in machines[]')
      .description('network-boot an installed machine into the installer again (it boots from its disk once hearth saw it installed)')
      .option('--state <DIR>', 'netboot state directory (default: .hearth/netboot beside the spec)')
      .addHelpText('after', '\nA running `hearth netboot serve` picks the change up at the machine\'s next boot.\nExamples:\n  hearth netboot reinstall cp1 -f hearth.yaml'),
  ).action(lazy(async () => (await import('../actions/netboot.js')).reinstall));

  withOutput(
    netboot
      .command('machines')
      .description("show the machines a running `hearth netboot serve` has seen, and how far each got in its boot")
      .option('--server <URL>', 'the server\'s HTTP address', 'http://127.0.0.1:8080')
      .addHelpText('after', '\nExamples:\n  hearth netboot machines --server http://192.0.2.1:8080\n  hearth netboot machines -o json'),
  ).action(lazy(async () => (await import('../actions/netboot.js')).machines));
}
