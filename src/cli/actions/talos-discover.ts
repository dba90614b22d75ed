/** `hearth talos discover`: the action (see commands/talos-discover.ts for the options). */
import { parse } from 'yaml';
import { InputError } from '../../common/errors.js';
import { readInputFile } from '../../common/fs.js';
import { formatCidrNetwork, parseCidr } from '../../spec/net.js';
import type { LoadedSpec } from '../../spec/index.js';
import { prepare } from '../../pipeline/prepare.js';
import { discoverNodes, expandTargets, matchMachines, FilePinStore, MemoryPinStore, TalosApiError, type DiscoveredNode } from '../../talos/api/index.js';
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

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** Default targets: every machine's address and subnet from the spec. */
function specTargets(loaded: LoadedSpec): { cidrs: string[]; addresses: string[] } {
  const cidrs = new Set<string>();
  const addresses = new Set<string>();
  for (const m of loaded.spec.machines) {
    const c = m.address ? parseCidr(m.address) : undefined;
    if (!c || c.ip.family !== 4) continue;
    addresses.add(c.ip.text);
    cidrs.add(formatCidrNetwork(c));
  }
  return { cidrs: [...cidrs], addresses: [...addresses] };
}

/** The os:admin identity of a talosconfig's current context (PEM). */
function talosconfigIdentity(file: string): { ca: string; crt: string; key: string } {
  const doc = parse(readInputFile(file, 'talosconfig'));
  const ctx = doc?.contexts?.[doc?.context];
  const pem = (v: unknown) => (typeof v === 'string' && v ? Buffer.from(v, 'base64').toString('utf8') : '');
  const id = { ca: pem(ctx?.ca), crt: pem(ctx?.crt), key: pem(ctx?.key) };
  if (!id.ca || !id.crt || !id.key) throw new InputError(`talosconfig ${file}: the current context has no ca, crt and key`);
  return id;
}

function number(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(`${what} must be an integer from ${min} to ${max}, not "${text}"`);
  return n;
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
    const port = number(opts.port, '--port', 1, 65535);
    const timeoutMs = number(opts.timeout, '--timeout', 50, 60_000);
    const identity = opts.talosconfig ? talosconfigIdentity(opts.talosconfig) : undefined;
    let targets: string[];
    try {
      const fromSpec = specTargets(loaded);
      // --scan / --endpoints replace the spec's networks; without either, scan those
      const explicit = opts.scan !== undefined || opts.endpoints !== undefined;
      const scan = explicit ? list(opts.scan) : fromSpec.cidrs;
      const direct = explicit ? list(opts.endpoints) : fromSpec.addresses;
      targets = [...new Set([...direct, ...expandTargets(scan)])];
    } catch (err) {
      if (err instanceof TalosApiError) throw new InputError(err.detail);
      throw err;
    }
    if (targets.length === 0) throw new InputError('nothing to scan: give --scan or --endpoints, or machines with addresses in the spec');
    const pins = opts.state ? new FilePinStore(opts.state) : new MemoryPinStore();
    say(`probing ${targets.length} address${targets.length === 1 ? '' : 'es'} on port ${port}`);
    const nodes = matchMachines(await discoverNodes(targets, { port, timeoutMs, pins, identity, concurrency: 32 }), loaded.spec.machines);
    out(render(nodes, opts.output));
    const unmatched = nodes.filter((n) => !n.machine).length;
    say(`${nodes.length} node${nodes.length === 1 ? '' : 's'} found${unmatched ? `, ${unmatched} not in the spec` : ''}`);
}
