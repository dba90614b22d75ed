/** `hearth lab status`: each VM (running or not, firmware, MACs), its boot progress and console tail. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MachineProgress } from '../netboot/progress/index.js';
import { tailLines } from './console.js';
import { isRunning, PROGRESS_FILE, type LabState, type ProcRecord } from './state.js';

export interface VmStatus {
  name: string;
  firmware: string;
  running: boolean;
  pid?: number;
  macs: string[];
  memoryMiB: number;
  disk: { file: string; bytes: number; bus: string };
  console: string;
  /** What the netboot server saw of the VM's boot NIC (and the others). */
  boot?: { state: string; ip?: string; steps: string[] };
  consoleTail: string[];
}

export interface LabStatus {
  name: string;
  netns: string;
  accel: string;
  accelNote: string;
  startedAt: string;
  httpBase?: string;
  netboot: { pid?: number; running: boolean };
  /** The relay to the lab's HTTP from the host (`up --http`). */
  http?: { url: string; running: boolean };
  vms: VmStatus[];
}

export function readProgress(dir: string): MachineProgress[] {
  const file = path.join(dir, PROGRESS_FILE);
  if (!existsSync(file)) return [];
  try {
    const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(list) ? (list as MachineProgress[]) : [];
  } catch {
    return []; // being rewritten is atomic; anything else unreadable shows as "no progress"
  }
}

/** The lab's status from its record, the progress list and the consoles (pure but for the probes passed in). */
export function labStatus(
  state: LabState,
  progress: MachineProgress[],
  probes: { running(rec: ProcRecord | undefined): boolean; tail(file: string): string[] } = { running: isRunning, tail: (f) => tailLines(f, 3) },
): LabStatus {
  return {
    name: state.plan.name,
    netns: state.plan.netns,
    accel: state.accel,
    accelNote: state.accelNote,
    startedAt: state.startedAt,
    ...(state.httpBase ? { httpBase: state.httpBase } : {}),
    netboot: { ...(state.netboot ? { pid: state.netboot.pid } : {}), running: probes.running(state.netboot) },
    ...(state.forward ? { http: { url: state.forward.url, running: probes.running(state.forward) } } : {}),
    vms: state.plan.vms.map((vm) => {
      const rec = state.vms[vm.name];
      const macs = vm.nics.map((n) => n.mac);
      const seen = progress.filter((p) => macs.includes(p.mac.toLowerCase()));
      const m = seen.find((p) => p.mac.toLowerCase() === macs[0]) ?? seen[0];
      return {
        name: vm.name,
        firmware: vm.firmware,
        running: probes.running(rec),
        ...(rec ? { pid: rec.pid } : {}),
        macs,
        memoryMiB: vm.memoryMiB,
        disk: { file: vm.disk.file, bytes: vm.disk.bytes, bus: vm.disk.bus },
        console: vm.console,
        ...(m ? { boot: { state: m.state, ...(m.ip ? { ip: m.ip } : {}), steps: [...new Set(m.steps.map((s) => s.step))] } } : {}),
        consoleTail: probes.tail(vm.console),
      };
    }),
  };
}

/** Table rows for the text view. */
export function statusRows(s: LabStatus): { headers: string[]; rows: string[][] } {
  const headers = ['VM', 'FIRMWARE', 'QEMU', 'MAC', 'IP', 'BOOT', 'CONSOLE'];
  const rows = s.vms.map((vm) => [
    vm.name,
    vm.firmware.toUpperCase(),
    vm.running ? `running (pid ${vm.pid})` : 'stopped',
    vm.macs.join(','),
    vm.boot?.ip ?? '-',
    vm.boot ? `${vm.boot.state}` : 'not seen yet',
    (vm.consoleTail.at(-1) ?? '').slice(0, 60),
  ]);
  return { headers, rows };
}
