/**
 * Finding Talos nodes: probe addresses with bounded parallelism and short timeouts, read what each
 * node reports over COSI (UUID, links, addresses, disks, stage, version) and match it to the spec's
 * machines by MAC, or by UUID when the spec names one.
 */
import { normalizeMac, parseCidr, formatIpv4 } from '../../spec/net.js';
import { RESOURCES } from './cosi.js';
import { connectTalos } from './client.js';
import { TalosApiError, TalosPinMismatchError, TalosUnavailableError, TalosTimeoutError, TalosUnimplementedError } from './errors.js';
import type { PinStore } from './pins.js';
import type { TalosApi, TalosDisk } from './types.js';

export interface DiscoveredLink {
  name: string;
  mac: string;
  kind: string;
  speedMbit: number | null;
  state: string;
}

export type DiscoveredDisk = Pick<TalosDisk, 'name' | 'size' | 'model' | 'serial' | 'wwid' | 'transport' | 'rotational'>;

export interface DiscoveredNode {
  address: string;
  mode: 'maintenance' | 'configured';
  stage: string | null;
  talosVersion: string | null;
  /** The matched machine's name. */
  machine: string | null;
  uuid: string | null;
  hostname: string | null;
  macs: string[];
  disks: DiscoveredDisk[];
  links: DiscoveredLink[];
  addresses: string[];
  processors: number | null;
  memoryMiB: number | null;
  /** Why the node could not be read fully (e.g. configured without a talosconfig, a changed pin). */
  error?: string;
}

export interface DiscoverOptions {
  port?: number;
  timeoutMs?: number;
  concurrency?: number;
  pins: PinStore;
  /** The talosconfig identity (PEM) for nodes that are already configured. */
  identity?: { ca: string; crt: string; key: string };
}

export const MAX_SCAN_ADDRESSES = 4096;

/** The host addresses of IPv4 CIDRs (network and broadcast left out below /31), capped. */
export function expandTargets(cidrs: string[]): string[] {
  const out: string[] = [];
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (!c || c.ip.family !== 4) throw new TalosApiError(text, 'INVALID', `"${text}" is not an IPv4 CIDR`);
    const size = 2n ** BigInt(32 - c.prefix);
    if (Number(size) > MAX_SCAN_ADDRESSES) throw new TalosApiError(text, 'INVALID', `scanning /${c.prefix} is more than ${MAX_SCAN_ADDRESSES} addresses`);
    const [first, last] = c.prefix >= 31 ? [c.network, c.network + size - 1n] : [c.network + 1n, c.network + size - 2n];
    for (let v = first; v <= last; v++) out.push(formatIpv4(v));
  }
  return [...new Set(out)];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

async function readNode(api: TalosApi, address: string, mode: DiscoveredNode['mode']): Promise<DiscoveredNode> {
  const [status, sys, links, addrs, host, cpus, mem, disks, version] = await Promise.all([
    api.get<{ stage?: string }>(RESOURCES.machineStatus.namespace, RESOURCES.machineStatus.type, 'machine').catch(() => undefined),
    api.get<{ uuid?: string }>(RESOURCES.systemInformation.namespace, RESOURCES.systemInformation.type, 'systeminformation').catch(() => undefined),
    api.list<Record<string, unknown>>(RESOURCES.links.namespace, RESOURCES.links.type),
    api.list<{ address?: string }>(RESOURCES.addresses.namespace, RESOURCES.addresses.type),
    api.get<{ hostname?: string }>(RESOURCES.hostname.namespace, RESOURCES.hostname.type, 'hostname').catch(() => undefined),
    api.list(RESOURCES.processors.namespace, RESOURCES.processors.type).catch(() => []),
    api.list<{ size?: number }>(RESOURCES.memoryModules.namespace, RESOURCES.memoryModules.type).catch(() => []),
    api.disks(),
    api.version().then(
      (v) => v.tag,
      (err: unknown) => {
        if (err instanceof TalosUnimplementedError) return null; // v1.6 in maintenance mode
        throw err;
      },
    ),
  ]);
  const linkList: DiscoveredLink[] = links.map((l) => ({
    name: l.id,
    mac: normalizeMac(String(l.spec.hardwareAddr ?? '')),
    kind: String(l.spec.kind ?? ''),
    speedMbit: num(l.spec.speedMbit),
    state: String(l.spec.operationalState ?? ''),
  }));
  return {
    address,
    mode,
    stage: status?.spec.stage ?? null,
    talosVersion: version,
    machine: null,
    uuid: sys?.spec.uuid ?? null,
    hostname: host?.spec.hostname ?? null,
    macs: [...new Set(linkList.filter((l) => l.kind === '' && l.mac).map((l) => l.mac))],
    disks: disks.map(({ name, size, model, serial, wwid, transport, rotational }) => ({ name, size, model, serial, wwid, transport, rotational })),
    links: linkList,
    addresses: addrs.map((a) => a.spec.address ?? '').filter(Boolean),
    processors: cpus.length || null,
    memoryMiB: mem.length ? mem.reduce((s, m) => s + (m.spec.size ?? 0), 0) : null,
  };
}

