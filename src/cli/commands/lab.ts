import { Option, type Command } from 'commander';
import { lazy, withOutput, withSpecFile } from '../context.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description('rehearse the rack on one machine: a network namespace, one QEMU VM per machine network-booting from hearth netboot')
    .addHelpText(
      'after',
      '\nNeeds root, QEMU (qemu-system-x86, qemu-utils) and, for UEFI, OVMF.\nExamples:\n  sudo hearth lab up -f hearth.yaml --firmware uefi\n  sudo hearth lab status\n  sudo hearth lab console cp1\n  sudo hearth lab down',
    );
  const withDir = (cmd: Command) => withSpecFile(cmd).option('--state <DIR>', 'lab directory (default: .hearth/lab beside the spec)');

  withDir(
    lab
      .command('up')
      .description('create the lab network, start hearth netboot in it and one VM per machines[] entry, network boot first')
      .option('--assets <DIR>', 'boot files to serve instead of netboot.assets (e.g. the test payload)')
      .addOption(new Option('--firmware <FW>', 'firmware of every VM').choices(['bios', 'uefi']).default('bios'))
      .option('--machine-firmware <NAME=FW>', 'firmware of one machine (bios|uefi); repeatable or comma-separated', collect)
      .option('--memory <MiB>', 'memory of every VM (default: Talos minimums, 2048 controlplane / 1024 worker)')
      .option('--cpus <N>', 'vCPUs of every VM (default: Talos minimums, 2 controlplane / 1 worker)')
      .addOption(new Option('--accel <A>', 'accelerator: auto uses KVM only when a test guest runs under it').choices(['auto', 'kvm', 'tcg']).default('auto'))
      .option('--name <NAME>', 'lab name; the namespace is hlab-NAME (default: metadata.name)')
      .option('--http <PORT>', "also reach the lab netboot server's HTTP (dashboard, /api/machines, /metrics) at 127.0.0.1:PORT (0: a free port)")
      .addHelpText('after', '\nExamples:\n  sudo hearth lab up -f hearth.yaml\n  sudo hearth lab up -f hearth.yaml --firmware uefi --machine-firmware cp1=bios --http 8080'),
  ).action(lazy(async () => (await import('../actions/lab.js')).up));

  withDir(lab.command('down').description('stop what `up` started and remove the namespace, taps and disks').addHelpText('after', '\nExamples:\n  sudo hearth lab down -f hearth.yaml')).action(
    lazy(async () => (await import('../actions/lab.js')).down),
  );

  withOutput(withDir(lab.command('status').description('each VM: running or not, firmware, boot progress, last console line').addHelpText('after', '\nExamples:\n  sudo hearth lab status\n  sudo hearth lab status -o json'))).action(
    lazy(async () => (await import('../actions/lab.js')).status),
  );

  withDir(
    lab
      .command('console')
      .description("follow a VM's serial console until Ctrl-C (or print its last lines with --lines)")
      .argument('<NAME>', 'machine name')
      .option('--lines <N>', 'print the last N lines and exit')
      .addHelpText('after', '\nExamples:\n  sudo hearth lab console cp1\n  sudo hearth lab console cp1 --lines 50'),
  ).action(lazy(async () => (await import('../actions/lab.js')).console));

  lab
    .command('_netboot', { hidden: true })
    .description('the lab netboot server (started by `hearth lab up` inside the namespace)')
    .requiredOption('--dir <DIR>', 'lab directory')
    .action(lazy(async () => (await import('../actions/lab.js')).netboot));

  lab
    .command('_forward', { hidden: true })
    .description("relays 127.0.0.1:PORT to the lab's HTTP socket (started by `hearth lab up --http`)")
    .requiredOption('--dir <DIR>', 'lab directory')
    .requiredOption('--port <PORT>', 'loopback port')
    .action(lazy(async () => (await import('../actions/lab.js')).forward));
}
