/**
 * Pure renderers of the netboot stage: which profile a machine gets, the iPXE scripts it is
 * served, and the resolved server configuration. Spec in, text out; no I/O. Used by the HTTP
 * server at run time and by `hearth plan`.
 */
import type { Machine, NetbootSpec, Spec } from '../../spec/index.js';
import { DEFAULT_KERNEL_ARGS } from '../../spec/index.js';
import { normalizeMac } from '../../spec/net.js';

export type NetbootProfile = NetbootSpec['profiles'][number];

/** What a booting machine tells us about itself (from the script URL or DHCP). */
export interface ClientIdentity {
  mac?: string;
  uuid?: string;
  hostname?: string;
}

/** The boot decision for one machine. */
export interface BootPlan {
  /** machines[].name when the client is a known machine. */
  machine?: string;
  /** Name of the profile that matched, `default` when none did. */
  profile: string;
  boot: boolean;
  kernel: string;
  initrd: string[];
  kernelArgs: string[];
  /** Why boot is false. */
  reason?: string;
  /**
   * The query of this machine's Talos config URL (`mac=...` or `uuid=...`) when hearth serves
   * configs (netboot.talosConfig): the script adds talos.config=BASE/talos/config?QUERY.
   */
  talosConfig?: string;
  /** The machine is installed: its script boots the local disk instead (renderLocalBootScript). */
  localBoot?: boolean;
}

/** iPXE binaries hearth serves over TFTP and HTTP, by file name. */
export const IPXE_BINARIES = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'] as const;
export type IpxeBinary = (typeof IPXE_BINARIES)[number];
/** Served too when present in the iPXE directory (arm64 builds, the keep-UNDI variant); never required. */
export const OPTIONAL_IPXE_BINARIES = ['snponly-arm64.efi', 'ipxe-arm64.efi', 'undionly.kkpxe'] as const;

export { normalizeMac };

/** Lower-case, hyphenated SMBIOS UUID without braces, for comparisons. */
export function normalizeUuid(uuid: string): string {
  const hex = uuid.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length !== 32) return uuid.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The machines[] entry a client is, by MAC, then UUID, then hostname. */
export function findMachine(spec: Spec, client: ClientIdentity): Machine | undefined {
  const mac = client.mac ? normalizeMac(client.mac) : undefined;
  const uuid = client.uuid ? normalizeUuid(client.uuid) : undefined;
  return (
    (mac && spec.machines.find((m) => m.mac && normalizeMac(m.mac) === mac)) ||
    (uuid && spec.machines.find((m) => m.uuid && normalizeUuid(m.uuid) === uuid)) ||
    (client.hostname && spec.machines.find((m) => (m.hostname ?? m.name) === client.hostname)) ||
    undefined
  );
}

/** Number of selectors a profile uses; the most specific matching profile wins (matchbox groups). */
function specificity(p: NetbootProfile): number {
  return Object.values(p.match).filter((v) => Array.isArray(v) && v.length > 0).length;
}

function profileMatches(p: NetbootProfile, client: ClientIdentity, machine: Machine | undefined): boolean {
  const { mac, uuid, hostname, role } = p.match;
  const cMac = client.mac ? normalizeMac(client.mac) : machine?.mac ? normalizeMac(machine.mac) : undefined;
  const cUuid = client.uuid ? normalizeUuid(client.uuid) : machine?.uuid ? normalizeUuid(machine.uuid) : undefined;
  const cHost = machine ? (machine.hostname ?? machine.name) : client.hostname;
  if (mac?.length && !(cMac && mac.some((m) => normalizeMac(m) === cMac))) return false;
  if (uuid?.length && !(cUuid && uuid.some((u) => normalizeUuid(u) === cUuid))) return false;
  if (hostname?.length && !(cHost && hostname.includes(cHost))) return false;
  if (role?.length && !(machine && role.includes(machine.role))) return false;
  return true;
}

