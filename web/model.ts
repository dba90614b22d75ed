/**
 * The dashboard's state, built only from the run's events (the same RunEvent stream the terminal
 * view reads), and the pure helpers the page renders from. No DOM here: the tests run it in Node.
 */
import type { NumberedEvent, RunEvent, RunStage, TalosPhase } from '../src/pipeline/events.js';
import type { MachineProgress } from '../src/netboot/progress/index.js';

export type TalosEvent = Extract<RunEvent, { type: 'talos' }>;
export type ComponentEvent = Extract<RunEvent, { type: 'component' }>;
export type StageEvent = Extract<RunEvent, { type: 'stage' }>;

export interface FeedLine {
  id: number;
  at: number;
  level: 'info' | 'warn' | 'error';
  text: string;
}

export interface DashState {
  /** The last event applied (events at or below it are repeats and ignored). */
  lastId: number;
  machines: Map<string, MachineProgress>;
  talos: Map<string, TalosEvent>;
  /** When each machine (by name) first reached each Talos phase. */
  talosTimes: Map<string, Map<TalosPhase, number>>;
  components: Map<string, ComponentEvent>;
  stages: Map<RunStage, StageEvent>;
  /** The latest events for people, oldest first. */
  feed: FeedLine[];
}

/** Lines kept in "last events". */
export const FEED_MAX = 50;

export function emptyState(): DashState {
  return { lastId: 0, machines: new Map(), talos: new Map(), talosTimes: new Map(), components: new Map(), stages: new Map(), feed: [] };
}

/**
 * A line for the feed, or undefined for events that only update state (machine snapshots).
 * `nameOf` gives machines[].name for a MAC, when known.
 */
export function feedLine(e: RunEvent, nameOf: (mac: string) => string | undefined = () => undefined): Omit<FeedLine, 'id' | 'at'> | undefined {
  switch (e.type) {
    case 'boot': {
      const b = e.boot;
      const bad = b.kind === 'dhcp-nak' || b.kind === 'dhcp-decline' || b.kind === 'tftp-error' || b.kind === 'http-asset-abort';
      const parts = [b.mac ?? b.ip ?? '?', b.mac ? nameOf(b.mac) : undefined, b.kind, b.file, b.bytes !== undefined ? fmtBytes(b.bytes) : undefined, b.detail];
      return { level: bad ? 'warn' : 'info', text: parts.filter(Boolean).join(' ') };
    }
    case 'talos':
      return { level: e.phase === 'failed' ? 'error' : 'info', text: `${e.name} Talos ${e.phase}${e.detail ? `: ${e.detail}` : ''}` };
    case 'component':
      return { level: e.state === 'failed' ? 'error' : 'info', text: `${e.namespace}/${e.name} ${e.state}${e.waitingFor ? ` (waiting for ${e.waitingFor})` : ''}` };
    case 'stage':
      return { level: e.state === 'failed' ? 'error' : 'info', text: `stage ${e.stage} ${e.state}${e.detail ? `: ${e.detail}` : ''}` };
    case 'log':
      return { level: e.level, text: e.message };
    case 'machine':
      return undefined;
  }
}

/** Applies one event (in stream order); repeats of events already applied change nothing. */
export function apply(s: DashState, n: NumberedEvent): void {
  if (n.id <= s.lastId) return;
  s.lastId = n.id;
  const e = n.event;
  if (e.type === 'machine') s.machines.set(e.machine.mac, e.machine);
  else if (e.type === 'talos') {
    s.talos.set(e.name, e);
    const times = s.talosTimes.get(e.name) ?? new Map<TalosPhase, number>();
    if (!times.has(e.phase)) times.set(e.phase, e.at);
    s.talosTimes.set(e.name, times);
  } else if (e.type === 'component') s.components.set(`${e.namespace}/${e.name}`, e);
  else if (e.type === 'stage') s.stages.set(e.stage, e);
  const line = feedLine(e, (mac) => s.machines.get(mac)?.name);
  if (line) {
    s.feed.push({ id: n.id, at: e.at, ...line });
    if (s.feed.length > FEED_MAX) s.feed.splice(0, s.feed.length - FEED_MAX);
  }
}

export type CellState = 'done' | 'active' | 'failed' | 'waiting';

