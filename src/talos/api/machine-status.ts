/**
 * A node's MachineStatus (MachineStatuses.runtime.talos.dev, id "machine"): its stage and whether it
 * is ready, with the conditions it still waits for. The one reading of it that bootstrap's health
 * wait and the day-two `health` command share.
 */
import { RESOURCES } from './cosi.js';
import type { TalosApi } from './types.js';

/** The spec fields hearth reads. */
export interface MachineStatusSpec {
  stage?: string;
  status?: { ready?: boolean; unmetConditions?: { name?: string; reason?: string }[] };
}

export interface MachineReadiness {
  /** booting, installing, running, rebooting, ... ("unknown" when the node does not say). */
  stage: string;
  ready: boolean;
  /** What keeps it from ready: "name: reason; ..." (empty when nothing is reported). */
  unmet: string;
  /** undefined when running and ready; else a short phrase: "stage booting", "not ready (…)". */
  problem?: string;
}

export async function machineReadiness(api: TalosApi): Promise<MachineReadiness> {
  const { namespace, type } = RESOURCES.machineStatus;
  const { spec } = await api.get<MachineStatusSpec>(namespace, type, 'machine');
  const stage = spec.stage ?? 'unknown';
  const ready = Boolean(spec.status?.ready);
  const unmet = (spec.status?.unmetConditions ?? []).map((u) => `${u.name}: ${u.reason}`).join('; ');
  const problem = stage !== 'running' ? `stage ${stage}` : !ready ? `not ready${unmet ? ` (${unmet})` : ''}` : undefined;
  return { stage, ready, unmet, problem };
}
