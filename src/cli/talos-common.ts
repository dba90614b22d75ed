/** What the Talos commands' actions share: which addresses to probe. */
import { InputError } from '../common/errors.js';
import { formatCidrNetwork, parseCidr } from '../spec/net.js';
import type { LoadedSpec } from '../spec/index.js';
import { list } from './options.js';
import { expandTargets, TalosApiError } from '../talos/api/index.js';

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

/**
 * The addresses `hearth netboot serve` has leased, from its state directory (read without its lock
 * while it runs): every bound lease that is fixed or not yet expired. None when `stateDir` is unset
 * or holds no leases.
 */
export async function leasedAddresses(stateDir: string | undefined, now = Date.now()): Promise<string[]> {
  if (!stateDir) return [];
  const { readLeaseState } = await import('../netboot/dhcp/leases/files.js');
  const { leases } = await readLeaseState(stateDir);
  return leases.filter((l) => l.state === 'bound' && (l.fixed || l.expiresAt > now)).map((l) => l.ip);
}

/**
 * The addresses to probe: --scan/--endpoints when either is given, else the spec machines'
 * networks; plus `leased` (the netboot server's leases, see leasedAddresses) either way.
 */
export function probeTargets(loaded: LoadedSpec, opts: { scan?: string; endpoints?: string }, leased: string[] = []): string[] {
  let targets: string[];
  try {
    const fromSpec = specTargets(loaded);
    const explicit = opts.scan !== undefined || opts.endpoints !== undefined;
    const scan = explicit ? list(opts.scan) : fromSpec.cidrs;
    const direct = explicit ? list(opts.endpoints) : fromSpec.addresses;
    targets = [...new Set([...direct, ...leased, ...expandTargets(scan)])];
  } catch (err) {
    if (err instanceof TalosApiError) throw new InputError(err.detail);
    throw err;
  }
  if (targets.length === 0) throw new InputError('nothing to scan: give --scan or --endpoints, or machines with addresses in the spec');
  return targets;
}
