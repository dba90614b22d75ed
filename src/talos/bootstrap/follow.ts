/**
 * Following one node from its apply to `running` by watching its MachineStatus (COSI), never by
 * ping: the watch runs at the address the node answers at now; when the node reboots the stream is
 * cut, and hearth reconnects at the node's configured address with mutual TLS (the channel
 * retries its TLS connection with backoff) and watches again. Until a reboot was seen, a node that
 * does not answer at one address is looked for at the other (hearth may have missed the reboot).
 * Bounded by a deadline.
 */
import { RESOURCES, TalosTlsError, type TalosApi } from '../api/index.js';
import { backoff, type Clock } from './clock.js';
import { InterruptedError, NodeLostError } from './errors.js';

export interface FollowTarget {
  machine: string;
  /** Where the node answers now. */
  from: string;
  /** Where it answers once it has rebooted into its config. */
  to: string;
  /** A mutual-TLS client for an address. */
  connect(address: string): TalosApi;
  onStage(stage: string, address: string): void;
  /** The stage last seen (e.g. "installing" right after an apply). */
  lastStage?: string;
}

const MAX_ATTEMPTS = 500;
/** How long one connection attempt may take before hearth tries the other address again. */
const CONNECT_MS = 3000;

/** Resolves when the node reports stage `running`; NodeLostError at the deadline. */
export async function followToRunning(t: FollowTarget, clock: Clock, deadline: number, signal: AbortSignal): Promise<void> {
  const started = clock.now();
  let address = t.from;
  let last = t.lastStage ?? 'unknown';
  let rebooted = false;
  let failure = '';
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (signal.aborted) throw new InterruptedError();
    const remaining = deadline - clock.now();
    if (remaining <= 0) break;
    const stop = AbortSignal.any([signal, clock.timeout(remaining)]);
    const api = t.connect(address);
    try {
      await api.waitReady(Math.min(remaining, CONNECT_MS));
      for await (const e of api.watch<{ stage?: string }>(RESOURCES.machineStatus.namespace, RESOURCES.machineStatus.type, { id: 'machine', signal: stop })) {
        const stage = e.resource?.spec.stage;
        if (!stage) continue;
        if (stage !== last) t.onStage(stage, address);
        last = stage;
        if (stage === 'running') return;
        if (stage === 'rebooting') rebooted = true;
      }
      failure = 'the status stream ended';
    } catch (err) {
      if (signal.aborted) throw new InterruptedError();
      // a node answering at its configured address with a certificate the os CA did not sign is not ours
      if (err instanceof TalosTlsError && rebooted && address === t.to) throw err;
      failure = err instanceof Error ? err.message : String(err);
    } finally {
      api.close();
    }
    // after the reboot the node can only be at its configured address; before it, either address
    address = rebooted || last === 'rebooting' ? t.to : address === t.from ? t.to : t.from;
    const pause = Math.min(backoff(attempt), Math.max(0, deadline - clock.now()));
    if (pause > 0) await clock.sleep(pause, signal).catch(() => undefined);
  }
  if (signal.aborted) throw new InterruptedError();
  throw new NodeLostError(t.machine, last, clock.now() - started, last === 'rebooting' || rebooted ? `no answer at ${t.to}` : failure);
}
