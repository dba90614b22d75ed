/**
 * `hearth up`: one run from powered-on servers (set to network boot) to a Ready platform. The
 * action (netboot, the Talos API client, the Kubernetes client) loads only when it runs.
 */
import { Option, type Command } from 'commander';
import { lazy, withOutput, withSpecFile } from '../context.js';

export function registerUp(program: Command): void {
  withOutput(
    withSpecFile(
      program
        .command('up')
        .description('netboot every machine, configure Talos, bootstrap etcd and install the platform until it is Ready, in one run')
        .requiredOption('--out <DIR>', 'where secrets.yaml, kubeconfig, talosconfig, state.json and netboot/ live')
        .addOption(new Option('--until <STAGE>', 'stop after this stage').choices(['netboot', 'bootstrap', 'platform']).default('platform'))
        .option('--keep-netboot', 'keep netboot serving after the run (until Ctrl-C) instead of stopping it once every machine is installed')
        .addOption(new Option('--timeout <DURATION>', 'bound on the whole run; a machine stuck past it is named with its last stage').default('60m'))
        .option('--interface <IF>', 'serve netboot on this interface (overrides netboot.interface)')
        .option('--address <IP>', "netboot's address on the interface (default: the interface's)")
        .addOption(new Option('--dhcp <MODE>', 'DHCP mode (overrides netboot.dhcp.mode)').choices(['full', 'proxy', 'off']))
        .option('--http-port <N>', 'netboot HTTP port (default: netboot.httpPort)')
        .option('--tftp-port <N>', 'netboot TFTP port (default: netboot.tftpPort)')
        .option('--dhcp-port <N>', 'DHCP server port (default 67; for tests)')
        .option('--dhcp-client-port <N>', 'DHCP client port replies go to (default 68; for tests)')
        .addOption(new Option('--port <PORT>', 'Talos API port').default('50000'))
        .option('--flux-manifests <FILE>', "Flux's install.yaml from a local file (air-gapped sites); default: the pinned release from GitHub")
        .addHelpText(
          'after',
          '\nExamples:\n  sudo hearth up --out out\n  sudo hearth up --out out --until bootstrap -o json\n\n' +
            'Run it again after Ctrl-C, a crash or a power cut: it continues from out/state.json and never applies, bootstraps or installs twice.',
        ),
    ),
    ['text', 'json'],
  ).action(lazy(async () => (await import('../actions/up.js')).up));
}
