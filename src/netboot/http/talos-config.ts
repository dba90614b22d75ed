/**
 * GET /talos/config?mac=MAC (or ?uuid=UUID): a machine's Talos machine config, the URL the
 * `talos.config=` kernel argument points at. A config carries the cluster's secrets, so it is served
 * only when every check passes; anything else is 403 with a log line naming the requester:
 *
 *   - the MAC/UUID is one machines[] lists;
 *   - when hearth runs the DHCP server: the requester's address is the one hearth leased to that MAC;
 *   - with --config-once: the machine has not fetched it since it last booted through hearth.
 *
 * Each fetch and each refusal is a boot event. The config text is never logged nor put in an event.
 */
import type { BootEvents } from '../events.js';
import { normalizeMac, normalizeUuid } from '../render/index.js';
import { text, type HttpRequest, type HttpResponse } from './exchange.js';

/** The machines[] entry a request names (name plus the identities the spec gives it). */
export interface ConfigMachine {
  name: string;
  mac?: string;
  uuid?: string;
}

export interface TalosConfigRouteOptions {
  /** The machines[] entry with this MAC or UUID. */
  findMachine(id: { mac?: string; uuid?: string }): ConfigMachine | undefined;
  /** The machine's rendered config (the text `hearth talos config` writes to nodes/<name>.yaml). */
  configFor(name: string): string | undefined;
  /**
   * When hearth runs the DHCP server: why `ip` may not have this machine's config (it is not the
   * address hearth leased to the machine), or undefined when it may. Absent: no address check.
   */
  addressRefusal?(ip: string, machine: ConfigMachine): string | undefined;
  /** --config-once: the per-boot gate. */
  once?: ConfigOnce;
  events: BootEvents;
  log(line: string): void;
  now?(): number;
}

/**
 * --config-once: a machine's config is served once, then refused until the machine boots through
 * hearth again (the server calls rearm when it fetches its iPXE script or starts DHCP afresh).
 */
export class ConfigOnce {
  private readonly served = new Set<string>();

  /** True the first time for a machine since it was last re-armed. */
  take(name: string): boolean {
    if (this.served.has(name)) return false;
    this.served.add(name);
    return true;
  }

  rearm(name: string): void {
    this.served.delete(name);
  }
}

/**
 * With hearth's DHCP server: a config goes only to the address hearth leased to the machine's MAC
 * (`leased`: the MAC holding the requester's address). A machine machines[] names by UUID only
 * goes to the lease of the MAC that last reported that UUID in DHCP (`uuidMacs`: UUID -> MAC).
 * The reason for a refusal, or undefined.
 */
export function leaseRefusal(ip: string, m: ConfigMachine, leased: string | undefined, uuidMacs: ReadonlyMap<string, string>): string | undefined {
  if (!leased) return `${ip} holds no lease from hearth`;
  if (m.mac) return normalizeMac(m.mac) === leased ? undefined : `${ip} is leased to ${leased}, not to ${m.name}`;
  if (m.uuid && uuidMacs.get(normalizeUuid(m.uuid)) === leased) return undefined;
  return `${ip} is leased to ${leased}, which did not report ${m.name}'s uuid in DHCP`;
}

const MAC_RE = /^[0-9a-f]{12}$/i;
const UUID_RE = /^[0-9a-f]{32}$/i;

/** The identity in the query: a well-formed MAC or UUID, or why there is none. */
function identity(q: URLSearchParams): { mac?: string; uuid?: string } | string {
  const mac = q.get('mac');
  const uuid = q.get('uuid');
  if (mac) return MAC_RE.test(mac.replace(/[:-]/g, '')) ? { mac: normalizeMac(mac) } : 'malformed mac';
  if (uuid) return UUID_RE.test(uuid.replace(/[{}-]/g, '')) ? { uuid: normalizeUuid(uuid) } : 'malformed uuid';
  return 'no mac or uuid in the query';
}

/** A short printable form of what a refused request claimed (never more than 40 characters of it). */
function claimed(q: URLSearchParams): string {
  const raw = q.get('mac') ? `mac=${q.get('mac')}` : q.get('uuid') ? `uuid=${q.get('uuid')}` : 'no identity';
  return raw.replace(/[^\x21-\x7e]/g, '?').slice(0, 40);
}

export function talosConfigRoute(opts: TalosConfigRouteOptions): (req: HttpRequest) => HttpResponse {
  const now = opts.now ?? Date.now;
  const refuse = (req: HttpRequest, why: string, mac?: string): HttpResponse => {
    opts.log(`hearth netboot: refused the Talos config to ${req.ip} (${claimed(req.query)}): ${why}`);
    opts.events.emit({ kind: 'talos-config-refused', at: now(), ip: req.ip, ...(mac ? { mac } : {}), file: req.path, detail: why });
    return text(403, `forbidden: ${why}\n`);
  };
  return (req) => {
    const id = identity(req.query);
    if (typeof id === 'string') return refuse(req, id);
    const machine = opts.findMachine(id);
    if (!machine) return refuse(req, `${id.mac ? `mac ${id.mac}` : `uuid ${id.uuid}`} is not in machines[]`);
    const mac = machine.mac ? normalizeMac(machine.mac) : id.mac;
    const wrongAddress = opts.addressRefusal?.(req.ip, machine);
    if (wrongAddress) return refuse(req, wrongAddress);
    const config = opts.configFor(machine.name);
    if (config === undefined) return refuse(req, `no config rendered for ${machine.name}`, mac);
    // A HEAD shows the size without using up the one fetch.
    if (req.method === 'GET' && opts.once && !opts.once.take(machine.name)) {
      return refuse(req, `${machine.name} already fetched its config during this boot (--config-once)`, mac);
    }
    // Only a GET is a fetch (a HEAD gets the headers alone).
    const bytes = Buffer.byteLength(config);
    if (req.method === 'GET') opts.events.emit({ kind: 'talos-config', at: now(), ip: req.ip, ...(mac ? { mac } : {}), file: req.path, bytes, detail: machine.name });
    return text(200, config, 'application/yaml');
  };
}
