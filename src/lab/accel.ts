/**
 * KVM or TCG. KVM only when /dev/kvm opens read-write *and* a tiny guest (SeaBIOS finding nothing
 * to boot, see probeArgv) finishes under it in time: on some hosts /dev/kvm is there but a guest
 * hangs or crawls under it, and then TCG (pure emulation: slow, but it works) is the right choice.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { InputError } from '../common/errors.js';
import { run } from './exec.js';
import { probeArgv, type Accel } from './qemu.js';

export type AccelChoice = Accel | 'auto';

/** The longest the KVM probe may take, whatever TCG needs. */
export const KVM_PROBE_MS = 4000;

/**
 * KVM must run the probe guest at least about as fast as emulation does (working KVM takes a
 * fraction of TCG's time); some hosts expose /dev/kvm but crawl under it, so an absolute bound
 * alone picks KVM there on a quiet moment and the VMs never boot.
 */
export function kvmBudgetMs(tcgMs: number): number {
  return Math.min(KVM_PROBE_MS, Math.max(500, 2 * tcgMs));
}

const TCG_NOTE = 'TCG: pure emulation, slow (expect tens of seconds per VM to reach its boot script, minutes for a full Talos install)';

/** Why KVM is not usable here, or undefined when it is. */
export async function kvmUnusable(): Promise<string | undefined> {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
  } catch (e) {
    return `/dev/kvm cannot be opened (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  // The same guest under TCG first: the yardstick for this host at this moment.
  const t0 = Date.now();
  const tcg = await run(probeArgv('tcg'), KVM_PROBE_MS);
  const budget = kvmBudgetMs(tcg.code === 0 && !tcg.timedOut ? Date.now() - t0 : KVM_PROBE_MS);
  const r = await run(probeArgv('kvm'), budget);
  if (r.timedOut) return `a test guest under KVM did not finish in ${(budget / 1000).toFixed(1)} s (twice what emulation needed)`;
  if (r.code !== 0) return `a test guest under KVM failed: ${r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/warning:/.test(l))[0] ?? `exit ${r.code}`}`;
  return undefined;
}

export async function chooseAccel(want: AccelChoice): Promise<{ accel: Accel; note: string }> {
  if (want === 'tcg') return { accel: 'tcg', note: `${TCG_NOTE}; chosen by --accel tcg` };
  const why = await kvmUnusable();
  if (!why) return { accel: 'kvm', note: 'KVM: hardware virtualisation' };
  if (want === 'kvm') throw new InputError(`--accel kvm: KVM is not usable here: ${why}`);
  return { accel: 'tcg', note: `${TCG_NOTE}; KVM is not usable: ${why}` };
}
