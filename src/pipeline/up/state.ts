/**
 * `hearth up`'s memory between runs: DIR/state.json, written atomically after every change that
 * matters, so a rerun after Ctrl-C, a crash or a power cut knows each machine's last stage, where
 * it answered, whether it is installed, and which stages of the run are done. It holds no secret.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, OperationError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import type { RunStage } from '../events.js';

export const STATE_FILE = 'state.json';
const VERSION = 1;

export interface MachineState {
  mac?: string;
  /** The latest stage seen (dhcp, script, kernel, initrd, config, maintenance, applied, installing, rebooting, booting, running). */
  stage: string;
  /** Epoch ms at which each stage was first seen (across runs: the first run's times stay). */
  stages: Record<string, number>;
  /** Where the node answered the Talos API last (its lease in maintenance mode, or its own address). */
  address?: string;
  /** Installed: running from its disk; its netboot script is "boot from the local disk". */
  installed: boolean;
}

export interface StageState {
  state: 'done';
  /** Epoch ms when it was done. */
  at: number;
  elapsedMs: number;
}

export interface UpState {
  version: number;
  cluster: string;
  /** Epoch ms of the first run. */
  created: number;
  runs: number;
  machines: Record<string, MachineState>;
  stages: Partial<Record<RunStage, StageState>>;
  /** A digest of the platform objects last installed to Ready (a rerun with the same skips the writes). */
  platformDigest?: string;
}

export function emptyState(cluster: string, now: number): UpState {
  return { version: VERSION, cluster, created: now, runs: 0, machines: {}, stages: {} };
}

/** DIR/state.json, or undefined on a first run. A file hearth cannot read is invalid input. */
export async function loadState(dir: string): Promise<UpState | undefined> {
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OperationError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let s: UpState;
  try {
    s = JSON.parse(text) as UpState;
  } catch {
    throw new InputError(`${file} is not JSON (remove it to start the run over)`);
  }
  if (s?.version !== VERSION || typeof s.machines !== 'object' || typeof s.stages !== 'object') {
    throw new InputError(`${file} is not a hearth up state file of version ${VERSION} (remove it to start the run over)`);
  }
  return s;
}

/**
 * The state and its file. Changes are made in memory and saved in order, one atomic write at a time;
 * writes asked for while one is under way are folded into the next.
 */
export class StateFile {
  private writing: Promise<void> = Promise.resolve();
  private pending = false;
  private failure?: Error;

  constructor(
    readonly dir: string,
    readonly state: UpState,
  ) {}

  get file(): string {
    return path.join(this.dir, STATE_FILE);
  }

  machine(name: string): MachineState {
    return (this.state.machines[name] ??= { stage: 'waiting', stages: {}, installed: false });
  }

  /** Records a machine's stage (first time seen kept); true when it is new. */
  stage(name: string, stage: string, at: number, address?: string): boolean {
    const m = this.machine(name);
    if (address) m.address = address;
    const fresh = m.stages[stage] === undefined;
    if (fresh) m.stages[stage] = at;
    const changed = m.stage !== stage;
    m.stage = stage;
    return fresh || changed;
  }

  /** Saves now (after the write under way, if any). */
  save(): Promise<void> {
    if (this.pending) return this.writing;
    this.pending = true;
    this.writing = this.writing.then(async () => {
      this.pending = false;
      try {
        await writeFileAtomic(this.file, JSON.stringify(this.state, null, 2) + '\n');
      } catch (err) {
        this.failure = new OperationError(`cannot write ${this.file}: ${(err as Error).message}`);
      }
    });
    return this.writing;
  }

  /** Waits for every write asked for; throws when one failed. */
  async flush(): Promise<void> {
    await this.writing;
    if (this.failure) throw this.failure;
  }
}
