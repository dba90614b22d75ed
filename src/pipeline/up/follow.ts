/**
 * Following every machine of a `hearth up` run: what netboot saw (DHCP, boot file, script, kernel,
 * initrds, config fetched) and what the Talos API says (maintenance, applied, installing,
 * rebooting, booting, running) become one stage per machine, recorded in DIR/state.json and
 * published on the run's event bus.
 */
import type { BootEvent } from '../../netboot/events.js';
import type { MachineProgress } from '../../netboot/progress/index.js';
import { normalizeMac } from '../../spec/net.js';
import type { Spec } from '../../spec/index.js';
import type { RunEventBus, TalosPhase } from '../events.js';
import type { StateFile } from './state.js';

/** The stages of a machine in a run, in order (a machine may skip some). */
export const MACHINE_STAGES = ['dhcp', 'bootfile', 'script', 'kernel', 'initrd', 'config', 'maintenance', 'applied', 'installing', 'rebooting', 'booting', 'running'] as const;

const TALOS_PHASES = new Set<string>(['config-fetched', 'maintenance', 'applied', 'installing', 'rebooting', 'booting', 'running', 'ready', 'failed']);

/** Netboot's events that move a machine on, by kind (the zero-touch kinds are compared as text). */
function netbootStage(e: BootEvent): string | undefined {
  const kind: string = e.kind;
  if (kind === 'dhcp-ack') return 'dhcp';
  if (kind === 'tftp-done') return 'bootfile';
  if (kind === 'http-script') return 'script';
  if (kind === 'http-asset-done') return e.detail === 'kernel' ? 'kernel' : e.detail === 'initrd' ? 'initrd' : 'bootfile';
  if (kind === 'talos-config') return 'config';
  return undefined;
}

export class Follower {
  private readonly byMac = new Map<string, string>();

  constructor(
    private readonly spec: Spec,
    private readonly bus: RunEventBus,
    private readonly state: StateFile,
    private readonly now: () => number = Date.now,
  ) {
    for (const m of spec.machines) {
      if (m.mac) this.byMac.set(normalizeMac(m.mac), m.name);
      const s = state.machine(m.name);
      if (m.mac) s.mac = normalizeMac(m.mac);
    }
  }

  nameForMac(mac: string): string | undefined {
    return this.byMac.get(normalizeMac(mac));
  }

  /** A netboot progress change (the tracker's onChange); the machine and boot events themselves reach the bus from netboot (publishProgress). */
  netboot(m: MachineProgress, e: BootEvent): void {
    const name = m.name ?? this.nameForMac(m.mac);
    if (!name) return;
    const kind: string = e.kind;
    if (kind === 'talos-config-refused') {
      this.bus.emit({ type: 'log', at: e.at, level: 'warn', message: `${name}: config refused to ${e.ip ?? 'an unknown address'}${e.detail ? ` (${e.detail})` : ''}` });
    }
    const stage = netbootStage(e);
    if (!stage) return;
    // the maintenance address is the one it fetched its boot files from
    const address = stage === 'dhcp' || stage === 'kernel' || stage === 'initrd' ? (e.ip ?? m.ip) : undefined;
    if (this.state.stage(name, stage, e.at, address)) {
      if (stage === 'config') this.bus.emit({ type: 'talos', at: e.at, name, phase: 'config-fetched', address: e.ip });
      void this.state.save();
    }
  }

  /** A Talos-side stage of a machine (from discovery or the bootstrap engine). */
  talos(name: string, stage: string, address?: string, detail?: string): void {
    const at = this.now();
    if (!this.state.stage(name, stage, at, address)) return;
    if (TALOS_PHASES.has(stage)) this.bus.emit({ type: 'talos', at, name, phase: stage as TalosPhase, address, detail });
    else this.bus.emit({ type: 'log', at, level: 'info', message: `${name}: ${stage}${address ? ` at ${address}` : ''}` });
    void this.state.save();
  }

  /** A machine found configured at its own address (installed before; its stage comes with the follow). */
  answering(name: string, address: string): void {
    this.state.machine(name).address = address;
    this.bus.emit({ type: 'log', at: this.now(), level: 'info', message: `${name}: answers configured at ${address}` });
    void this.state.save();
  }

  /** Where the machine answered last (its lease, or its own address). */
  address(name: string): string | undefined {
    return this.state.machine(name).address;
  }

  /** The machine's last stage and when it was reached, for messages about stuck machines. */
  last(name: string): { stage: string; at?: number } {
    const s = this.state.machine(name);
    return { stage: s.stage, at: s.stages[s.stage] };
  }
}