/** Picks the profile for a client: the most specific matching one (earliest on ties), else the default. */
export function resolveBoot(spec: Spec, client: ClientIdentity): BootPlan {
  const nb = spec.netboot;
  const machine = findMachine(spec, client);
  let best: NetbootProfile | undefined;
  for (const p of nb.profiles) {
    if (profileMatches(p, client, machine) && (!best || specificity(p) > specificity(best))) best = p;
  }
  const base = {
    machine: machine?.name,
    kernel: best?.kernel ?? nb.kernel,
    initrd: best?.initrd ?? nb.initrd,
    kernelArgs: [...(best?.kernelArgs ?? nb.kernelArgs ?? DEFAULT_KERNEL_ARGS), ...(best?.extraKernelArgs ?? [])],
  };
  if (best) {
    return best.boot
      ? { ...base, profile: best.name, boot: true }
      : { ...base, profile: best.name, boot: false, reason: `profile ${best.name} says boot: false` };
  }
  if (!machine && nb.unknownMachines === 'ignore') {
    return { ...base, profile: 'default', boot: false, reason: 'unknown machine and unknownMachines: ignore' };
  }
  return { ...base, profile: 'default', boot: true };
}

/** Whether a MAC gets boot information at all (the DHCP server's allowBoot). */
export function allowBoot(spec: Spec, mac: string): boolean {
  return resolveBoot(spec, { mac }).boot;
}

/** URL path of an asset file (kept as path segments, each percent-encoded). */
export function assetPath(file: string): string {
  return `/assets/${file.split('/').map(encodeURIComponent).join('/')}`;
}

function basename(file: string): string {
  return file.split('/').pop() ?? file;
}

/** An iPXE script argument must not break the line or inject a command. */
function ipxeSafe(s: string): string {
  return s.replace(/[\r\n]/g, ' ');
}

/**
 * /boot.ipxe: the first script every iPXE fetches. It chains to the per-machine script with the
 * machine's identity in the URL, so the server can pick its profile and track its progress.
 */
export function renderBootScript(httpBase: string): string {
  return [
    '#!ipxe',
    '# hearth: chain to this machine\'s own script',
    'echo hearth: ${net0/mac} (${platform} ${buildarch}) asks for its boot script',
    `chain ${httpBase}/ipxe?mac=\${net0/mac}&uuid=\${uuid}&buildarch=\${buildarch}&platform=\${platform} || goto failed`,
    ':failed',
    'echo hearth: could not fetch the machine script; retrying in 5 s',
    'sleep 5',
    `chain ${httpBase}/boot.ipxe`,
    '',
  ].join('\n');
}

/** URL path of the Talos machine configs (GET /talos/config?mac=...). */
export const TALOS_CONFIG_PATH = '/talos/config';

/**
 * The query naming a machine in its talos.config URL: its MAC when machines[] gives one, else its
 * UUID. The value is written out rather than left as Talos's `${mac}`: iPXE expands `${...}` in
 * the kernel line itself before Talos ever sees it, and hearth already knows which machine it is.
 */
export function talosConfigQuery(machine: Pick<Machine, 'mac' | 'uuid'>): string | undefined {
  if (machine.mac) return `mac=${normalizeMac(machine.mac)}`;
  if (machine.uuid) return `uuid=${normalizeUuid(machine.uuid)}`;
  return undefined;
}

/**
 * The script of an installed machine: boot the local disk. On BIOS iPXE, `exit` does not fall
 * through to the disk on every firmware (a chained undionly.kpxe returns to the PXE ROM), so it
 * boots BIOS drive 0x80 itself; UEFI firmware boots the next boot entry after `exit`. Either
 * way, `exit` is the fallback when sanboot fails.
 */
export function renderLocalBootScript(plan: BootPlan): string {
  const who = plan.machine ? `machine ${plan.machine}` : 'this machine';
  return [
    '#!ipxe',
    `echo hearth: ${who} is installed; booting from its local disk`,
    'iseq ${platform} pcbios && sanboot --no-describe --drive 0x80 ||',
    'exit',
    '',
  ].join('\n');
}