const emptyNode = (address: string, mode: DiscoveredNode['mode'], error: string): DiscoveredNode => ({
  address,
  mode,
  stage: null,
  talosVersion: null,
  machine: null,
  uuid: null,
  hostname: null,
  macs: [],
  disks: [],
  links: [],
  addresses: [],
  processors: null,
  memoryMiB: null,
  error,
});

/** A configured node refuses a client without a certificate during or right after the handshake. */
function wantsClientCert(err: unknown): boolean {
  return err instanceof TalosUnavailableError && /certificate required|handshake failure|alert/i.test(err.message);
}

/** What one address is: a Talos node (maintenance or configured), or undefined when nothing answers. */
export async function probeNode(address: string, opts: DiscoverOptions): Promise<DiscoveredNode | undefined> {
  const common = { endpoint: address, port: opts.port, timeoutMs: opts.timeoutMs ?? 2000 };
  const m = connectTalos({ ...common, tls: { mode: 'maintenance', pins: opts.pins } });
  try {
    return await readNode(m, address, 'maintenance');
  } catch (err) {
    if (err instanceof TalosPinMismatchError) return emptyNode(address, 'maintenance', err.message);
    if (!wantsClientCert(err)) {
      if (err instanceof TalosUnavailableError || err instanceof TalosTimeoutError) return undefined;
      throw err;
    }
  } finally {
    m.close();
  }
  if (!opts.identity) return emptyNode(address, 'configured', 'configured node: give a talosconfig to read it');
  const c = connectTalos({ ...common, tls: { mode: 'configured', ...opts.identity } });
  try {
    return await readNode(c, address, 'configured');
  } catch (err) {
    if (err instanceof TalosApiError) return emptyNode(address, 'configured', err.message);
    throw err;
  } finally {
    c.close();
  }
}

/** Probes every address, at most `concurrency` at a time; nodes in address order. */
export async function discoverNodes(addresses: string[], opts: DiscoverOptions): Promise<DiscoveredNode[]> {
  const found: (DiscoveredNode | undefined)[] = new Array(addresses.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < addresses.length) {
      const i = next++;
      found[i] = await probeNode(addresses[i]!, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 32, addresses.length) }, worker));
  return found.filter((n): n is DiscoveredNode => n !== undefined);
}

export interface MachineKey {
  name: string;
  mac?: string;
  uuid?: string;
}

/** Sets `machine` on each node: the spec machine with the node's UUID (when named) or one of its MACs. */
export function matchMachines(nodes: DiscoveredNode[], machines: MachineKey[]): DiscoveredNode[] {
  return nodes.map((n) => {
    const byUuid = machines.find((m) => m.uuid && n.uuid && m.uuid.toLowerCase() === n.uuid.toLowerCase());
    const byMac = machines.find((m) => m.mac && n.macs.includes(normalizeMac(m.mac)));
    return { ...n, machine: (byUuid ?? byMac)?.name ?? null };
  });
}
