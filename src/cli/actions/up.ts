/** `hearth up`: the action (see commands/up.ts for the options). */
import { prepare } from '../../pipeline/prepare.js';
import { RunEventBus, type RunStage } from '../../pipeline/events.js';
import { runUp, summaryText } from '../../pipeline/up/index.js';
import { fluxManifestsFromFile, fluxManifestsFromRelease } from '../../platform/flux.js';
import { UpView } from '../up-view.js';
import { out, paint, say } from '../output.js';
import { durationOption, intOption } from '../options.js';

export interface UpOpts {
  file: string;
  out: string;
  until: RunStage;
  keepNetboot?: boolean;
  timeout: string;
  interface?: string;
  address?: string;
  dhcp?: 'full' | 'proxy' | 'off';
  httpPort?: string;
  tftpPort?: string;
  dhcpPort?: string;
  dhcpClientPort?: string;
  port: string;
  fluxManifests?: string;
  output: 'text' | 'json';
}

export async function up(opts: UpOpts): Promise<void> {
  // flags and spec first: invalid input exits 2 before anything is bound or written
  const timeoutMs = durationOption(opts.timeout, '--timeout');
  const talosPort = intOption(opts.port, '--port', 1, 65535);
  const port = (v: string | undefined, what: string) => (v === undefined ? undefined : intOption(v, what, 0, 65535));
  const netboot = {
    ...(opts.interface ? { interface: opts.interface } : {}),
    ...(opts.address ? { address: opts.address } : {}),
    ...(opts.dhcp ? { dhcpMode: opts.dhcp } : {}),
    ...(opts.httpPort !== undefined ? { httpPort: port(opts.httpPort, '--http-port') } : {}),
    ...(opts.tftpPort !== undefined ? { tftpPort: port(opts.tftpPort, '--tftp-port') } : {}),
    ...(opts.dhcpPort !== undefined ? { dhcpPort: port(opts.dhcpPort, '--dhcp-port') } : {}),
    ...(opts.dhcpClientPort !== undefined ? { dhcpClientPort: port(opts.dhcpClientPort, '--dhcp-client-port') } : {}),
  };
  const prepared = prepare(opts.file);
  const local = opts.fluxManifests ? await fluxManifestsFromFile(opts.fluxManifests) : undefined;
  const loadFlux = local ? async () => local : () => fluxManifestsFromRelease(prepared.platform.ctx.fluxVersion);

  const bus = new RunEventBus();
  const json = opts.output === 'json';
  const view = new UpView();
  if (!json && process.stderr.isTTY) view.startLive();
  bus.subscribe((e) => {
    if (json) out(JSON.stringify(e.event));
    else {
      const line = view.take(e);
      if (line && !process.stderr.isTTY) say(line);
    }
  });
  const ac = new AbortController();
  const onSignal = (sig: string) => {
    if (ac.signal.aborted) {
      say(paint('red', `second ${sig}: exiting now; rerun \`hearth up\` to continue`));
      process.exit(130);
    }
    if (!json) say(paint('yellow', `${sig}: stopping after the step under way (state is saved; rerun to continue)`));
    ac.abort();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const summary = await runUp({ prepared, out: opts.out, until: opts.until, keepNetboot: Boolean(opts.keepNetboot), timeoutMs, talosPort, netboot, loadFlux, bus, signal: ac.signal });
    view.stop();
    if (json) out(JSON.stringify({ type: 'summary', ...summary }));
    else say(summaryText(summary));
  } finally {
    view.stop();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
