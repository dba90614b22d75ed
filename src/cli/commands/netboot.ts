import { InvalidArgumentError, Option, type Command } from 'commander';
import { fetchMachines, progressRows, startNetboot, type BootEvent, type MachineProgress } from '../../netboot/index.js';
import { loadChecked, withOutput, withSpecFile } from '../context.js';
import { formatData, out, paint, say, table, warn } from '../output.js';

function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535.');
  return n;
}

function logLine(m: MachineProgress, e: BootEvent): string {
  const t = new Date(e.at).toISOString().slice(11, 19);
  const who = `${m.mac}${m.name ? ` ${m.name}` : ''}`;
  const what = [
    e.kind,
    e.ip,
    e.file,
    e.bytes !== undefined ? `${e.bytes}B` : undefined,
    e.durationMs !== undefined ? `${e.durationMs}ms` : undefined,
    e.detail,
  ]
    .filter(Boolean)
    .join(' ');
  return `${t} ${who} ${what}`;
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
      .addHelpText(
        'after',
        '\nNeeds root (or CAP_NET_BIND_SERVICE + CAP_NET_RAW) for ports 67/69.\nExamples:\n  sudo hearth netboot serve -f hearth.yaml\n  sudo hearth netboot serve --interface br0 --dhcp proxy\n  hearth netboot serve --dhcp off --tftp-port 6969 --http-port 8080',
      ),
  ).action(async (opts: { file: string; interface?: string; address?: string; dhcp?: 'full' | 'proxy' | 'off'; state?: string; httpPort?: number; tftpPort?: number; dhcpPort?: number; log?: boolean }) => {
    const loaded = loadChecked(opts.file);
    const srv = await startNetboot(loaded, {
      interface: opts.interface,
      address: opts.address,
      dhcpMode: opts.dhcp,
      stateDir: opts.state,
      httpPort: opts.httpPort,
      tftpPort: opts.tftpPort,
      dhcpPort: opts.dhcpPort,
    });
    for (const w of srv.warnings) warn(w);
    const c = srv.config;
    say(
      `hearth netboot: serving on ${c.interface ?? c.serverIp} (${c.serverIp}): DHCP ${c.dhcp.mode}, TFTP :${srv.tftp.port}, HTTP ${c.httpBase} ` +
        `(metrics ${c.httpBase}/metrics, machines ${c.httpBase}/api/machines). Ctrl-C stops.`,
    );
    const live = Boolean(process.stderr.isTTY) && !opts.log;
    let lastLines = 0;
    const draw = () => {
      const { headers, rows } = progressRows(srv.progress.list());
      const width = process.stderr.columns || 200;
      // Cut lines to the terminal width: a wrapped line would break the in-place redraw.
      let lines = (rows.length ? table(headers, rows) : 'waiting for machines...\n').split('\n').slice(0, -1).map((l) => l.slice(0, width));
      lines = lines.map((l, i) => (i === 0 ? paint(rows.length ? 'bold' : 'dim', l) : l));
      let s = '';
      if (lastLines > 0) s += `\x1b[${lastLines}A`;
      s += lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n';
      process.stderr.write(s);
      lastLines = lines.length;
    };
    let timer: NodeJS.Timeout | undefined;
    let pending = false;
    if (live) {
      draw();
      srv.progress.onChange(() => {
        pending = true;
      });
      timer = setInterval(() => {
        if (pending) {
          pending = false;
          draw();
        }
      }, 250);
    } else {
      srv.progress.onChange((m, e) => say(logLine(m, e)));
    }
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        say(`hearth netboot: ${sig}, shutting down`);
        resolve();
      };
      const onInt = () => stop('SIGINT');
      const onTerm = () => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    clearInterval(timer);
    await srv.close();
    say('hearth netboot: stopped');
  });

  withOutput(
    netboot
      .command('machines')
      .description("show the machines a running `hearth netboot serve` has seen, and how far each got in its boot")
      .option('--server <URL>', 'the server\'s HTTP address', 'http://127.0.0.1:8080')
      .addHelpText('after', '\nExamples:\n  hearth netboot machines --server http://192.0.2.1:8080\n  hearth netboot machines -o json'),
  ).action(async (opts: { server: string; output: 'text' | 'json' | 'yaml' }) => {
    const machines = await fetchMachines(opts.server);
    if (opts.output !== 'text') {
      out(formatData({ machines }, opts.output));
      return;
    }
    if (machines.length === 0) {
      say('no machines seen yet');
      return;
    }
    const { headers, rows } = progressRows(machines);
    out(table(headers, rows));
  });
}
