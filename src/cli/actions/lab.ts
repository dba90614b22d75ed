import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../../common/errors.js';
import { follow, tailLines } from '../../lab/console.js';
import { labDown } from '../../lab/down.js';
import { HTTP_SOCKET, serveForward } from '../../lab/forward.js';
import { serveLab } from '../../lab/netboot.js';
import type { Firmware } from '../../lab/plan.js';
import { isRunning, readState } from '../../lab/state.js';
import { labStatus, readProgress, statusRows } from '../../lab/status.js';
import { labUp, requireRoot } from '../../lab/up.js';
import type { AccelChoice } from '../../lab/accel.js';
import { formatData } from '../format.js';
import { intOption, list } from '../options.js';
import { out, say, table } from '../output.js';

interface DirOpts {
  file: string;
  state?: string;
}

const labDir = (o: DirOpts) => path.resolve(o.state ?? path.join(path.dirname(path.resolve(o.file)), '.hearth', 'lab'));

function machineFirmware(values: string[] = []): Record<string, Firmware> {
  const out: Record<string, Firmware> = {};
  for (const item of values.flatMap((v) => list(v))) {
    const [name, fw] = item.split('=');
    if (!name || (fw !== 'bios' && fw !== 'uefi')) throw new InputError(`--machine-firmware ${item}: expected NAME=bios or NAME=uefi`);
    out[name] = fw;
  }
  return out;
}

export async function up(opts: DirOpts & { assets?: string; firmware: Firmware; machineFirmware?: string[]; memory?: string; cpus?: string; accel: AccelChoice; name?: string; http?: string }): Promise<void> {
  const dir = labDir(opts);
  await labUp(
    {
      file: opts.file,
      dir,
      name: opts.name,
      assets: opts.assets,
      firmware: opts.firmware,
      machineFirmware: machineFirmware(opts.machineFirmware),
      memoryMiB: opts.memory === undefined ? undefined : intOption(opts.memory, '--memory', 64, 1024 * 1024),
      cpus: opts.cpus === undefined ? undefined : intOption(opts.cpus, '--cpus', 1, 64),
      accel: opts.accel,
      httpPort: opts.http === undefined ? undefined : intOption(opts.http, '--http', 0, 65535),
      self: [process.execPath, ...process.execArgv, process.argv[1]!],
    },
    say,
  );
  const f = opts.file === 'hearth.yaml' ? '' : ` -f ${opts.file}`;
  say(`hearth lab: up. Watch it: hearth lab status${f}; a console: hearth lab console${f} NAME; stop it: hearth lab down${f}`);
}

export async function down(opts: DirOpts): Promise<void> {
  requireRoot('down');
  if (!(await labDown(labDir(opts), say))) say(`hearth lab: no lab is up in ${labDir(opts)}`);
}

function stateOrFail(dir: string) {
  const state = readState(dir);
  if (!state) throw new InputError(`no lab is up in ${dir} (start one with \`hearth lab up\`)`);
  return state;
}

export async function status(opts: DirOpts & { output: 'text' | 'json' | 'yaml' }): Promise<void> {
  const dir = labDir(opts);
  const s = labStatus(stateOrFail(dir), readProgress(dir));
  if (opts.output !== 'text') {
    out(formatData(s, opts.output));
    return;
  }
  const http = s.http?.running ? `, HTTP from the host at ${s.http.url}` : '';
  say(`lab ${s.name} (${s.netns}), ${s.accel.toUpperCase()}, started ${s.startedAt}; netboot ${s.netboot.running ? `running at ${s.httpBase} in the lab${http}` : 'stopped'}`);
  const { headers, rows } = statusRows(s);
  out(table(headers, rows));
}

export async function console(name: string, opts: DirOpts & { lines?: string }): Promise<void> {
  const state = stateOrFail(labDir(opts));
  const vm = state.plan.vms.find((v) => v.name === name);
  if (!vm) throw new InputError(`no VM ${name} in this lab (VMs: ${state.plan.vms.map((v) => v.name).join(', ')})`);
  if (opts.lines !== undefined) {
    const n = intOption(opts.lines, '--lines', 1, 100_000);
    const lines = tailLines(vm.console, n);
    if (lines.length) out(lines.join('\n') + '\n');
    return;
  }
  for (const l of tailLines(vm.console, 20)) out(`${l}\n`);
  say(`hearth lab: following ${vm.console}; Ctrl-C stops`);
  let stopped = false;
  const onInt = () => (stopped = true);
  process.once('SIGINT', onInt);
  const size = existsSync(vm.console) ? statSync(vm.console).size : 0;
  const rec = state.vms[name];
  await follow(vm.console, size, (b) => process.stdout.write(b), () => stopped || !isRunning(rec));
  process.off('SIGINT', onInt);
  if (!stopped) say(`hearth lab: VM ${name} is not running`);
}

export async function netboot(opts: { dir: string }): Promise<void> {
  await serveLab(path.resolve(opts.dir), say);
}

export async function forward(opts: { dir: string; port: string }): Promise<void> {
  await serveForward(path.join(path.resolve(opts.dir), HTTP_SOCKET), intOption(opts.port, '--port', 0, 65535), say);
}
