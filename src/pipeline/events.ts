/**
 * One event stream for a whole run (`hearth up`, `hearth netboot serve`): what netboot saw of each
 * machine, what the Talos API says of it, and how each platform component is doing. The terminal
 * view, the `-o json` stream and the web dashboard (/api/events) are all fed from a RunEventBus,
 * so they cannot disagree.
 */
import type { BootEvent } from '../netboot/events.js';
import type { MachineProgress } from '../netboot/progress/index.js';
import { RecentMap } from '../common/recent-map.js';
import { Listeners } from '../common/listeners.js';

/** The stages of a run, in order. */
export type RunStage = 'netboot' | 'bootstrap' | 'platform';

/** A machine's life as seen over the Talos API, after its network boot. */
export type TalosPhase = 'config-fetched' | 'maintenance' | 'applied' | 'installing' | 'rebooting' | 'booting' | 'running' | 'ready' | 'failed';

export type RunEvent =
  /** Something a netboot server did for a machine (raw). */
  | { readonly type: 'boot'; readonly at: number; readonly boot: BootEvent }
  /** A machine's netboot timeline after a change (a snapshot: the latest replaces earlier ones). */
  | { readonly type: 'machine'; readonly at: number; readonly machine: MachineProgress }
  /** A machine's Talos-side phase (by machines[].name). */
  | { readonly type: 'talos'; readonly at: number; readonly name: string; readonly phase: TalosPhase; readonly address?: string; readonly detail?: string }
  /** A platform component (HelmRelease) and what it waits for; dependsOn in dependency order. */
  | {
      readonly type: 'component';
      readonly at: number;
      readonly name: string;
      readonly namespace: string;
      readonly state: 'ready' | 'progressing' | 'failed' | 'missing';
      readonly waitingFor?: string;
      readonly dependsOn: readonly string[];
    }
  /** A stage of the run started, finished or failed. */
  | { readonly type: 'stage'; readonly at: number; readonly stage: RunStage; readonly state: 'started' | 'done' | 'failed' | 'skipped'; readonly detail?: string }
  /** A line for people (warnings, notices). Never carries a secret. */
  | { readonly type: 'log'; readonly at: number; readonly level: 'info' | 'warn' | 'error'; readonly message: string };

/** An event with its position in the stream (SSE `id:`; a reconnecting client resumes after it). */
export interface NumberedEvent {
  readonly id: number;
  readonly event: RunEvent;
}

/**
 * Events kept for clients that reconnect (older ones are summarised by the snapshots): ~25 events
 * per machine boot, so the last ten boots or so. At least SSE's `recent` (100), which a client that
 * starts over gets with the snapshots.
 */
export const HISTORY = 256;

/**
 * Machine snapshots kept (as many as netboot's progress tracker remembers): any host on the link
 * can make up MACs, so the least recently changed machine not in the spec goes first.
 */
export const MAX_MACHINE_SNAPSHOTS = 10_000;

/**
 * The bus: publishers emit, views subscribe. It keeps the latest snapshot per machine and per
 * component (so a view that joins late, or reconnects after its history was dropped, starts from
 * the current state) and a bounded history of recent events.
 */
export class RunEventBus {
  private next = 1;
  /**
   * The latest `historySize` events, the event numbered `id` in slot (id - 1) % historySize: a
   * fixed ring, so an event is let go exactly `historySize` events later (not up to twice that, as
   * with a list trimmed in batches). A DHCP exchange is ~8 events (a boot event and a machine
   * snapshot for each of DISCOVER, OFFER, REQUEST, ACK), so on a server busy with 6,000 exchanges/s
   * 256 events are ~5 ms, short enough for the events (~3 KB an exchange with the snapshots' step
   * lists) to die in V8's young generation; 1,000 were ~20 ms, which most of them survived once,
   * ~40 % of what each scavenge copied (perfdhcp -R 200, bench/README.md "DHCP allocations").
   */
  private readonly ring: (NumberedEvent | undefined)[];
  /** Latest snapshot per MAC, least recently changed first (bounded by hand: machines in the spec stay). */
  private readonly machines = new RecentMap<string, NumberedEvent>(Number.MAX_SAFE_INTEGER);
  private readonly talos = new Map<string, NumberedEvent>();
  private readonly components = new Map<string, NumberedEvent>();
  private readonly stages = new Map<RunStage, NumberedEvent>();
  private readonly listeners = new Listeners<(e: NumberedEvent) => void>();

  emit(event: RunEvent): void {
    const numbered = { id: this.next++, event };
    this.ring[(numbered.id - 1) % this.ring.length] = numbered;
    if (event.type === 'machine') this.keepMachine(event.machine.mac, event.machine.name !== undefined, numbered);
    else if (event.type === 'talos') this.talos.set(event.name, numbered);
    else if (event.type === 'component') this.components.set(`${event.namespace}/${event.name}`, numbered);
    else if (event.type === 'stage') this.stages.set(event.stage, numbered);
    const fns = this.listeners.current;
    for (let i = 0; i < fns.length; i++) fns[i]!(numbered);
  }

  /** Latest snapshot per MAC, least recently changed first; bounded (machines in the spec stay). */
  private keepMachine(mac: string, inSpec: boolean, numbered: NumberedEvent): void {
    this.machines.set(mac, numbered);
    if (inSpec || this.machines.size <= this.maxMachines) return;
    this.machines.deleteOldest((e) => e.event.type === 'machine' && e.event.machine.name === undefined);
  }

  constructor(
    private readonly maxMachines = MAX_MACHINE_SNAPSHOTS,
    historySize = HISTORY,
  ) {
    if (!Number.isInteger(historySize) || historySize < 1) throw new RangeError(`the event history holds at least 1 event, not ${historySize}`);
    this.ring = new Array<NumberedEvent | undefined>(historySize).fill(undefined);
  }

  /** Id of the oldest event the history holds (`next` when it holds none). */
  private firstHeld(): number {
    return Math.max(1, this.next - this.ring.length);
  }

  /** The held events with ids from `from` on, oldest first. */
  private held(from: number): NumberedEvent[] {
    const out: NumberedEvent[] = [];
    for (let id = Math.max(from, this.firstHeld()); id < this.next; id++) out.push(this.ring[(id - 1) % this.ring.length]!);
    return out;
  }

  /**
   * The events a view needs to be current: everything after `afterId` when the history still holds
   * it, else the latest snapshot of every machine, Talos phase, component and stage, in id order.
   */
  since(afterId = 0): NumberedEvent[] {
    if (this.covers(afterId)) return this.held(afterId + 1);
    const latest = [...this.stages.values(), ...this.machines.values(), ...this.talos.values(), ...this.components.values()];
    return latest.sort((a, b) => a.id - b.id);
  }

  /** The id of the latest event (0 before the first). */
  lastId(): number {
    return this.next - 1;
  }

  /**
   * Whether the history still holds every event after `afterId`, so since(afterId) continues a
   * view; if not, since() answers with snapshots and the view must start over from them.
   */
  covers(afterId: number): boolean {
    // An id from before this process (a restarted server numbers anew) gets the snapshots too.
    return afterId > 0 && afterId < this.next && afterId >= this.firstHeld() - 1;
  }

  /** The latest `n` events of the history, oldest first. */
  recent(n: number): NumberedEvent[] {
    return n > 0 ? this.held(this.next - n) : [];
  }

  /**
   * Calls `fn` for every event from the next one on; returns the unsubscribe function. Subscribing
   * or unsubscribing while an event is delivered takes effect from the next event.
   */
  subscribe(fn: (e: NumberedEvent) => void): () => void {
    return this.listeners.add(fn);
  }
}