/** The per-machine iPXE script: kernel, initrds and kernel arguments of its profile. */
export function renderMachineScript(plan: BootPlan, httpBase: string): string {
  const who = plan.machine ? `machine ${plan.machine}` : 'an unknown machine';
  if (plan.boot && plan.localBoot) return renderLocalBootScript(plan);
  if (!plan.boot) {
    return ['#!ipxe', `echo hearth: no network boot for ${who} (${plan.reason ?? 'not allowed'}); trying the next boot device`, 'exit 1', ''].join('\n');
  }
  // UEFI iPXE boots the kernel through its EFI stub, which only loads initrds named by initrd=<name>.
  const initrdArgs = plan.initrd.map((f) => `initrd=${basename(f)}`);
  const talosConfig = plan.talosConfig ? [`talos.config=${httpBase}${TALOS_CONFIG_PATH}?${plan.talosConfig}`] : [];
  const args = [...initrdArgs, ...plan.kernelArgs, ...talosConfig].map(ipxeSafe).join(' ');
  return [
    '#!ipxe',
    `echo hearth: booting ${who} with profile ${plan.profile}`,
    `kernel ${httpBase}${assetPath(plan.kernel)} ${args}`.trimEnd(),
    ...plan.initrd.map((f) => `initrd ${httpBase}${assetPath(f)}`),
    'boot',
    '',
  ].join('\n');
}

/** The settings `hearth netboot serve` runs with, after flags and defaults. */
export interface ServerConfig {
  interface?: string;
  address?: string;
  dhcp: {
    mode: 'full' | 'proxy' | 'off';
    range?: string;
    router?: string;
    dns: string[];
    leaseTime: string;
    reservations: { mac: string; ip: string; hostname: string }[];
  };
  httpPort: number;
  tftpPort: number;
  chainload: boolean;
  assets: string;
  ipxe: string;
  unknownMachines: 'boot' | 'ignore';
  machines: { name: string; mac?: string; uuid?: string; profile: string; boot: boolean; kernel: string; initrd: string[]; kernelArgs: string[] }[];
}

export interface ServerOverrides {
  interface?: string;
  address?: string;
  dhcpMode?: 'full' | 'proxy' | 'off';
  httpPort?: number;
  tftpPort?: number;
}

/** Joins the spec, the flags and the defaults into one configuration (paths resolved against baseDir). */
export function resolveServerConfig(spec: Spec, baseDir: string, over: ServerOverrides = {}): ServerConfig {
  const nb = spec.netboot;
  const join = (p: string) => (p.startsWith('/') ? p : `${baseDir.replace(/\/$/, '')}/${p.replace(/^\.\//, '')}`);
  return {
    interface: over.interface ?? nb.interface,
    address: over.address ?? nb.address,
    dhcp: {
      mode: over.dhcpMode ?? nb.dhcp.mode,
      range: nb.dhcp.range,
      router: nb.dhcp.router,
      dns: nb.dhcp.dns,
      leaseTime: nb.dhcp.leaseTime,
      reservations: spec.machines
        .filter((m) => m.mac && m.address)
        .map((m) => ({ mac: normalizeMac(m.mac!), ip: m.address!.split('/')[0]!, hostname: m.hostname ?? m.name })),
    },
    httpPort: over.httpPort ?? nb.httpPort,
    tftpPort: over.tftpPort ?? nb.tftpPort,
    chainload: nb.chainload,
    assets: join(nb.assets),
    ipxe: join(nb.ipxe),
    unknownMachines: nb.unknownMachines,
    machines: spec.machines.map((m) => {
      const b = resolveBoot(spec, { mac: m.mac, uuid: m.uuid, hostname: m.hostname ?? m.name });
      return {
        name: m.name,
        ...(m.mac ? { mac: normalizeMac(m.mac) } : {}),
        ...(m.uuid ? { uuid: m.uuid } : {}),
        profile: b.profile,
        boot: b.boot,
        kernel: b.kernel,
        initrd: b.initrd,
        kernelArgs: b.kernelArgs,
      };
    }),
  };
}
