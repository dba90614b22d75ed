/**
 * `hearth lab up`: checks everything it can before touching the host (root, QEMU, OVMF, assets, a
 * lab already up), then creates the namespace and taps, the disks, starts the netboot server and
 * one QEMU per machine, recording each thing in lab.json as it is made. Any failure on the way
 * takes down what was started (./down.ts), so nothing is left half-up.
 */
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError, OperationError } from '../common/errors.js';
import { checkNetbootFiles } from '../netboot/server.js';
import { resolveServerConfig } from '../netboot/render/index.js';
import { prepare } from '../pipeline/prepare.js';
import { chooseAccel, type AccelChoice } from './accel.js';
import { labDown } from './down.js';
import { must } from './exec.js';
import { createNetwork, netnsExists } from './net.js';
import { FORWARDING } from './forward.js';
import { labNetbootSpec, SERVING } from './netboot.js';
import { planLab, type Firmware, type LabPlan } from './plan.js';
import { OVMF_CANDIDATES, QEMU, qemuArgv, type OvmfFiles } from './qemu.js';
import { FORWARD_LOG, isRunning, NETBOOT_LOG, procRecord, readState, runningVms, writeState, type LabState, type ProcRecord } from './state.js';
import { which } from './which.js';

export interface UpOptions {
  file: string;
  dir: string;
  name?: string;
  assets?: string;
  firmware: Firmware;
  machineFirmware?: Record<string, Firmware>;
  memoryMiB?: number;
  cpus?: number;
  accel: AccelChoice;
  /** Relay the lab's HTTP to 127.0.0.1:PORT (0: any free port). */
  httpPort?: number;
  /** How `hearth` runs itself (node, its flags, the CLI script) for the netboot child. */
  self: string[];
}

/** How long the netboot server (or the HTTP relay) may take to start serving. */
const CHILD_START_MS = 30_000;
/** A VM that dies this soon after starting failed to start (bad option, missing file). */
const VM_SETTLE_MS = 1500;

export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new InputError(`hearth lab ${what} needs root (it manages a network namespace, taps and VMs): run it with sudo`);
  }
}

/** The OVMF files the plan's UEFI VMs need (undefined when it has none); InputError when they are missing. */
export function requireOvmf(plan: LabPlan, candidates: readonly OvmfFiles[] = OVMF_CANDIDATES): OvmfFiles | undefined {
  if (!plan.vms.some((vm) => vm.firmware === 'uefi')) return undefined;
  const found = candidates.find((c) => existsSync(c.code) && existsSync(c.vars));
  if (!found) throw new InputError(`UEFI VMs need OVMF (Debian package ovmf): ${candidates.map((c) => c.code).join(' or ')} not found`);
  return found;
}

/** Refuses when a lab is up in this directory or under this name; clears what a dead lab left. */
async function refuseRunning(plan: LabPlan): Promise<void> {
  const old = readState(plan.dir);
  if (old) {
    const vms = runningVms(old).length;
    if (vms > 0 || isRunning(old.netboot) || (await netnsExists(old.plan.netns))) {
      throw new InputError(`a lab is already up (${old.plan.netns}, started ${old.startedAt}, ${vms} VM(s) running): run \`hearth lab down\` first`);
    }
    await labDown(plan.dir, () => undefined);
  }
  if (await netnsExists(plan.netns)) {
    throw new InputError(`network namespace ${plan.netns} already exists (a lab of that name is up from another directory?): take it down there, or pick another --name`);
  }
}

