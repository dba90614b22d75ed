/**
 * Zero-touch installs (issue 13 §1–§2), wired into the composed server (server.ts):
 *
 *   - the Talos configs netboot serves, rendered once at start from the spec and a secrets bundle
 *     by the talos stage's own functions, so each is byte for byte the nodes/<name>.yaml that
 *     `hearth talos config` writes with the same spec and bundle (GET /talos/config: the route);
 *   - the boot plans: talos.config= for listed machines, local boot for installed ones;
 *   - --config-once re-armed by a new boot through hearth, and UUID-only machines tied to a lease.
 */
import { statSync } from 'node:fs';
import { InputError } from '../common/errors.js';
import type { LoadedSpec } from '../spec/index.js';
import type { TalosInputs } from '../talos/stage.js';
import { ConfigOnce, leaseRefusal, talosConfigRoute } from './http/talos-config.js';
import type { HttpRequest, HttpResponse } from './http/exchange.js';
import { InstallMarks } from './installs.js';
import type { ProgressTracker } from './progress/index.js';
import { findMachine, normalizeUuid, talosConfigQuery, type BootPlan, type ClientIdentity } from './render/index.js';

/** Whether a server serves configs: the flag, else the spec, else "when it has the secrets". */
export function talosConfigEnabled(flag: boolean | undefined, spec: boolean | undefined, secretsFile: string | undefined): boolean {
  return flag ?? spec ?? secretsFile !== undefined;
}

/**
 * Every machine's config by machines[].name. `inputs` are the patches and networking the pipeline
 * derived (src/pipeline/prepare.ts); absent, they are derived here the same way.
 */
export async function renderServedConfigs(
  loaded: LoadedSpec,
  secretsFile: string,
  inputs?: TalosInputs,
): Promise<{ configs: Map<string, string>; warnings: string[] }> {
  const talos = await import('../talos/stage.js');
  const bundle = talos.readSecretsFile(secretsFile);
  const warnings: string[] = [];
  const mode = statSync(secretsFile).mode & 0o777;
  if (mode & 0o077) warnings.push(`${secretsFile} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
  const derived = inputs ?? (await import('../pipeline/prepare.js')).prepareLoaded(loaded).talos;
  const result = await talos.generateTalos(loaded, bundle, derived);
  const configs = new Map<string, string>();
  for (const a of talos.configArtifacts(result)) {
    const name = /^nodes\/(.+)\.yaml$/.exec(a.path)?.[1];
    if (name !== undefined) configs.set(name, typeof a.content === 'string' ? a.content : Buffer.from(a.content).toString('utf8'));
  }
  return { configs, warnings };
}

export interface ZeroTouchOptions {
  secretsFile?: string;
  configOnce?: boolean;
  talosConfig?: boolean;
  talosInputs?: TalosInputs;
}

export interface ZeroTouch {
  /** Whether configs are served. */
  serving: boolean;
  installs: InstallMarks;
  /** A boot plan with talos.config= (listed machines, when serving) and local boot (installed ones). */
  decorate(plan: BootPlan, client: ClientIdentity): BootPlan;
  /** GET /talos/config, when serving. */
  route?: (req: HttpRequest) => HttpResponse;
  warnings: string[];
}

/**
 * Everything the server needs for zero-touch installs. `leasedMac` is the DHCP server's lease
 * table (the MAC holding an address); `dhcpFull`: hearth leases the addresses, so configs go only
 * to the machine's own lease. Throws InputError when configs are on without a bundle, or the
 * bundle or spec cannot render.
 */
export async function zeroTouch(
  loaded: LoadedSpec,
  opts: ZeroTouchOptions,
  deps: { stateDir: string; progress: ProgressTracker; leasedMac(ip: string): string | undefined; dhcpFull: boolean; log(line: string): void },
): Promise<ZeroTouch> {
  const spec = loaded.spec;
  const serving = talosConfigEnabled(opts.talosConfig, spec.netboot.talosConfig, opts.secretsFile);
  if (serving && !opts.secretsFile) {
    throw new InputError('netboot.talosConfig is true but the server has no secrets bundle: give --secrets FILE (from hearth talos secrets)');
  }
  const served = serving ? await renderServedConfigs(loaded, opts.secretsFile!, opts.talosInputs) : undefined;
  const installs = new InstallMarks(deps.stateDir, (mac) => findMachine(spec, { mac })?.name);
  const once = opts.configOnce ? new ConfigOnce() : undefined;
  // The MAC that last reported each UUID-only machine's UUID in DHCP (option 97): ties such a
  // machine to its lease. Only UUIDs machines[] lists are kept, so the map stays the spec's size.
  const specUuids = new Set(spec.machines.filter((m) => m.uuid && !m.mac).map((m) => normalizeUuid(m.uuid!)));
  const uuidMacs = new Map<string, string>();
  deps.progress.onChange((m, e) => {
    const uuid = e.kind.startsWith('dhcp-') && e.uuid ? normalizeUuid(e.uuid) : undefined;
    if (uuid && specUuids.has(uuid)) uuidMacs.set(uuid, m.mac);
    // A new boot through hearth (its iPXE script from its own lease, or DHCP from the start) re-arms --config-once.
    const ownScript = e.kind === 'http-script' && (!deps.dhcpFull || (e.ip !== undefined && deps.leasedMac(e.ip) === m.mac));
    if (once && m.name && (ownScript || e.kind === 'dhcp-discover')) once.rearm(m.name);
  });
  const decorate = (plan: BootPlan, client: ClientIdentity): BootPlan => {
    const machine = plan.machine ? spec.machines.find((x) => x.name === plan.machine) : undefined;
    const mac = client.mac ?? machine?.mac;
    const local = plan.boot && mac !== undefined && installs.isInstalled(mac);
    // A profile that points talos.config= elsewhere keeps it: Talos reads one config URL.
    const own = plan.kernelArgs.some((a) => a.startsWith('talos.config='));
    const query = serving && machine && !own ? talosConfigQuery(machine) : undefined;
    return { ...plan, ...(local ? { localBoot: true } : {}), ...(query ? { talosConfig: query } : {}) };
  };
  const route = served
    ? talosConfigRoute({
        findMachine: (id) => findMachine(spec, id),
        configFor: (name) => served.configs.get(name),
        addressRefusal: deps.dhcpFull ? (ip, m) => leaseRefusal(ip, m, deps.leasedMac(ip), uuidMacs) : undefined,
        once,
        events: deps.progress,
        log: deps.log,
      })
    : undefined;
  return { serving, installs, decorate, ...(route ? { route } : {}), warnings: served?.warnings ?? [] };
}
