/**
 * Boot progress: turns the BootEvents of the DHCP, TFTP and HTTP servers into one timeline per
 * machine (keyed by MAC), for the live table, the log lines and /api/machines.
 */
import type { BootEvent, BootEvents } from '../events.js';
import { RecentMap } from '../../common/recent-map.js';
import { Listeners } from '../../common/listeners.js';

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

export interface ActiveDownload {
  readonly file: string;
  readonly since: number;
  readonly bytes?: number;
  readonly sent?: number;
  readonly kind?: string;
}

/**
 * A machine's timeline. The tracker never changes its arrays (steps, active, errors) nor their
 * items in place: a change puts a new array in the field. So a shallow copy of a MachineProgress is
 * a snapshot that later events cannot alter (what the run's event bus keeps, one per change).
 */
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
  steps: readonly ProgressStep[];
  /** Downloads under way (file -> start time), so the table can show them. */
  active: readonly ActiveDownload[];
  /** The latest errors, oldest first (at most `maxErrors`; `errorCount` counts them all). */
  errors: readonly string[];
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
/**
 * Steps kept per machine (the latest): several whole boots (one is ~10-15 steps). Each step
 * copies the list (see MachineProgress), so a machine that renews its lease again and again would
 * otherwise cost a copy of a long list per DHCP packet, and 10,000 machines x the bound is memory.
 */