function spawnDetached(argv: string[], log: string): number {
  const fd = openSync(log, 'w', 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => undefined); // reported through the log and the exit check
    child.unref();
    if (child.pid === undefined) throw new OperationError(`could not start ${argv[0]}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

const lastLine = (file: string) =>
  (existsSync(file) ? readFileSync(file, 'utf8') : '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop() ?? '';

/** Waits until `log` holds `line` (the child is ready), bounded; fails with the child's last words. */
async function waitReady(rec: ProcRecord | undefined, log: string, line: string, what: string, check: () => void): Promise<void> {
  const end = Date.now() + CHILD_START_MS;
  while (Date.now() < end) {
    check();
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (text.includes(line)) return;
    if (!isRunning(rec)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const why = lastLine(log).replace(/^(\x1b\[[0-9;]*m)*error:(\x1b\[[0-9;]*m)*\s*/, '');
  throw new OperationError(`${what} did not start: ${why || `no answer in ${CHILD_START_MS / 1000} s`} (see ${log})`);
}

export async function labUp(opts: UpOptions, say: (line: string) => void): Promise<LabState> {
  requireRoot('up');
  for (const bin of [QEMU, 'qemu-img', 'ip']) {
    if (!which(bin)) throw new InputError(`${bin} is not installed (Debian packages: iproute2, qemu-system-x86, qemu-utils)`);
  }
  const loaded = prepare(opts.file).loaded;
  const plan = planLab(loaded.spec, { name: opts.name, dir: opts.dir, firmware: opts.firmware, machineFirmware: opts.machineFirmware, memoryMiB: opts.memoryMiB, cpus: opts.cpus });
  const assets = opts.assets === undefined ? undefined : path.resolve(opts.assets);
  const ovmf = requireOvmf(plan);
  try {
    checkNetbootFiles(resolveServerConfig(labNetbootSpec(loaded.spec, plan, assets), loaded.baseDir));
  } catch (e) {
    throw new InputError(`lab assets missing: ${(e as Error).message} (give --assets DIR, or build them with \`hearth image build\`)`);
  }
  mkdirSync(plan.dir, { recursive: true, mode: 0o700 });
  await refuseRunning(plan);
  const { accel, note } = await chooseAccel(opts.accel);
  say(`hearth lab: ${note}`);

  const state: LabState = {
    version: 1,
    plan,
    spec: path.resolve(opts.file),
    ...(assets ? { assets } : {}),
    accel,
    accelNote: note,
    startedAt: new Date().toISOString(),
    vms: {},
    httpBase: `http://${plan.address.split('/')[0]}:${loaded.spec.netboot.httpPort}`,
  };
  // Ctrl-C while coming up takes the lab down again (each step is bounded, so this comes soon).
  let interrupted = '';
  const onSignal = (sig: string) => (interrupted = sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const check = () => {
    if (interrupted) throw new OperationError(`${interrupted} while the lab came up: it was taken down again`);
  };
  // Recorded before anything is made, so `down` (here on failure, or by hand) finds all of it.
  writeState(state);
  try {
    await createNetwork(plan);
    check();
    say(`hearth lab: namespace ${plan.netns}, bridge ${plan.bridge} ${plan.address}, ${plan.vms.reduce((n, v) => n + v.nics.length, 0)} tap(s)`);
    for (const vm of plan.vms) {
      await must(['qemu-img', 'create', '-q', '-f', 'qcow2', vm.disk.file, String(vm.disk.bytes)], 60_000);
      if (vm.vars) copyFileSync(ovmf!.vars, vm.vars);
      check();
    }
    const log = path.join(plan.dir, NETBOOT_LOG);
    const pid = spawnDetached(['ip', 'netns', 'exec', plan.netns, ...opts.self, 'lab', '_netboot', '--dir', plan.dir], log);
    state.netboot = procRecord(pid);
    writeState(state);
    await waitReady(state.netboot, log, SERVING, "the lab's netboot server", check);
    for (const line of readFileSync(log, 'utf8').split('\n')) if (line.startsWith('warning: ')) say(`hearth lab: netboot ${line}`);
    say(`hearth lab: netboot serving at ${state.httpBase} on ${plan.bridge}`);
    for (const vm of plan.vms) {
      const vmPid = spawnDetached(['ip', 'netns', 'exec', plan.netns, ...qemuArgv(vm, accel, ovmf)], vm.log);
      const rec = procRecord(vmPid);
      if (rec) state.vms[vm.name] = rec;
      writeState(state);
    }
    if (opts.httpPort !== undefined) {
      const flog = path.join(plan.dir, FORWARD_LOG);
      const fpid = spawnDetached([...opts.self, 'lab', '_forward', '--dir', plan.dir, '--port', String(opts.httpPort)], flog);
      const rec = procRecord(fpid);
      if (rec) state.forward = { ...rec, url: '' };
      writeState(state);
      await waitReady(rec, flog, FORWARDING, `the HTTP relay on 127.0.0.1:${opts.httpPort}`, check);
      state.forward = { ...rec!, url: /http:\/\/127\.0\.0\.1:\d+/.exec(readFileSync(flog, 'utf8'))![0] };
      writeState(state);
      say(`hearth lab: the lab's HTTP (dashboard, /api/machines, /metrics) at ${state.forward.url}`);
    }
    await new Promise((r) => setTimeout(r, VM_SETTLE_MS));
    check();
    for (const vm of plan.vms) {
      if (!isRunning(state.vms[vm.name])) throw new OperationError(`VM ${vm.name} did not start: ${lastLine(vm.log) || 'no output'} (see ${vm.log})`);
      say(`hearth lab: VM ${vm.name} ${vm.firmware.toUpperCase()} ${vm.memoryMiB} MiB, ${vm.nics.map((n) => n.mac).join(' + ')}, disk ${(vm.disk.bytes / 2 ** 30).toFixed(1)} GiB ${vm.disk.bus}, console ${vm.console}`);
    }
  } catch (e) {
    await labDown(plan.dir, () => undefined).catch(() => undefined);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return state;
}
