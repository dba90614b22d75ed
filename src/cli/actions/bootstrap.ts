/** `hearth bootstrap`: the action (see commands/bootstrap.ts for the options). */
import { InputError } from '../../common/errors.js';
import { isDuration, parseDuration } from '../../spec/index.js';
import { prepare } from '../../pipeline/prepare.js';
import { expandTargets, FilePinStore, TalosApiError } from '../../talos/api/index.js';
import { bootstrapCluster, type BootstrapEvent, type BootstrapSummary } from '../../talos/bootstrap/index.js';
import { out, say } from '../output.js';
import { intOption, leasedAddresses, list } from '../talos-common.js';

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
  if (!isDuration(opts.timeout)) throw new InputError(`--timeout must be a duration like 30s, 5m or 1h, not "${opts.timeout}"`);
  const timeoutMs = parseDuration(opts.timeout);
  let targets: string[];
  try {
    targets = [...new Set([...list(opts.endpoints), ...expandTargets(list(opts.scan))])];
    targets.push(...(await leasedAddresses(opts.state)).filter((a) => !targets.includes(a)));
  } catch (err) {
    if (err instanceof TalosApiError) throw new InputError(err.detail);
    throw err;
  }
  const json = opts.output === 'json';
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
        else {
          const line = logLine(e);
          if (line) say(line);
        }
      },
    });
    if (json) out(JSON.stringify({ event: 'summary', ...summary }));
    else say(summaryText(summary));
  } finally {
    process.off('SIGINT', onSigint);
  }
}
