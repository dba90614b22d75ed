/**
 * Boot progress: turns the BootEvents of the DHCP, TFTP and HTTP servers into one timeline per
 * machine (keyed by MAC), for the live table, the log lines and /api/machines.
 */
import type { BootEvent, BootEvents } from '../events.js';

export type StepName = 'dhcp-discover' | 'dhcp-offer' | 'dhcp-ack' | 'bootfile' | 'script' | 'kernel' | 'initrd' | 'config' | 'local-boot';

export interface ProgressStep {
  step: StepName;
  /** Epoch ms the step finished (or happened). */
  at: number;
  /** Seconds since the machine was first seen. */
  sinceFirstSeen: number;
  file?: string;
  bytes?: number;
  durationMs?: number;
  /** Bytes per second (downloads). */
  rate?: number;
  detail?: string;
}

export interface MachineProgress {
  mac: string;
  /** machines[].name when known. */
  name?: string;
  ip?: string;
  arch?: string;
  uuid?: string;
  hostname?: string;
  profile?: string;
  firstSeen: number;
  lastSeen: number;
  /** Short description of the latest thing that happened. */
  state: string;
  steps: ProgressStep[];
  /** Downloads under way (file -> start time), so the table can show them. */
  active: { file: string; since: number; bytes?: number; sent?: number; kind?: string }[];
  /** The latest errors, oldest first (at most `maxErrors`; `errorCount` counts them all). */
  errors: string[];
  /** Errors seen in all, also those no longer in `errors`. */
  errorCount: number;
}

/**
 * Machines not in the spec remembered at most (any host on the link can make up MACs); the least
 * recently seen of them are forgotten first. Machines in the spec are never forgotten.
 */
export const MAX_MACHINES = 10_000;
/** Errors kept per machine (the latest). */
export const MAX_ERRORS = 50;
/** Steps kept per machine (the latest). */
const MAX_STEPS = 200;

export interface ProgressOptions {
  /** machines[].name for a MAC. */
  nameForMac?(mac: string): string | undefined;
  /** Leased IP -> MAC (the DHCP server). */
  macForIp?(ip: string): string | undefined;
  now?(): number;
  /** Bounds (tests set them small): MAX_MACHINES and MAX_ERRORS by default. */
  maxMachines?: number;
  maxErrors?: number;
}

/** Collects boot events; also a BootEvents sink itself. */
export class ProgressTracker implements BootEvents {
  /** By MAC, least recently seen first (an event moves its machine to the end). */
  private machines = new Map<string, MachineProgress>();
  /** How many of `machines` are not in the spec (no name): the ones the bound applies to. */
  private unknown = 0;
  private ipToMac = new Map<string, string>();
  private listeners = new Set<(m: MachineProgress, e: BootEvent) => void>();

  constructor(private opts: ProgressOptions = {}) {}

  /** The MAC behind an IP: learned from DHCP acks and script URLs, else asked from the DHCP server. */
  macForIp(ip: string): string | undefined {
    return this.ipToMac.get(ip) ?? this.opts.macForIp?.(ip);
  }

