/**
 * `hearth netboot serve` as a library: DHCP (full | proxy | off) + TFTP + HTTP/iPXE + progress in one
 * process, configured from the spec and the flags.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../common/errors.js';
import { RunEventBus } from '../pipeline/events.js';
import type { LoadedSpec } from '../spec/index.js';
import { parseDuration } from '../spec/index.js';
import { startDhcp, type DhcpServer } from './dhcp/index.js';
import { RecentMap } from '../common/recent-map.js';
import { createMetrics, type NetbootMetrics } from './metrics.js';
import { ProgressTracker } from './progress/index.js';
import {
  IPXE_BINARIES,
  OPTIONAL_IPXE_BINARIES,
  allowBoot,
  findMachine,
  resolveBoot,
  resolveServerConfig,
  type ServerConfig,
  type ServerOverrides,
} from './render/index.js';
import { startHttp, warmHttp, type HttpServer, type HttpServerOptions } from './http/index.js';
import { startTftp, type TftpServer } from './tftp/index.js';
import { firstDhcpAnswer } from './first-answer.js';
import type { InstallMarks } from './installs.js';
import { zeroTouch } from './talos-configs.js';
import type { TalosInputs } from '../talos/stage.js';

export interface NetbootServeOptions extends ServerOverrides {
  /** Lease database directory (default: .hearth/netboot beside hearth.yaml). */
  stateDir?: string;
  /** DHCP server port (tests); default 67. */
  dhcpPort?: number;
  /** DHCP client port (tests); default 68. */
  dhcpClientPort?: number;
  /** A secrets bundle (`hearth talos secrets`): with it the server can serve Talos configs. */
  secretsFile?: string;
  /** Serve each config once per boot through hearth (re-armed by the machine's next iPXE script or DHCP discover). */
  configOnce?: boolean;
  /** Serve Talos configs (talos.config= in the scripts); default netboot.talosConfig, else whether secretsFile is given. */
  talosConfig?: boolean;
  /** The patches and networking to render configs with (the pipeline's); default: derived from the spec as `hearth talos config` does. */
  talosInputs?: TalosInputs;
  /** Where refusals and other operational lines go; default stderr. */
  log?(line: string): void;
  /** The run's event stream (`hearth up` passes its own); machines' progress goes onto it, the dashboard reads it. */
  bus?: RunEventBus;
}

export interface NetbootServer {
  config: ServerConfig & { serverIp: string; netmask: string; stateDir: string; httpBase: string };
  progress: ProgressTracker;
  /** Every boot event and machine timeline change, as RunEvents (the dashboard at / streams it). */
  bus: RunEventBus;
  metrics: NetbootMetrics;
  http: HttpServer;
  tftp: TftpServer;
  dhcp?: DhcpServer;
  /** Machines seen installed: their scripts boot the local disk (STATE_DIR/installed.json). */
  installs: InstallMarks;
  /** Whether the server serves Talos configs (GET /talos/config, talos.config= in scripts). */
  talosConfig: boolean;
  /** Missing optional files (iPXE binaries), for warnings. */
  warnings: string[];
  /** The start's warm-up download (http/warm.ts; after DHCP's first answer, see first-answer.ts): its bytes once done, 0 when it did not run (no kernel, closed first) or failed. */
  warmup: Promise<number>;
  /** Stops booting machines: DHCP and TFTP closed, HTTP serves only the dashboard, its stream and /api/machines until close(). */
  stopBooting(): Promise<void>;
  close(): Promise<void>;
}

/**
 * IPv4 addresses of one interface from iproute2. os.networkInterfaces() (libuv) leaves out links
 * without carrier, such as a bridge whose ports are all down before the first machine powers on.
 */
