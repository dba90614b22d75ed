/**
 * Day two: `hearth talos health|kubeconfig|reboot|shutdown|reset|upgrade`, over the Talos API with
 * the talosconfig's identity (mutual TLS). Each machine is reached at its address from the spec.
 * The actions (and the gRPC client) load only when a command runs.
 */
import { Option, type Command } from 'commander';
import { lazy, withOutput, withSpecFile } from '../context.js';

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

/** The options every day-two command shares. */
function day2(cmd: Command, opts: { select: boolean; wait: boolean }): Command {
  withSpecFile(cmd)
    .option('--dir <DIR>', 'the directory of talosconfig, kubeconfig and secrets.yaml (as hearth bootstrap --out writes them)', '.')
    .option('--talosconfig <FILE>', 'the talosconfig to use (default: DIR/talosconfig)')
    .addOption(new Option('--port <PORT>', 'Talos API port').default('50000'));
  if (opts.select) {
    cmd.option('--machine <NAME>', 'a machine from the spec (repeatable, or comma-separated)', collect).option('--all', 'every machine of the spec');
  }
  if (opts.wait) cmd.option('--wait', 'follow each machine through its stages until it is done');
  return cmd.addOption(new Option('--timeout <DURATION>', 'how long to wait for each machine (e.g. 90s, 10m)').default('10m'));
}

export function registerTalosDay2(talos: Command): void {
  const load = async () => import('../actions/talos-day2.js');
  withOutput(
    day2(talos.command('health').description('etcd members = control planes, every machine running and ready (exit 1 when not)'), { select: true, wait: false }),
    ['table', 'json', 'yaml'],
  )
    .addHelpText('after', '\nExamples:\n  hearth talos health -f hearth.yaml --dir cluster/\n  hearth talos health --machine cp1,cp2 -o json')
    .action(lazy(async () => (await load()).health));

  day2(talos.command('kubeconfig').description('fetch the admin kubeconfig from a control plane into DIR/kubeconfig (0600), or stdout with -'), { select: false, wait: false })
    .argument('[PATH]', 'where to write it (default: DIR/kubeconfig; - for stdout)')
    .option('--machine <NAME>', 'the control plane to ask (default: the first that answers)')
    .addHelpText('after', '\nExamples:\n  hearth talos kubeconfig --dir cluster/\n  hearth talos kubeconfig - > ~/.kube/config')
    .action(lazy(async () => (await load()).kubeconfig));

  day2(talos.command('reboot').description('reboot machines; with --wait, until each runs and is ready again'), { select: true, wait: true })
    .addHelpText('after', '\nExample:\n  hearth talos reboot --machine worker1 --wait')
    .action(lazy(async () => (await load()).reboot));

  day2(talos.command('shutdown').description('power machines off; with --wait, until each stops answering'), { select: true, wait: true })
    .option('--force', 'skip the graceful stop of the workloads')
    .addHelpText('after', '\nExample:\n  hearth talos shutdown --all --wait')
    .action(lazy(async () => (await load()).shutdown));

  day2(talos.command('reset').description('wipe machines\' Talos state and config (asks first; --yes without a terminal)'), { select: true, wait: true })
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--graceful [BOOL]', 'leave etcd and drain first (--graceful=false to skip)', 'true')
    .option('--reboot', 'reboot after the wipe (default: power off), as talosctl does')
    .option('--wipe-mode <MODE>', 'all | system-disk | user-disks (default: only the STATE and EPHEMERAL partitions)')
    .option('--system-labels-to-wipe <LABEL,...>', 'the system disk partitions to wipe (default STATE,EPHEMERAL)')
    .addHelpText(
      'after',
      '\nBy default only the STATE (machine config) and EPHEMERAL (/var) partitions of the system disk are\n' +
        'wiped: the node boots back into maintenance mode (netboot or its install media) ready to be\n' +
        'configured again. --wipe-mode wipes whole disks, as talosctl reset does.\n' +
        '\nExamples:\n  hearth talos reset --machine worker2 --reboot --wait\n  hearth talos reset --all --wipe-mode all --graceful=false --yes',
    )
    .action(lazy(async () => (await load()).reset));

  day2(talos.command('upgrade').description("upgrade to the spec's installer image: control planes one at a time with etcd healthy between, then workers"), {
    select: true,
    wait: false,
  })
    .addHelpText(
      'after',
      '\nEach machine is followed until it runs the new version (a control plane also until etcd lists every\n' +
        'control plane again) before the next one starts; machines already at the version are skipped.\n' +
        '\nExample:\n  hearth talos upgrade -f hearth.yaml --dir cluster/ --all',
    )
    .action(lazy(async () => (await load()).upgrade));
}
