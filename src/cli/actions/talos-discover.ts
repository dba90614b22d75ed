/** `hearth talos discover`: the action (see commands/talos-discover.ts for the options). */
import { prepare } from '../../pipeline/prepare.js';
import { discoverNodes, matchMachines, FilePinStore, MemoryPinStore, type DiscoveredNode } from '../../talos/api/index.js';
import { readTalosconfig } from '../../talos/api/talosconfig.js';
import { intOption } from '../options.js';
import { leasedAddresses, probeTargets } from '../talos-common.js';
import { formatData } from '../format.js';
import { out, say, table } from '../output.js';

export interface DiscoverOpts {
  file: string;
  scan?: string;
  endpoints?: string;
  state?: string;
  talosconfig?: string;
  port: string;
  timeout: string;
  output: 'table' | 'json' | 'yaml';
}

function render(nodes: DiscoveredNode[], format: DiscoverOpts['output']): string {
  if (format !== 'table') return formatData({ nodes }, format);
  const gb = (n: number) => `${Math.round(n / 1e9)}GB`;
  const rows = nodes.map((n) => [
    n.address,
    n.mode,
    n.stage ?? '-',
    n.talosVersion ?? '-',
    n.machine ?? '(unmatched)',
    n.uuid ?? '-',
    n.macs.join(',') || '-',
    n.disks.map((d) => `${d.name}:${gb(d.size)}`).join(',') || '-',
    n.error ?? '',
  ]);
  return table(['ADDRESS', 'MODE', 'STAGE', 'VERSION', 'MACHINE', 'UUID', 'MACS', 'DISKS', 'NOTE'], rows);
}

export async function discover(opts: DiscoverOpts): Promise<void> {
    const { loaded } = prepare(opts.file);
    const port = intOption(opts.port, '--port', 1, 65535);
    const timeoutMs = intOption(opts.timeout, '--timeout', 50, 60_000);
    const identity = opts.talosconfig ? readTalosconfig(opts.talosconfig).identity : undefined;
    const targets = probeTargets(loaded, opts, await leasedAddresses(opts.state));
    const pins = opts.state ? new FilePinStore(opts.state) : new MemoryPinStore();
    say(`probing ${targets.length} address${targets.length === 1 ? '' : 'es'} on port ${port}`);
    const nodes = matchMachines(await discoverNodes(targets, { port, timeoutMs, pins, identity, concurrency: 32 }), loaded.spec.machines);
    out(render(nodes, opts.output));
    const unmatched = nodes.filter((n) => !n.machine).length;
    say(`${nodes.length} node${nodes.length === 1 ? '' : 's'} found${unmatched ? `, ${unmatched} not in the spec` : ''}`);
}
