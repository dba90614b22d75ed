/**
 * What of a RunEvent may leave the process for a browser (/api/events): each event rebuilt from
 * the fields its type declares, nothing else. A publisher that hangs more on an event (a machine
 * config, a secret) by mistake does not get it onto the wire.
 */
import type { BootEvent } from '../netboot/events.js';
import type { MachineProgress, ProgressStep } from '../netboot/progress/index.js';
import type { RunEvent } from './events.js';

/** The listed keys of `o` that are set, in a new object. */
function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

const BOOT_KEYS = ['kind', 'at', 'mac', 'ip', 'file', 'bytes', 'durationMs', 'arch', 'uuid', 'hostname', 'detail'] as const satisfies readonly (keyof BootEvent)[];
const STEP_KEYS = ['step', 'at', 'sinceFirstSeen', 'file', 'bytes', 'durationMs', 'rate', 'detail'] as const satisfies readonly (keyof ProgressStep)[];
const MACHINE_KEYS = ['mac', 'name', 'ip', 'arch', 'uuid', 'hostname', 'profile', 'firstSeen', 'lastSeen', 'state', 'errors', 'errorCount'] as const satisfies readonly (keyof MachineProgress)[];
type Active = MachineProgress['active'][number];
const ACTIVE_KEYS = ['file', 'since', 'bytes', 'sent', 'kind'] as const satisfies readonly (keyof Active)[];

function publicMachine(m: MachineProgress): MachineProgress {
  return {
    ...pick(m, MACHINE_KEYS),
    errors: m.errors.map(String),
    steps: m.steps.map((s) => pick(s, STEP_KEYS)),
    active: m.active.map((a) => pick(a, ACTIVE_KEYS)),
  };
}

/** The event as it may be shown: only its declared fields. */
export function publicEvent(e: RunEvent): RunEvent {
  switch (e.type) {
    case 'boot':
      return { type: e.type, at: e.at, boot: pick(e.boot, BOOT_KEYS) };
    case 'machine':
      return { type: e.type, at: e.at, machine: publicMachine(e.machine) };
    case 'talos':
      return pick(e, ['type', 'at', 'name', 'phase', 'address', 'detail']);
    case 'component':
      return { ...pick(e, ['type', 'at', 'name', 'namespace', 'state', 'waitingFor']), dependsOn: e.dependsOn.map(String) };
    case 'stage':
      return pick(e, ['type', 'at', 'stage', 'state', 'detail']);
    case 'log':
      return pick(e, ['type', 'at', 'level', 'message']);
  }
}
