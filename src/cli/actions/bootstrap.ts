/** `hearth bootstrap`: the action (see commands/bootstrap.ts for the options). */
import { InputError } from '../../common/errors.js';
import { prepare } from '../../pipeline/prepare.js';
import { expandTargets, FilePinStore, TalosApiError } from '../../talos/api/index.js';
import { bootstrapCluster, type BootstrapEvent, type BootstrapSummary } from '../../talos/bootstrap/index.js';
import { LiveView } from '../live.js';
import { out, paint, say, table } from '../output.js';
import { durationOption, intOption, list } from '../options.js';
import { leasedAddresses } from '../talos-common.js';

export interface BootstrapOpts {
  file: string;
  out: string;
  scan?: string;
  endpoints?: string;
  state?: string;
  only?: string;
  timeout: string;
  port: string;
  output: 'text' | 'json';
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** One log line per event (stderr); stage changes name the machine, the stage and the time since start. */
function logLine(e: BootstrapEvent): string | undefined {
  switch (e.event) {
    case 'discovered':
      return `probed ${e.probed} addresses: ${e.found} Talos node${e.found === 1 ? '' : 's'} answered, ${e.matched} machine${e.matched === 1 ? '' : 's'} passed pre-flight`;
    case 'waiting':
      return `waiting for ${e.machines.join(', ')} to answer at ${e.machines.length === 1 ? 'its' : 'their'} configured address (a previous run applied the configs; rebooting?)`;
    case 'apply':
      return e.dryRun ? undefined : `${e.machine}: config applied at ${e.address} (${e.mode}) +${secs(e.elapsedMs)}`;
    case 'unchanged':
      return `${e.machine}: running config is up to date at ${e.address}`;
    case 'stage':
      return `${e.machine}: ${e.stage} at ${e.address} +${secs(e.elapsedMs)}`;
    case 'etcd':
      return e.result === 'bootstrapped' ? `etcd bootstrapped on ${e.machine} +${secs(e.elapsedMs)}` : `etcd was bootstrapped before (${e.machine})`;
    case 'healthy':
      return `healthy: ${e.check} +${secs(e.elapsedMs)}`;
    case 'file':
      return e.changed ? `wrote ${e.file} (0600)` : `kept ${e.file}`;
  }
}

/**
 * The live view on a terminal: one line per machine with its stage, address and the time it
 * reached that stage, the run's clock ticking in the heading, and the latest cluster-wide steps.
 */
class BootstrapView {
  private readonly started = Date.now();
  private readonly machines = new Map<string, { stage: string; address: string; atMs: number }>();
  private readonly steps: string[] = [];
  private readonly view = new LiveView(() => this.frame(), true);

  start(): this {
    this.view.start();
    return this;
  }

  stop(): void {
    this.view.stop();
  }

  event(e: BootstrapEvent): void {
    if (e.event === 'apply' && !e.dryRun) this.machines.set(e.machine, { stage: 'applied', address: e.address, atMs: e.elapsedMs });
    else if (e.event === 'unchanged') this.machines.set(e.machine, { stage: 'up to date', address: e.address, atMs: e.elapsedMs });
    else if (e.event === 'stage') this.machines.set(e.machine, { stage: e.stage, address: e.address, atMs: e.elapsedMs });
    else if (e.event !== 'apply') {
      const line = logLine(e);
      if (line) this.steps.push(line);
    }
    this.view.invalidate();
  }

  private frame(): string[] {
    const head = paint('bold', `hearth bootstrap  ${secs(Date.now() - this.started)}`);
    const rows = [...this.machines].map(([name, m]) => [name, m.stage, m.address, `+${secs(m.atMs)}`]);
    const body = rows.length ? table(['MACHINE', 'STAGE', 'ADDRESS', 'SINCE'], rows).split('\n').slice(0, -1) : [paint('dim', 'discovering nodes...')];
    return [head, ...body, ...this.steps.slice(-4).map((l) => paint('dim', l))];
  }
}

function summaryText(s: BootstrapSummary): string {
  const rows = s.machines.map((m) => {
    const stages = Object.entries(m.stages)
      .map(([k, v]) => `${k} ${secs(v)}`)
      .join(', ');
    return `  ${m.name.padEnd(12)} ${m.role.padEnd(13)} ${m.address.padEnd(16)} ${m.action.padEnd(10)} ${stages}`;
  });
  const head = s.changed ? `cluster ${s.cluster} is healthy at ${s.endpoint} (${secs(s.elapsedMs)})` : `cluster ${s.cluster} is healthy at ${s.endpoint}; nothing changed`;
  return [head, ...rows].join('\n');
}

export async function bootstrap(opts: BootstrapOpts): Promise<void> {
  const prepared = prepare(opts.file);
  const port = intOption(opts.port, '--port', 1, 65535);
  const timeoutMs = durationOption(opts.timeout, '--timeout');
  let targets: string[];
  try {
    targets = [...new Set([...list(opts.endpoints), ...expandTargets(list(opts.scan))])];
    targets.push(...(await leasedAddresses(opts.state)).filter((a) => !targets.includes(a)));
  } catch (err) {
    if (err instanceof TalosApiError) throw new InputError(err.detail);
    throw err;
  }
  const json = opts.output === 'json';
  const view = !json && process.stderr.isTTY ? new BootstrapView().start() : undefined;
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    const summary = await bootstrapCluster({
      loaded: prepared.loaded,
      talos: prepared.talos,
      out: opts.out,
      targets,
      port,
      pins: new FilePinStore(opts.state ?? opts.out),
      only: opts.only === undefined ? undefined : list(opts.only),
      timeoutMs,
      signal: ac.signal,
      onEvent: (e) => {
        if (json) out(JSON.stringify(e));
        else if (view) view.event(e);
        else {
          const line = logLine(e);
          if (line) say(line);
        }
      },
    });
    view?.stop();
    if (json) out(JSON.stringify({ event: 'summary', ...summary }));
    else say(summaryText(summary));
    if (opts.state) {
      // The nodes run from their disks now: their next network boot through hearth boots the disk.
      const { markMachinesInstalled } = await import('../../netboot/installs.js');
      const marked = await markMachinesInstalled(opts.state, prepared.loaded.spec.machines, summary.machines.map((m) => m.name));
      if (!json && marked.names.length) say(`marked ${marked.names.join(', ')} installed in ${marked.file}: their next network boot is from disk`);
    }
  } finally {
    view?.stop();
    process.off('SIGINT', onSigint);
  }
}
