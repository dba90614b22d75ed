/** Day-two actions: `hearth talos health|kubeconfig|reboot|shutdown|reset|upgrade` (see commands/talos-day2.ts). */
import path from 'node:path';
import { InputError, OperationError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import { prepare } from '../../pipeline/prepare.js';
import type { Spec } from '../../spec/index.js';
import { readTalosconfig, type TalosIdentity } from '../../talos/api/talosconfig.js';
import { Terminal, confirm } from '../../talos/adopt/ask.js';
import { clusterHealth, type ClusterHealth } from '../../talos/day2/health.js';
import { resetPlan } from '../../talos/day2/reset.js';
import { closeAll, connectMachines, explainPermission, selectMachines, type Target } from '../../talos/day2/targets.js';
import { rollingUpgrade } from '../../talos/day2/upgrade.js';
import { waitDown, waitRunning } from '../../talos/day2/wait.js';
import { installImageFor } from '../../talos/stage.js';
import { formatData } from '../format.js';
import { out, say, table } from '../output.js';
import { durationOption, intOption, list } from '../options.js';

export interface Day2Opts {
  file: string;
  dir: string;
  talosconfig?: string;
  port: string;
  timeout: string;
  machine?: string[] | string;
  all?: boolean;
  wait?: boolean;
}

interface Session {
  spec: Spec;
  identity: TalosIdentity;
  timeoutMs: number;
  /** The machines selected. */
  targets: Target[];
  /** Every control plane of the spec (etcd checks), sharing clients with `targets`. */
  controlPlanes: Target[];
  progress: (t: Target | string, text: string) => void;
  close: () => void;
}

function open(opts: Day2Opts, required: boolean): Session {
  const { loaded } = prepare(opts.file);
  const spec = loaded.spec;
  const port = intOption(opts.port, '--port', 1, 65535);
  const timeoutMs = durationOption(opts.timeout, '--timeout');
  const names = typeof opts.machine === 'string' ? list(opts.machine) : (opts.machine ?? []);
  const selected = selectMachines(spec, names, opts.all ?? false, required);
  const { identity } = readTalosconfig(opts.talosconfig ?? path.join(opts.dir, 'talosconfig'));
  const wanted = spec.machines.filter((m) => selected.includes(m) || m.role === 'controlplane');
  const all = connectMachines(wanted, { identity, port });
  const started = Date.now();
  return {
    spec,
    identity,
    timeoutMs,
    targets: all.filter((t) => selected.includes(t.machine)),
    controlPlanes: all.filter((t) => t.machine.role === 'controlplane'),
    progress: (t, text) => say(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${typeof t === 'string' ? t : t.machine.name}: ${text}`),
    close: () => closeAll(all),
  };
}

/** Runs `fn` on every target at once; one line per failure, all reported. */
async function onEach(s: Session, fn: (t: Target) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(s.targets.map(fn));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failed.length === 0) return;
  const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));
  if (failed.length === 1) throw failed[0] instanceof Error ? failed[0] : new OperationError(msg(failed[0]));
  throw new OperationError(`${failed.length} of ${s.targets.length} machines failed: ${failed.map(msg).join('; ')}`);
}

async function withSession(opts: Day2Opts, required: boolean, fn: (s: Session) => Promise<void>): Promise<void> {
  const s = open(opts, required);
  try {
    await fn(s);
  } finally {
    s.close();
  }
}

function renderHealth(h: ClusterHealth, format: string): string {
  if (format !== 'table') return formatData(h, format as 'json' | 'yaml');
  const rows = h.machines.map((m) => [
    m.name,
    m.role,
    m.address,
    m.version ?? '-',
    m.stage ?? '-',
    m.ready ? 'yes' : 'no',
    m.etcdMember === null ? '-' : m.etcdMember ? 'member' : 'missing',
    m.problem ?? '',
  ]);
  return table(['MACHINE', 'ROLE', 'ADDRESS', 'VERSION', 'STAGE', 'READY', 'ETCD', 'PROBLEM'], rows);
}

export async function health(opts: Day2Opts & { output: string }): Promise<void> {
  await withSession(opts, false, async (s) => {
    const h = await clusterHealth(s.targets, s.controlPlanes);
    out(renderHealth(h, opts.output));
    if (h.healthy) {
      say(`healthy: etcd has all ${s.controlPlanes.length} control planes, ${h.machines.length} machine${h.machines.length === 1 ? '' : 's'} running and ready`);
      return;
    }
    for (const p of h.problems) say(`unhealthy: ${p}`);
    process.exitCode = 1;
  });
}

export async function kubeconfig(file: string | undefined, opts: Day2Opts & { machine?: string }): Promise<void> {
  await withSession({ ...opts, machine: undefined }, false, async (s) => {
    const cps = opts.machine ? s.controlPlanes.filter((t) => t.machine.name === opts.machine) : s.controlPlanes;
    if (opts.machine && cps.length === 0) throw new InputError(`--machine ${opts.machine}: not a control plane of the spec`);
    if (cps.length === 0) throw new InputError('the spec has no control plane to ask for a kubeconfig');
    let text: string | undefined;
    const errors: string[] = [];
    for (const t of cps) {
      try {
        text = await t.api.kubeconfig();
        s.progress(t, 'kubeconfig fetched');
        break;
      } catch (err) {
        const e = explainPermission(err, t, 'kubeconfig', 'os:admin', s.identity);
        if (e !== err) throw e;
        errors.push((err as Error).message);
      }
    }
    if (text === undefined) throw new OperationError(`no control plane gave a kubeconfig: ${errors.join('; ')}`);
    if (file === '-') return out(text);
    const target = file ?? path.join(opts.dir, 'kubeconfig');
    await writeFileAtomic(target, text, { mode: 0o600 });
    say(`wrote ${target} (mode 0600)`);
  });
}

export async function reboot(opts: Day2Opts): Promise<void> {
  await withSession(opts, true, (s) =>
    onEach(s, async (t) => {
      await t.api.reboot().catch((err: unknown) => Promise.reject(explainPermission(err, t, 'reboot', 'os:operator or os:admin', s.identity)));
      s.progress(t, 'rebooting');
      if (!opts.wait) return;
      await waitRunning(t.api, { name: t.machine.name, timeoutMs: s.timeoutMs, mustLeave: true, onStage: (st) => s.progress(t, st) });
      s.progress(t, 'running and ready');
    }),
  );
}

export async function shutdown(opts: Day2Opts & { force?: boolean }): Promise<void> {
  await withSession(opts, true, (s) =>
    onEach(s, async (t) => {
      await t.api.shutdown({ force: opts.force ?? false }).catch((err: unknown) => Promise.reject(explainPermission(err, t, 'shutdown', 'os:operator or os:admin', s.identity)));
      s.progress(t, 'shutting down');
      if (!opts.wait) return;
      await waitDown(t.api, { name: t.machine.name, timeoutMs: s.timeoutMs, onStage: (st) => s.progress(t, st) });
      s.progress(t, 'off (not answering)');
    }),
  );
}

const bool = (v: string | boolean | undefined, what: string): boolean => {
  if (v === undefined || v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new InputError(`${what} is true or false, not "${v}"`);
};

export async function reset(
  opts: Day2Opts & { yes?: boolean; graceful?: string | boolean; reboot?: boolean; wipeMode?: string; systemLabelsToWipe?: string },
): Promise<void> {
  const plan = resetPlan({
    wipeMode: opts.wipeMode,
    labels: opts.systemLabelsToWipe === undefined ? undefined : list(opts.systemLabelsToWipe),
    graceful: bool(opts.graceful, '--graceful'),
    reboot: opts.reboot ?? false,
  });
  await withSession(opts, true, async (s) => {
    const names = s.targets.map((t) => t.machine.name).join(', ');
    say(`reset ${names}: wipes ${plan.wipes}; ${plan.request.graceful ? 'graceful (leaves etcd, drains first)' : 'not graceful'}; then ${plan.request.reboot ? 'reboots' : 'powers off'}`);
    if (!opts.yes) {
      if (!(process.stdin.isTTY && process.stderr.isTTY)) throw new InputError('reset wipes machines: confirm on a terminal, or give --yes');
      const term = new Terminal(process.stdin, process.stderr);
      try {
        if (!(await confirm(term, `Reset ${names}?`, false))) throw new InputError('reset not confirmed; nothing done');
      } finally {
        term.close();
      }
    }
    await onEach(s, async (t) => {
      await t.api.reset(plan.request).catch((err: unknown) => Promise.reject(explainPermission(err, t, 'reset', 'os:admin', s.identity)));
      s.progress(t, `resetting (wiping ${plan.wipes})`);
      if (!opts.wait) return;
      await waitDown(t.api, { name: t.machine.name, timeoutMs: s.timeoutMs, onStage: (st) => s.progress(t, st) });
      s.progress(t, 'reset: no longer answering at its configured address');
    });
  });
}

export async function upgrade(opts: Day2Opts): Promise<void> {
  await withSession(opts, true, async (s) => {
    const image = installImageFor(s.spec);
    s.progress('upgrade', `to ${image}: ${s.targets.map((t) => t.machine.name).join(', ')}`);
    try {
      const r = await rollingUpgrade(s.targets, s.controlPlanes, { image, timeoutMs: s.timeoutMs, progress: (m, text) => s.progress(m, text) });
      say(`upgraded ${r.upgraded.length} machine${r.upgraded.length === 1 ? '' : 's'}${r.skipped.length ? `, ${r.skipped.length} already at the version` : ''}`);
    } catch (err) {
      const t = s.targets.find((x) => (err as { node?: string }).node === x.address);
      throw t ? explainPermission(err, t, 'upgrade', 'os:admin', s.identity) : err;
    }
  });
}
