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

/** How long the KVM probe may take; under TCG the same guest needs a fraction of a second. */
export const KVM_PROBE_MS = 4000;

const TCG_NOTE = 'TCG: pure emulation, slow (expect tens of seconds per VM to reach its boot script, minutes for a full Talos install)';

/** Why KVM is not usable here, or undefined when it is. */
export async function kvmUnusable(): Promise<string | undefined> {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
  } catch (e) {
    return `/dev/kvm cannot be opened (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  const r = await run(probeArgv('kvm'), KVM_PROBE_MS);
  if (r.timedOut) return `a test guest under KVM did not finish in ${KVM_PROBE_MS / 1000} s`;
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