/** One stage of a machine's timeline as shown. */
export interface Cell {
  key: 'dhcp' | 'bootfile' | 'script' | 'kernel' | 'initrd' | 'config' | 'installing' | 'running';
  label: string;
  state: CellState;
  /** Seconds after the machine was first seen. */
  after?: number;
  bytes?: number;
  /** Bytes per second: the average of a finished download, the rate so far of one under way. */
  rate?: number;
  note?: string;
}

const LABELS: Record<Cell['key'], string> = {
  dhcp: 'DHCP',
  bootfile: 'boot file',
  script: 'script',
  kernel: 'kernel',
  initrd: 'initrds',
  config: 'config fetched',
  installing: 'installing',
  running: 'running',
};

/** Talos phases in the order a machine goes through them. */
const PHASES: readonly TalosPhase[] = ['maintenance', 'config-fetched', 'applied', 'installing', 'rebooting', 'booting', 'running', 'ready'];

/** The phase (and those after it) that completes each Talos-side cell, and the phases it is under way in. */
const TALOS_CELLS: { key: 'config' | 'installing' | 'running'; doneFrom: TalosPhase; activeIn: TalosPhase[] }[] = [
  { key: 'config', doneFrom: 'config-fetched', activeIn: ['maintenance'] },
  { key: 'installing', doneFrom: 'rebooting', activeIn: ['applied', 'installing'] },
  { key: 'running', doneFrom: 'running', activeIn: ['rebooting', 'booting'] },
];

/** A machine's timeline: netboot's steps, then what Talos reports. `now` is for rates under way. */
export function timeline(m: MachineProgress | undefined, talos: TalosEvent | undefined, times: Map<TalosPhase, number> | undefined, now: number): Cell[] {
  const first = m?.firstSeen ?? talos?.at ?? now;
  const cell = (key: Cell['key'], state: CellState, extra: Partial<Cell> = {}): Cell => ({ key, label: LABELS[key], state, ...extra });
  const steps = m?.steps ?? [];
  const last = (...names: string[]) => [...steps].reverse().find((x) => names.includes(x.step));
  const activeOf = (kind: string) => m?.active.find((a) => a.kind === kind);
  const underWay = (key: Cell['key'], kind: string): Cell | undefined => {
    const a = activeOf(kind);
    if (!a) return undefined;
    const secs = Math.max(0.001, (now - a.since) / 1000);
    return cell(key, 'active', { after: (a.since - first) / 1000, bytes: a.sent, rate: a.sent !== undefined ? a.sent / secs : undefined, note: a.file });
  };
  const download = (key: Cell['key'], kind: string, names: string[]): Cell => {
    const live = underWay(key, kind);
    if (live) return live;
    const s = last(...names);
    return s ? cell(key, 'done', { after: s.sinceFirstSeen, bytes: s.bytes, rate: s.rate, note: s.file }) : cell(key, 'waiting');
  };
  const ack = last('dhcp-ack');
  const dhcpSeen = last('dhcp-offer', 'dhcp-discover');
  const script = last('script');
  const initrds = steps.filter((x) => x.step === 'initrd');
  const liveInitrd = underWay('initrd', 'initrd');
  const cells: Cell[] = [
    ack ? cell('dhcp', 'done', { after: ack.sinceFirstSeen, note: m?.ip }) : dhcpSeen ? cell('dhcp', 'active', { after: dhcpSeen.sinceFirstSeen }) : cell('dhcp', 'waiting'),
    download('bootfile', 'bootfile', ['bootfile']),
    script ? cell('script', 'done', { after: script.sinceFirstSeen, note: m?.profile }) : cell('script', 'waiting'),
    download('kernel', 'kernel', ['kernel']),
    liveInitrd ??
      (initrds.length
        ? cell('initrd', 'done', {
            after: initrds[initrds.length - 1]!.sinceFirstSeen,
            bytes: initrds.reduce((n, x) => n + (x.bytes ?? 0), 0),
            rate: initrds[initrds.length - 1]!.rate,
            note: initrds.map((x) => x.file).join(', '),
          })
        : cell('initrd', 'waiting')),
  ];
  const phase = talos?.phase;
  // Where the machine is; after a failure, the furthest phase it had reached.
  const at = phase === 'failed' ? Math.max(-1, ...[...(times?.keys() ?? [])].map((p) => PHASES.indexOf(p))) : PHASES.indexOf(phase as TalosPhase);
  let failedShown = false;
  for (const c of TALOS_CELLS) {
    const doneAt = PHASES.slice(PHASES.indexOf(c.doneFrom)).map((p) => times?.get(p)).find((t) => t !== undefined);
    if (at >= 0 && at >= PHASES.indexOf(c.doneFrom)) cells.push(cell(c.key, 'done', { after: doneAt !== undefined ? (doneAt - first) / 1000 : undefined }));
    else if (phase === 'failed' && !failedShown) {
      failedShown = true;
      cells.push(cell(c.key, 'failed', { note: talos?.detail }));
    } else if (phase !== undefined && c.activeIn.includes(phase)) {
      const since = times?.get(phase);
      cells.push(cell(c.key, 'active', { note: talos?.detail, after: since !== undefined ? (since - first) / 1000 : undefined }));
    }
    else cells.push(cell(c.key, 'waiting'));
  }
  return cells;
}