export const MAX_STEPS = 64;

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
  /** By MAC, least recently seen first (an event moves its machine to the newest end); bounded by hand (`unknown`). */
  private machines = new RecentMap<string, MachineProgress>(Number.MAX_SAFE_INTEGER);
  /** How many of `machines` are not in the spec (no name): the ones the bound applies to. */
  private unknown = 0;
  /** Leased or scripted IP -> MAC, least recently learned first. */
  private ipToMac = new RecentMap<string, string>(MAX_MACHINES * 4);
  private readonly listeners = new Listeners<(m: MachineProgress, e: BootEvent) => void>();

  constructor(private opts: ProgressOptions = {}) {}

  /** The MAC behind an IP: learned from DHCP acks and script URLs, else asked from the DHCP server. */
  macForIp(ip: string): string | undefined {
    return this.ipToMac.get(ip) ?? this.opts.macForIp?.(ip);
  }

  /** Called for every change (the live table and the log lines), from the next one on (also when added during a change). */
  onChange(fn: (m: MachineProgress, e: BootEvent) => void): () => void {
    return this.listeners.add(fn);
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
    if (e.ip && (e.kind === 'dhcp-ack' || e.kind === 'http-script' || !this.ipToMac.has(e.ip))) this.ipToMac.set(e.ip, mac);
    let m = this.machines.touch(mac); // now the most recently seen
    if (!m) {
      m = { mac, name: this.opts.nameForMac?.(mac), firstSeen: e.at, lastSeen: e.at, state: '', steps: [], active: [], errors: [], errorCount: 0 };
      if (m.name === undefined) {
        if (this.unknown >= (this.opts.maxMachines ?? MAX_MACHINES)) this.evictUnknown();
        this.unknown++;
      }
      this.machines.set(mac, m);
    }
    m.lastSeen = Math.max(m.lastSeen, e.at);
    if (e.ip && (e.kind === 'dhcp-ack' || !m.ip || e.kind.startsWith('http') || e.kind.startsWith('tftp'))) m.ip = e.ip;
    if (e.arch) m.arch = e.arch;
    if (e.uuid) m.uuid = e.uuid;
    if (e.hostname) m.hostname = e.hostname;
    switch (e.kind) {
      case 'dhcp-discover':
        this.add(m, { step: 'dhcp-discover', at: e.at, sinceFirstSeen: since(m, e), detail: e.detail });
        m.state = 'DHCP discover';
        break;
      case 'dhcp-offer':
        this.add(m, { step: 'dhcp-offer', at: e.at, sinceFirstSeen: since(m, e), detail: e.detail });
        m.state = e.ip ? 'offered ' + e.ip : 'offered';
        break;
      case 'dhcp-ack':
        this.add(m, { step: 'dhcp-ack', at: e.at, sinceFirstSeen: since(m, e), detail: e.detail });
        m.state = e.ip ? 'lease ' + e.ip : 'lease';
        break;
      case 'dhcp-request':
      case 'dhcp-inform':
        m.state = e.kind === 'dhcp-request' ? 'DHCP request' : 'DHCP inform';
        break;
      case 'dhcp-nak':
      case 'dhcp-decline':
      case 'dhcp-release':
        m.state = e.kind.replace('dhcp-', 'DHCP ');
        if (e.kind !== 'dhcp-release') this.error(m, `${e.kind}${e.detail ? `: ${e.detail}` : ''}`);
        break;
      case 'tftp-start':
        m.active = [...m.active, { file: e.file ?? '?', since: e.at, bytes: e.bytes, kind: 'bootfile' }];
        m.state = `TFTP ${e.file}`;
        break;
      case 'tftp-done':
        this.step(m, e, 'bootfile', this.download(m, e));
        m.state = `got ${e.file} (TFTP)`;
        break;
      case 'tftp-error':
        m.active = m.active.filter((a) => a.file !== e.file);
        // An aborted tsize probe (UEFI fetches the size first) is normal, not an error.
        if (!e.detail?.startsWith('aborted')) this.error(m, `TFTP ${e.file}: ${e.detail ?? 'failed'}`);
        break;
      case 'http-script':
        this.step(m, e, 'script', { file: e.file, detail: e.detail });
        if (e.detail) m.profile = e.detail.replace(/^profile /, '');
        m.state = `script ${e.file}`;
        break;
      case 'http-asset-start':
        m.active = [...m.active, { file: e.file ?? '?', since: e.at, bytes: e.bytes, kind: e.detail }];
        m.state = `downloading ${e.file}`;
        break;
      case 'http-asset-done': {
        const kind: StepName = e.detail === 'kernel' ? 'kernel' : e.detail === 'initrd' ? 'initrd' : 'bootfile';
        this.step(m, e, kind, this.download(m, e));
        m.state = kind === 'initrd' ? `got initrd ${e.file}` : `got ${e.file}`;
        break;
      }
      case 'talos-config':
        // Size and machine only: the config itself carries secrets and never reaches progress.
        this.step(m, e, 'config', { file: e.file, bytes: e.bytes });
        m.state = 'Talos config fetched';
        break;
      case 'talos-config-refused':
        this.error(m, `Talos config refused to ${e.ip ?? '?'}: ${e.detail ?? 'forbidden'}`);
        m.state = 'Talos config refused';
        break;
      case 'local-boot':
        this.step(m, e, 'local-boot', { file: e.file });
        m.state = 'installed: booting from disk';
        break;
      case 'http-asset-progress': {
        if (m.active.some((x) => x.file === e.file)) m.active = m.active.map((x) => (x.file === e.file ? { ...x, sent: e.bytes } : x));
        break;
      }
      case 'http-asset-abort':
        m.active = m.active.filter((a) => a.file !== e.file);
        this.error(m, `HTTP ${e.file}: ${e.detail ?? 'aborted'}`);
        m.state = `aborted ${e.file}`;
        break;
    }
    const fns = this.listeners.current;
    for (let i = 0; i < fns.length; i++) fns[i]!(m, e);
  }

  /** Appends a step (a new array: see MachineProgress), keeping the latest MAX_STEPS. */
  private step(m: MachineProgress, e: BootEvent, name: StepName, extra: Partial<ProgressStep> = {}): void {
    this.add(m, { step: name, at: e.at, sinceFirstSeen: since(m, e), ...extra });
  }

  private add(m: MachineProgress, s: ProgressStep): void {
    m.steps = appendBounded(m.steps, s, MAX_STEPS);
  }

  private error(m: MachineProgress, text: string): void {
    m.errors = appendBounded(m.errors, text, this.opts.maxErrors ?? MAX_ERRORS);
    m.errorCount++;
  }

  /** A download finished: off the active list, and its figures for the step. */
  private download(m: MachineProgress, e: BootEvent): Partial<ProgressStep> {
    m.active = m.active.filter((a) => a.file !== e.file);
    const rate = e.bytes !== undefined && e.durationMs !== undefined ? Math.round((e.bytes * 1000) / Math.max(1, e.durationMs)) : undefined;
    return { file: e.file, bytes: e.bytes, durationMs: e.durationMs, rate };
  }

  /** Forgets the least recently seen machine that is not in the spec. */
  private evictUnknown(): void {
    if (this.machines.deleteOldest((x) => x.name === undefined) !== undefined) this.unknown--;
  }
}

/** Seconds from the machine's first event to `e`. */
function since(m: MachineProgress, e: BootEvent): number {
  return (e.at - m.firstSeen) / 1000;
}

/**
 * A new array: the latest `max - 1` of `list`, then `item`. Made at its final length (a copy and
 * then a push would grow the copy's store once more: two allocations per step instead of one).
 */
export function appendBounded<T>(list: readonly T[], item: T, max: number): T[] {
  const start = list.length >= max ? list.length - max + 1 : 0;
  const out = new Array<T>(list.length - start + 1);
  for (let i = start; i < list.length; i++) out[i - start] = list[i]!;
  out[out.length - 1] = item;
  return out;
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