function ipRouteAddresses(iface: string): os.NetworkInterfaceInfo[] | undefined {
  try {
    const out = execFileSync('ip', ['-4', '-j', 'addr', 'show', 'dev', iface], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const links = JSON.parse(out) as { addr_info?: { family: string; local: string; prefixlen: number }[] }[];
    if (links.length === 0) return undefined;
    return (links[0]!.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => {
        const mask = a.prefixlen === 0 ? 0 : (0xffffffff << (32 - a.prefixlen)) >>> 0;
        const netmask = [24, 16, 8, 0].map((sh) => (mask >>> sh) & 255).join('.');
        return { address: a.local, netmask, family: 'IPv4', mac: '', internal: false, cidr: `${a.local}/${a.prefixlen}` };
      });
  } catch {
    return undefined;
  }
}

/** The interface's IPv4 address and netmask (the given address must be one of its addresses). */
function interfaceAddress(iface: string | undefined, address: string | undefined): { ip: string; netmask: string } {
  const all = os.networkInterfaces();
  if (iface !== undefined) {
    const list = all[iface] ?? ipRouteAddresses(iface);
    if (!list) throw new InputError(`network interface ${iface} does not exist here (netboot.interface / --interface)`);
    const v4 = list.filter((a) => a.family === 'IPv4');
    const hit = address ? v4.find((a) => a.address === address) : v4[0];
    if (!hit) {
      throw new InputError(
        address ? `${address} is not an address of ${iface} (netboot.address / --address)` : `interface ${iface} has no IPv4 address; give netboot.address`,
      );
    }
    return { ip: hit.address, netmask: hit.netmask };
  }
  if (address) {
    for (const list of Object.values(all)) {
      const hit = list?.find((a) => a.family === 'IPv4' && a.address === address);
      if (hit) return { ip: hit.address, netmask: hit.netmask };
    }
    throw new InputError(`${address} is not an address of this host (netboot.address)`);
  }
  throw new InputError('netboot.interface (or --interface) is required: hearth serves on one interface only');
}

/**
 * Checks that the files `serve` hands out exist. Assets are required (InputError naming the first
 * missing file); missing iPXE binaries only produce warnings (iPXE option ROMs do not need them).
 */
export function checkNetbootFiles(config: ServerConfig): string[] {
  const need = (file: string, what: string) => {
    if (!existsSync(file)) throw new InputError(`${what} ${file} does not exist`);
  };
  need(config.assets, 'assets directory (netboot.assets)');
  if (!statSync(config.assets).isDirectory()) throw new InputError(`netboot.assets ${config.assets} is not a directory`);
  const files = new Set<string>();
  for (const m of [...config.machines, { kernel: '', initrd: [] as string[] }]) {
    if (m.kernel) files.add(m.kernel);
    m.initrd.forEach((f) => files.add(f));
  }
  for (const f of files) need(path.join(config.assets, f), 'boot file');
  const warnings: string[] = [];
  for (const b of IPXE_BINARIES) {
    if (!existsSync(path.join(config.ipxe, b))) warnings.push(`${path.join(config.ipxe, b)} is missing (install Debian's ipxe package or set netboot.ipxe); PXE clients asking for it get "file not found"`);
  }
  return warnings;
}

/**
 * Puts what the tracker sees on the bus: the machine's timeline after each change (a shallow copy
 * is a snapshot: the tracker replaces its arrays rather than changing them), then the boot event
 * with the MAC it was tied to (not the per-second download progress). Runs for every DHCP packet,
 * so it copies nothing it does not have to.
 */
export function publishProgress(progress: ProgressTracker, bus: RunEventBus): () => void {
  return progress.onChange((m, e) => {
    bus.emit({ type: 'machine', at: e.at, machine: { ...m } });
    if (e.kind !== 'http-asset-progress') bus.emit({ type: 'boot', at: e.at, boot: e.mac === m.mac ? e : { ...e, mac: m.mac } });
  });
}

/**
 * `fn` (a pure function of the MAC, such as the spec's boot decision) remembered for the most
 * recently asked MACs, so the DHCP hot path does not match profiles on every packet.
 */
export function memoByMac<T>(fn: (mac: string) => T, cap = 4096): (mac: string) => T {
  const known = new RecentMap<string, T>(cap);
  return (mac) => {
    const v = known.get(mac);
    if (v !== undefined || known.has(mac)) return v as T;
    const made = fn(mac);
    known.set(mac, made);
    return made;
  };
}

/** How long the HTTP warm-up waits for DHCP's first answer before it runs anyway. */
const WARM_WAIT_MS = 1000;

export async function startNetboot(loaded: LoadedSpec, opts: NetbootServeOptions = {}): Promise<NetbootServer> {
  const spec = loaded.spec;
  const config = resolveServerConfig(spec, loaded.baseDir, opts);
  // Default machine's files too: an unknown machine gets the default profile.
  const defaults = { kernel: spec.netboot.kernel, initrd: spec.netboot.initrd };
  const warnings = checkNetbootFiles({ ...config, machines: [...config.machines, { name: '', profile: 'default', boot: true, kernelArgs: [], ...defaults }] });
  for (const p of spec.netboot.profiles) {
    if (!p.boot) continue;
    if (p.kernel && !existsSync(path.join(config.assets, p.kernel))) throw new InputError(`boot file ${path.join(config.assets, p.kernel)} does not exist (profile ${p.name})`);
    for (const f of p.initrd ?? []) if (!existsSync(path.join(config.assets, f))) throw new InputError(`boot file ${path.join(config.assets, f)} does not exist (profile ${p.name})`);
  }
  if (config.dhcp.mode !== 'off' && !config.interface) {
    throw new InputError('netboot.interface (or --interface) is required when DHCP is on: hearth answers on one interface only');
  }
  const { ip: serverIp, netmask } = interfaceAddress(config.interface, config.address);
  const stateDir = path.resolve(opts.stateDir ?? path.join(loaded.baseDir, '.hearth', 'netboot'));
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  let httpBase = `http://${serverIp}:${config.httpPort}`;
  const metrics = createMetrics();
  let dhcp: DhcpServer | undefined;
  const progress = new ProgressTracker({
    nameForMac: (mac) => findMachine(spec, { mac })?.name,
    macForIp: (ip) => dhcp?.macForIp(ip),
  });
  // Rendered before binding any port: a spec or bundle that cannot render stops here.
  const zt = await zeroTouch(loaded, opts, { stateDir, progress, leasedMac: (ip) => dhcp?.macForIp(ip), dhcpFull: config.dhcp.mode === 'full', log });
  warnings.push(...zt.warnings);
  const bus = opts.bus ?? new RunEventBus();
  const unpublish = publishProgress(progress, bus);
  const closers: (() => Promise<void>)[] = [async () => void unpublish()];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  /** A closer that runs once, whether booting stops first or the whole server closes. */
  const once = (fn: () => Promise<void>) => {
    let done: Promise<void> | undefined;
    return () => (done ??= fn());
  };
  /** Binds DHCP (when on), answering with `httpBase`. */
  const bindDhcp = async () => {
    if (config.dhcp.mode === 'off') return;
    const [first, last] = config.dhcp.range?.split('-').map((s) => s.trim()) ?? [];
    dhcp = await startDhcp({
      mode: config.dhcp.mode,
      interface: config.interface!,
      serverIp,
      netmask,
      range: first && last ? { first, last } : undefined,
      router: config.dhcp.router,
      dns: config.dhcp.dns,
      leaseTimeSec: Math.round(parseDuration(config.dhcp.leaseTime) / 1000),
      reservations: config.dhcp.reservations,
      boot: { httpBase, tftpServer: serverIp, chainload: config.chainload, allowBoot: memoByMac((mac) => allowBoot(spec, mac)) },
      stateDir,
      events: progress,
      metrics,
      ...(opts.dhcpPort ? { port: opts.dhcpPort } : {}),
      ...(opts.dhcpClientPort ? { clientPort: opts.dhcpClientPort } : {}),
    });
    const d = dhcp;
    closers.push(() => d.close());
  };
  // DHCP is bound first when it can be (its answers name the HTTP port: known unless it is 0):
  // `netboot serve` owes the first answer within 0.3 s of its start (issue 11), and TFTP and HTTP
  // are up within milliseconds, long before a client that got an OFFER asks either.
  const dhcpFirst = config.httpPort !== 0;
  // Waiting from before DHCP binds, so it sees the first answer (first-answer.ts; used below).
  const gate = config.dhcp.mode !== 'off' ? firstDhcpAnswer(progress, WARM_WAIT_MS) : undefined;
  closers.push(async () => gate?.cancel());
  try {
    if (dhcpFirst) await bindDhcp();
    const files = Object.fromEntries([...IPXE_BINARIES, ...OPTIONAL_IPXE_BINARIES].map((b) => [b, path.join(config.ipxe, b)]));
    const tftp = await startTftp({ address: serverIp, port: config.tftpPort, root: config.assets, files, metrics, events: progress, macForIp: (ip) => progress.macForIp(ip) });
    const closeTftp = once(() => tftp.close());
    closers.push(closeTftp);
    const httpOpts: HttpServerOptions = {
      address: serverIp,
      port: config.httpPort,
      resolveBoot: (client) => zt.decorate(resolveBoot(spec, client), client),
      assets: config.assets,
      ipxe: config.ipxe,
      metrics,
      events: progress,
      // Port 0 (tests) picks a free port: scripts then take the base from the Host header.
      httpBase: config.httpPort ? httpBase : undefined,
      macForIp: (ip) => progress.macForIp(ip),
      machines: () => progress.list(),
      log,
      ...(zt.route ? { talosConfig: zt.route } : {}),
      bus,
    };
    const http = await startHttp(httpOpts);
    closers.push(() => http.close());
    httpBase = `http://${serverIp}:${http.port}`;
    if (!dhcpFirst) await bindDhcp();
    // The first client's download at warm speed (http/warm.ts), once DHCP has answered its first
    // client (first-answer.ts), or WARM_WAIT_MS without one; at once without DHCP. Closing cancels
    // a wait and waits for a warm-up under way (at most 2 s).
    const kernel = defaults.kernel && existsSync(path.join(config.assets, defaults.kernel)) ? defaults.kernel : undefined;
    const warmup = kernel ? (gate?.done ?? Promise.resolve(true)).then((go) => (go ? warmHttp(httpOpts, kernel) : 0)) : Promise.resolve(0);
    closers.push(() => (gate?.cancel(), warmup.then(() => undefined)));
    const stopBooting = async () => {
      http.stopBooting();
      await Promise.all([dhcp?.close(), closeTftp()].map((p) => p?.catch(() => undefined)));
    };
    return {
      config: { ...config, httpPort: http.port, tftpPort: tftp.port, serverIp, netmask, stateDir, httpBase },
      progress,
      bus,
      metrics,
      http,
      tftp,
      dhcp,
      installs: zt.installs,
      talosConfig: zt.serving,
      warnings,
      warmup,
      stopBooting,
      close: closeAll,
    };
  } catch (e) {
    // Each server turns a refused bind into a BindError (an InputError) where it knows the errno.
    await closeAll();
    throw e;
  }
}