  /** Called for every change (the live table and the log lines). */
  onChange(fn: (m: MachineProgress, e: BootEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  list(): MachineProgress[] {
    return [...this.machines.values()].sort((a, b) => a.firstSeen - b.firstSeen);
  }

  get(mac: string): MachineProgress | undefined {
    return this.machines.get(mac.toLowerCase());
  }

  emit(e: BootEvent): void {
    const mac = (e.mac ?? (e.ip ? this.macForIp(e.ip) : undefined))?.toLowerCase();
    if (!mac) return; // nothing to tie it to (a client we never saw in DHCP nor in a script URL)
    if (e.ip && (e.kind === 'dhcp-ack' || e.kind === 'http-script' || !this.ipToMac.has(e.ip))) {
      this.ipToMac.delete(e.ip); // re-insert: the map's order is then least recently learned first
      this.ipToMac.set(e.ip, mac);
      if (this.ipToMac.size > MAX_MACHINES * 4) this.ipToMac.delete(this.ipToMac.keys().next().value!);
    }
    let m = this.machines.get(mac);
    if (m) this.machines.delete(mac); // re-inserted below: the map stays least recently seen first
    else {
      m = { mac, name: this.opts.nameForMac?.(mac), firstSeen: e.at, lastSeen: e.at, state: '', steps: [], active: [], errors: [], errorCount: 0 };
      if (m.name === undefined) {
        if (this.unknown >= (this.opts.maxMachines ?? MAX_MACHINES)) this.evictUnknown();
        this.unknown++;
      }
    }
    this.machines.set(mac, m);
    m.lastSeen = Math.max(m.lastSeen, e.at);
    if (e.ip && (e.kind === 'dhcp-ack' || !m.ip || e.kind.startsWith('http') || e.kind.startsWith('tftp'))) m.ip = e.ip;
    if (e.arch) m.arch = e.arch;
    if (e.uuid) m.uuid = e.uuid;
    if (e.hostname) m.hostname = e.hostname;
    const step = (name: StepName, extra: Partial<ProgressStep> = {}) => {
      const s: ProgressStep = { step: name, at: e.at, sinceFirstSeen: (e.at - m!.firstSeen) / 1000, ...extra };
      m!.steps.push(s);
      // shift(), not splice(0, n): V8 trims an array's front in place, splice copies the rest (20x slower at 200 steps, 3 times per DHCP exchange).
      while (m!.steps.length > MAX_STEPS) m!.steps.shift();
    };
    const error = (text: string) => {
      m!.errors.push(text);
      m!.errorCount++;
      const max = this.opts.maxErrors ?? MAX_ERRORS;
      while (m!.errors.length > max) m!.errors.shift();
    };
    const download = () => {
      m!.active = m!.active.filter((a) => a.file !== e.file);
      const rate = e.bytes !== undefined && e.durationMs !== undefined ? Math.round((e.bytes * 1000) / Math.max(1, e.durationMs)) : undefined;
      return { file: e.file, bytes: e.bytes, durationMs: e.durationMs, rate };
    };
    switch (e.kind) {
      case 'dhcp-discover':
        step('dhcp-discover', { detail: e.detail });
        m.state = 'DHCP discover';
        break;
      case 'dhcp-offer':
        step('dhcp-offer', { detail: e.detail });
        m.state = `offered ${e.ip ?? ''}`.trim();
        break;
      case 'dhcp-ack':
        step('dhcp-ack', { detail: e.detail });
        m.state = `lease ${e.ip ?? ''}`.trim();
        break;
      case 'dhcp-request':
      case 'dhcp-inform':
        m.state = e.kind === 'dhcp-request' ? 'DHCP request' : 'DHCP inform';
        break;
      case 'dhcp-nak':
      case 'dhcp-decline':
      case 'dhcp-release':
        m.state = e.kind.replace('dhcp-', 'DHCP ');
        if (e.kind !== 'dhcp-release') error(`${e.kind}${e.detail ? `: ${e.detail}` : ''}`);
        break;
      case 'tftp-start':
        m.active.push({ file: e.file ?? '?', since: e.at, bytes: e.bytes, kind: 'bootfile' });
        m.state = `TFTP ${e.file}`;
        break;
      case 'tftp-done':
        step('bootfile', download());
        m.state = `got ${e.file} (TFTP)`;
        break;
      case 'tftp-error':
        m.active = m.active.filter((a) => a.file !== e.file);
        // An aborted tsize probe (UEFI fetches the size first) is normal, not an error.
        if (!e.detail?.startsWith('aborted')) error(`TFTP ${e.file}: ${e.detail ?? 'failed'}`);
        break;
      case 'http-script':
        step('script', { file: e.file, detail: e.detail });
        if (e.detail) m.profile = e.detail.replace(/^profile /, '');
        m.state = `script ${e.file}`;
        break;
      case 'http-asset-start':
        m.active.push({ file: e.file ?? '?', since: e.at, bytes: e.bytes, kind: e.detail });
        m.state = `downloading ${e.file}`;
        break;
      case 'http-asset-done': {
        const kind: StepName = e.detail === 'kernel' ? 'kernel' : e.detail === 'initrd' ? 'initrd' : 'bootfile';
        step(kind, download());
        m.state = kind === 'initrd' ? `got initrd ${e.file}` : `got ${e.file}`;
        break;
      }
      case 'talos-config':
        // Size and machine only: the config itself carries secrets and never reaches progress.
        step('config', { file: e.file, bytes: e.bytes });
        m.state = 'Talos config fetched';
        break;
      case 'talos-config-refused':
        error(`Talos config refused to ${e.ip ?? '?'}: ${e.detail ?? 'forbidden'}`);
        m.state = 'Talos config refused';
        break;
      case 'local-boot':
        step('local-boot', { file: e.file });
        m.state = 'installed: booting from disk';
        break;
      case 'http-asset-progress': {
        const a = m.active.find((x) => x.file === e.file);
        if (a) a.sent = e.bytes;
        break;
      }
      case 'http-asset-abort':
        m.active = m.active.filter((a) => a.file !== e.file);
        error(`HTTP ${e.file}: ${e.detail ?? 'aborted'}`);
        m.state = `aborted ${e.file}`;
        break;
    }
    for (const fn of this.listeners) fn(m, e);
  }

  /** Forgets the least recently seen machine that is not in the spec. */
  private evictUnknown(): void {
    for (const x of this.machines.values()) {
      if (x.name !== undefined) continue;
      this.machines.delete(x.mac);
      this.unknown--;
      return;
    }
  }
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)}KiB`;
  return `${(n / 1024 / 1024).toFixed(1)}MiB`;
}

function fmtStep(s: ProgressStep | undefined, withRate = false): string {
  if (!s) return '-';
  const t = `+${s.sinceFirstSeen.toFixed(1)}s`;
  if (!withRate || s.bytes === undefined) return t;
  return `${t} ${fmtBytes(s.bytes)}${s.rate ? ` ${fmtBytes(s.rate)}/s` : ''}`;
}

/** Rows of the live table / `hearth netboot machines`. */
export function progressRows(list: MachineProgress[]): { headers: string[]; rows: string[][] } {
  const headers = ['MAC', 'NAME', 'IP', 'ARCH', 'DHCP', 'BOOTFILE', 'SCRIPT', 'KERNEL', 'INITRD', 'STATE'];
  const rows = list.map((m) => {
    const last = (n: StepName) => [...m.steps].reverse().find((s) => s.step === n);
    const initrds = m.steps.filter((s) => s.step === 'initrd');
    const initrd = initrds.length ? initrds.map((s) => fmtStep(s, true)).join(', ') : '-';
    return [
      m.mac,
      m.name ?? '-',
      m.ip ?? '-',
      m.arch ?? '-',
      fmtStep(last('dhcp-ack') ?? last('dhcp-offer') ?? last('dhcp-discover')),
      fmtStep(last('bootfile'), true),
      fmtStep(last('script')),
      fmtStep(last('kernel'), true),
      initrd,
      m.state + ((m.errorCount ?? m.errors.length) ? ` (${m.errorCount ?? m.errors.length} errors)` : ''),
    ];
  });
  return { headers, rows };
}
