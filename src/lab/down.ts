/**
 * `hearth lab down`: stops exactly what `up` recorded (each process by PID and start time), deletes
 * the namespace (its bridge and taps with it), the disks, the OVMF variable copies, the netboot
 * leases and progress file, and finally the record. The consoles and logs stay for a post-mortem
 * until the next `up` overwrites them.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { OperationError } from '../common/errors.js';
import { HTTP_SOCKET } from './forward.js';
import { removeNetwork } from './net.js';
import { PROGRESS_FILE, readState, removeState, stopProcess } from './state.js';

/** Returns false when there was no lab to take down. */
export async function labDown(dir: string, say: (line: string) => void): Promise<boolean> {
  const state = readState(dir);
  if (!state) return false;
  const stuck: string[] = [];
  await Promise.all(
    state.plan.vms.map(async (vm) => {
      const rec = state.vms[vm.name];
      if (!(await stopProcess(rec))) stuck.push(`VM ${vm.name} (pid ${rec!.pid})`);
    }),
  );
  if (!(await stopProcess(state.netboot))) stuck.push(`netboot server (pid ${state.netboot!.pid})`);
  if (!(await stopProcess(state.forward))) stuck.push(`HTTP relay (pid ${state.forward!.pid})`);
  if (stuck.length) throw new OperationError(`could not stop ${stuck.join(', ')}; the lab record stays in ${dir}`);
  await removeNetwork(state.plan.netns);
  for (const vm of state.plan.vms) {
    rmSync(vm.disk.file, { force: true });
    if (vm.vars) rmSync(vm.vars, { force: true });
  }
  rmSync(path.join(dir, PROGRESS_FILE), { force: true });
  rmSync(path.join(dir, HTTP_SOCKET), { force: true });
  rmSync(path.join(dir, 'netboot'), { recursive: true, force: true });
  removeState(dir);
  say(`hearth lab: down: stopped ${state.plan.vms.length} VM(s) and the netboot server, removed ${state.plan.netns}, its taps and the disks`);
  return true;
}
