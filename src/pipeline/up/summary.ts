/** The end of a `hearth up` run: what each machine and each stage took, as data and as text. */
import type { Spec } from '../../spec/index.js';
import type { RunStage } from '../events.js';
import { MACHINE_STAGES } from './follow.js';
import type { UpState } from './state.js';

export const RUN_STAGES: readonly RunStage[] = ['netboot', 'bootstrap', 'platform'];

export interface MachineSummary {
  name: string;
  role: string;
  address?: string;
  stage: string;
  installed: boolean;
  /** Each stage reached, with the milliseconds it took from the stage before (the first: 0). */
  stages: { stage: string; tookMs: number }[];
  /** From the first stage seen to the last. */
  totalMs: number;
}

export interface StageSummary {
  stage: RunStage;
  state: 'done' | 'skipped';
  /** How long it took in the run that did it. */
  elapsedMs?: number;
  /** Done in this run, or found done by an earlier one. */
  thisRun: boolean;
}

export interface UpSummary {
  cluster: string;
  endpoint: string;
  until: RunStage;
  /** False when the run found everything done and changed nothing. */
  changed: boolean;
  elapsedMs: number;
  stages: StageSummary[];
  machines: MachineSummary[];
  files: string[];
}

const order = (s: string) => {
  const i = (MACHINE_STAGES as readonly string[]).indexOf(s);
  return i < 0 ? MACHINE_STAGES.length : i;
};

export function machineSummaries(spec: Spec, state: UpState): MachineSummary[] {
  return spec.machines.map((m) => {
    const s = state.machines[m.name];
    const seen = Object.entries(s?.stages ?? {}).sort((a, b) => a[1] - b[1] || order(a[0]) - order(b[0]));
    const stages = seen.map(([stage, at], i) => ({ stage, tookMs: i === 0 ? 0 : at - seen[i - 1]![1] }));
    const totalMs = seen.length > 1 ? seen.at(-1)![1] - seen[0]![1] : 0;
    return { name: m.name, role: m.role, address: s?.address, stage: s?.stage ?? 'waiting', installed: s?.installed ?? false, stages, totalMs };
  });
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

export function summaryText(s: UpSummary): string {
  const head = s.changed
    ? `hearth up: ${s.until === 'platform' ? `platform Ready on ${s.cluster}` : `${s.cluster} done up to ${s.until}`} (${secs(s.elapsedMs)})`
    : `hearth up: ${s.cluster} is already up to ${s.until}; nothing changed (${secs(s.elapsedMs)})`;
  const stages = s.stages.map((x) => `  ${x.stage.padEnd(10)} ${x.state === 'skipped' ? 'not asked for' : x.elapsedMs === undefined ? 'done' : `${secs(x.elapsedMs)}${x.thisRun ? '' : ' (an earlier run)'}`}`);
  const width = Math.max(8, ...s.machines.map((m) => m.name.length));
  const machines = s.machines.map((m) => {
    const steps = m.stages.map((x) => `${x.stage} +${secs(x.tookMs)}`).join(', ');
    return `  ${m.name.padEnd(width)} ${m.stage.padEnd(11)} ${(m.address ?? '-').padEnd(15)} ${secs(m.totalMs).padStart(7)}  ${steps}`;
  });
  const files = s.files.length ? [`files: ${s.files.join(', ')}`] : [];
  return [head, 'stages:', ...stages, 'machines:', ...machines, ...files].join('\n');
}