/** One row of the machines table: a machine from the spec (by name) seen by netboot, Talos or both. */
export interface MachineRow {
  key: string;
  name?: string;
  mac?: string;
  address?: string;
  phase?: TalosPhase;
  state: string;
  errors: number;
  cells: Cell[];
}

/** The rows: machines with a name (from the spec) first by name, then the unknown ones that asked for a boot. */
export function machineRows(s: DashState, now: number): { known: MachineRow[]; unknown: MachineRow[] } {
  const byName = new Map<string, MachineProgress>();
  const unknown: MachineRow[] = [];
  for (const m of s.machines.values()) {
    if (m.name) byName.set(m.name, m);
    else unknown.push({ key: m.mac, mac: m.mac, address: m.ip, state: m.state, errors: m.errorCount, cells: timeline(m, undefined, undefined, now).slice(0, 5) });
  }
  const names = [...new Set([...byName.keys(), ...s.talos.keys()])].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const known = names.map((name): MachineRow => {
    const m = byName.get(name);
    const t = s.talos.get(name);
    return {
      key: name,
      name,
      mac: m?.mac,
      address: t?.address ?? m?.ip,
      phase: t?.phase,
      state: t ? `Talos ${t.phase}${t.detail ? `: ${t.detail}` : ''}` : (m?.state ?? ''),
      errors: m?.errorCount ?? 0,
      cells: timeline(m, t, s.talosTimes.get(name), now),
    };
  });
  unknown.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { known, unknown };
}

/**
 * Components in dependency order: each after everything it depends on (dependsOn names another
 * component by name or namespace/name); ties by name; a cycle's members come last, by name.
 */
export function componentOrder(components: Iterable<ComponentEvent>): ComponentEvent[] {
  const all = [...components].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const find = (ref: string) => all.find((c) => `${c.namespace}/${c.name}` === ref) ?? all.find((c) => c.name === ref);
  const placed = new Set<ComponentEvent>();
  const out: ComponentEvent[] = [];
  let progress = true;
  while (progress && out.length < all.length) {
    progress = false;
    for (const c of all) {
      if (placed.has(c)) continue;
      const deps = c.dependsOn.map(find).filter((d): d is ComponentEvent => d !== undefined && d !== c);
      if (deps.every((d) => placed.has(d))) {
        placed.add(c);
        out.push(c);
        progress = true;
      }
    }
  }
  return [...out, ...all.filter((c) => !placed.has(c))];
}

/** What the platform table says of a component: Ready, or what it waits for. */
export function componentStatus(c: ComponentEvent): string {
  if (c.state === 'ready') return 'Ready';
  if (c.waitingFor) return `waiting for ${c.waitingFor}`;
  return c.state === 'missing' ? 'not created yet' : c.state;
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function fmtRate(bps: number | undefined): string {
  return bps === undefined || !Number.isFinite(bps) ? '' : `${fmtBytes(Math.round(bps))}/s`;
}

/** Seconds after first seen as `+12.3s`, or `+4m05s` past a minute. */
export function fmtAfter(secs: number | undefined): string {
  if (secs === undefined) return '';
  if (secs < 60) return `+${secs.toFixed(1)}s`;
  const m = Math.floor(secs / 60);
  return `+${m}m${String(Math.floor(secs % 60)).padStart(2, '0')}s`;
}

/** A time of day (UTC, as the terminal view prints it). */
export function fmtTime(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}
