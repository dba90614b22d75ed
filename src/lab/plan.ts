/**
 * The lab's plan, pure: from the spec and the flags, the network (namespace, bridge, the provisioning
 * address) and one VM per machines[] entry (MACs, NICs, disk size and bus, firmware, memory). Nothing
 * here touches the host; ./up.ts carries the plan out.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { InputError } from '../common/errors.js';
import type { Machine, Spec } from '../spec/index.js';
import { cidrContains, normalizeMac, parseCidr, parseIp } from '../spec/net.js';
import { diskBus, diskSizeBytes, type DiskBus } from './disk.js';

export type Firmware = 'bios' | 'uefi';
export const FIRMWARES: readonly Firmware[] = ['bios', 'uefi'];

/** Talos' documented minimum memory per role (MiB); the default when --memory is not given. */
export const DEFAULT_MEMORY_MIB: Record<Machine['role'], number> = { controlplane: 2048, worker: 1024 };
/** Talos' documented minimum cores per role; the default when --cpus is not given. */
export const DEFAULT_CPUS: Record<Machine['role'], number> = { controlplane: 2, worker: 1 };

export interface LabOptions {
  /** Lab name (namespace hlab-NAME); default metadata.name. */
  name?: string;
  /** Lab state directory (absolute). */
  dir: string;
  /** Firmware of every VM unless overridden per machine. */
  firmware: Firmware;
  /** Per-machine firmware (machine name -> firmware). */
  machineFirmware?: Record<string, Firmware>;
  /** Memory of every VM (MiB); default by role. */
  memoryMiB?: number;
  cpus?: number;
}

export interface NicPlan {
  mac: string;
  /** Tap device inside the lab namespace. */
  tap: string;
  /** The NIC the VM boots from (the first). */
  boot: boolean;
}

export interface VmPlan {
  name: string;
  role: Machine['role'];
  firmware: Firmware;
  memoryMiB: number;
  cpus: number;
  nics: NicPlan[];
  disk: { file: string; bytes: number; bus: DiskBus; rotational?: boolean };
  /** Serial console file. */
  console: string;
  /** OVMF variable store, a fresh copy per VM (UEFI only). */
  vars?: string;
  /** QEMU's own stderr (startup errors). */
  log: string;
}

export interface LabPlan {
  name: string;
  netns: string;
  bridge: string;
  /** The provisioning address on the bridge, CIDR (192.0.2.1/24). */
  address: string;
  dir: string;
  vms: VmPlan[];
}

/** A name usable in a namespace and file name. */
function labName(text: string): string {
  const n = text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  if (!n) throw new InputError(`lab name "${text}" has no usable characters (letters, digits, -)`);
  return n;
}

/**
 * A stable locally administered MAC (52:54:00 is QEMU's prefix) for a NIC the spec does not name:
 * a machine without `mac`, or the second member of a bond. Skips MACs already taken.
 */
export function derivedMac(seed: string, taken: Set<string>): string {
  for (let i = 0; i < 1000; i++) {
    const h = createHash('sha256').update(`${seed}#${i}`).digest();
    const mac = `52:54:00:${[h[0], h[1], h[2]].map((b) => b!.toString(16).padStart(2, '0')).join(':')}`;
    if (!taken.has(mac)) return mac;
  }
  throw new InputError(`cannot find a free MAC address for ${seed}`);
}

/** The bridge's address: netboot.address with the prefix of the machines' subnet (default /24). */
export function labAddress(spec: Spec): string {
  const server = spec.netboot.address;
  if (!server) throw new InputError('the lab needs netboot.address: the provisioning address the lab bridge gets (like 192.0.2.1)');
  const ip = parseIp(server)!;
  for (const m of spec.machines) {
    const c = m.address ? parseCidr(m.address) : undefined;
    if (c && c.ip.family === 4 && cidrContains(c, ip)) return `${server}/${c.prefix}`;
  }
  return `${server}/24`;
}

/** The bridge is named like the rack's provisioning interface, so the spec serves unchanged (lo cannot be one). */
function bridgeName(iface: string | undefined): string {
  return iface && iface !== 'lo' ? iface : 'br0';
}

function nicCount(m: Machine): number {
  return m.bond ? Math.max(2, m.bond.interfaces.length) : 1;
}

export function planLab(spec: Spec, opts: LabOptions): LabPlan {
  if (spec.machines.length === 0) throw new InputError('the spec has no machines[]: the lab starts one VM per machine');
  const name = labName(opts.name ?? spec.metadata.name);
  const unknown = Object.keys(opts.machineFirmware ?? {}).filter((n) => !spec.machines.some((m) => m.name === n));
  if (unknown.length) throw new InputError(`--machine-firmware names machines not in the spec: ${unknown.join(', ')}`);
  const taken = new Set(spec.machines.filter((m) => m.mac).map((m) => normalizeMac(m.mac!)));
  const vms = spec.machines.map((m, i): VmPlan => {
    const nics: NicPlan[] = [];
    for (let j = 0; j < nicCount(m); j++) {
      const mac = j === 0 && m.mac ? normalizeMac(m.mac) : derivedMac(`${name}/${m.name}/${j}`, taken);
      taken.add(mac);
      nics.push({ mac, tap: `lt${i}n${j}`, boot: j === 0 });
    }
    const firmware = opts.machineFirmware?.[m.name] ?? opts.firmware;
    const file = (ext: string) => path.join(opts.dir, `${m.name}.${ext}`);
    const disk = diskBus(m);
    return {
      name: m.name,
      role: m.role,
      firmware,
      memoryMiB: opts.memoryMiB ?? DEFAULT_MEMORY_MIB[m.role],
      cpus: opts.cpus ?? DEFAULT_CPUS[m.role],
      nics,
      disk: { file: file('qcow2'), bytes: diskSizeBytes(m.diskSelector?.size), ...disk },
      console: file('console'),
      ...(firmware === 'uefi' ? { vars: file('vars.fd') } : {}),
      log: file('qemu.log'),
    };
  });
  return { name, netns: `hlab-${name}`, bridge: bridgeName(spec.netboot.interface), address: labAddress(spec), dir: opts.dir, vms };
}
