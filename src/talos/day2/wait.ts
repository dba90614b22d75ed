/**
 * Following a node through its stages over COSI (MachineStatuses.runtime.talos.dev, id "machine"):
 * the watch is reopened after the node drops off the network (a reboot), and everything is bounded
 * by one deadline. No pings.
 */
import { OperationError } from '../../common/errors.js';
import { RESOURCES, TalosApiError, type MachineStatusSpec, TalosTimeoutError, TalosUnavailableError, type TalosApi } from '../api/index.js';


export interface WaitOptions {
  /** The machine's name, for messages. */
  name: string;
  timeoutMs: number;
  /** Return only after the node has left "running" first (it was told to reboot, upgrade...). */
  mustLeave: boolean;
  /** Called on each stage change, and with "down" while the node does not answer. */
  onStage?: (stage: string) => void;
}

/** The node dropped off: refused, timed out, or the stream was cut (a reboot or a shutdown). */
const gone = (err: unknown) =>
  err instanceof TalosUnavailableError || err instanceof TalosTimeoutError || (err instanceof TalosApiError && err.code === 'CANCELLED');

/** Resolves when the node is running and ready (after leaving running, with `mustLeave`). */
export async function waitRunning(api: TalosApi, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let left = !opts.mustLeave;
  let last = '';
  const seen = (stage: string) => {
    if (stage !== last) opts.onStage?.(stage);
    last = stage;
  };
  while (Date.now() < deadline) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), Math.max(deadline - Date.now(), 0));
    try {
      const { namespace, type } = RESOURCES.machineStatus;
      for await (const e of api.watch<MachineStatusSpec>(namespace, type, { id: 'machine', signal: ac.signal })) {
        if (!e.resource) continue;
        const stage = e.resource.spec.stage ?? 'unknown';
        seen(stage);
        if (stage !== 'running') left = true;
        else if (left && e.resource.spec.status?.ready) return;
      }
      if (ac.signal.aborted) break;
      // the stream ended without an error: the node is going away
    } catch (err) {
      if (!gone(err)) throw err;
    } finally {
      clearTimeout(timer);
    }
    left = true;
    seen('down');
    await api.waitReady(Math.max(deadline - Date.now(), 1)).catch(() => undefined);
  }
  throw new OperationError(`machine ${opts.name}: not running and ready after ${Math.round(opts.timeoutMs / 1000)} s (last stage: ${last || 'unknown'})`);
}

/** Resolves when the node stops answering (shut down, or reset and rebooted away from its address). */
export async function waitDown(api: TalosApi, opts: Omit<WaitOptions, 'mustLeave'>): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs);
  let last = '';
  try {
    const { namespace, type } = RESOURCES.machineStatus;
    for await (const e of api.watch<MachineStatusSpec>(namespace, type, { id: 'machine', signal: ac.signal })) {
      const stage = e.resource?.spec.stage;
      if (stage && stage !== last) opts.onStage?.(stage);
      last = stage ?? last;
    }
  } catch (err) {
    if (gone(err)) return;
    throw err;
  } finally {
    clearTimeout(timer);
  }
  throw new OperationError(`machine ${opts.name}: still answering after ${Math.round(opts.timeoutMs / 1000)} s (last stage: ${last || 'unknown'})`);
}
