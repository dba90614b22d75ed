/**
 * What `hearth talos reset` wipes, as talosctl's reset flags say it: by default only the STATE
 * (machine config) and EPHEMERAL (/var) partitions of the system disk; with --wipe-mode the whole
 * system disk, the user disks, or both.
 */
import { InputError } from '../../common/errors.js';
import type { ResetOptions } from '../api/index.js';

export type WipeMode = 'all' | 'system-disk' | 'user-disks';
export const WIPE_MODES: WipeMode[] = ['all', 'system-disk', 'user-disks'];
export const DEFAULT_LABELS = ['STATE', 'EPHEMERAL'];
const SYSTEM_LABELS = ['EFI', 'BIOS', 'BOOT', 'META', 'STATE', 'EPHEMERAL'];

export interface ResetPlan {
  request: ResetOptions;
  /** One phrase for the confirmation and the progress lines. */
  wipes: string;
}

/** The Reset request for the flags, and what it wipes in words. */
export function resetPlan(opts: { wipeMode?: string; labels?: string[]; graceful: boolean; reboot: boolean }): ResetPlan {
  if (opts.wipeMode !== undefined && !WIPE_MODES.includes(opts.wipeMode as WipeMode)) {
    throw new InputError(`--wipe-mode must be one of ${WIPE_MODES.join(', ')}, not "${opts.wipeMode}"`);
  }
  if (opts.wipeMode !== undefined && opts.labels !== undefined) throw new InputError('give --wipe-mode or --system-labels-to-wipe, not both');
  const base = { graceful: opts.graceful, reboot: opts.reboot };
  switch (opts.wipeMode as WipeMode | undefined) {
    case 'all':
      return { request: { ...base, mode: 'ALL' }, wipes: 'the whole system disk and every user disk' };
    case 'system-disk':
      return { request: { ...base, mode: 'SYSTEM_DISK' }, wipes: 'the whole system disk (user disks kept)' };
    case 'user-disks':
      return { request: { ...base, mode: 'USER_DISKS' }, wipes: 'the user disks (the system disk kept)' };
    default: {
      const labels = (opts.labels ?? DEFAULT_LABELS).map((l) => l.toUpperCase());
      const bad = labels.filter((l) => !SYSTEM_LABELS.includes(l));
      if (labels.length === 0 || bad.length > 0) throw new InputError(`--system-labels-to-wipe: unknown partition ${bad.join(', ') || '(none given)'} (${SYSTEM_LABELS.join(', ')})`);
      return {
        request: { ...base, mode: 'SYSTEM_DISK', systemPartitionsToWipe: labels.map((label) => ({ label, wipe: true })) },
        wipes: `the ${labels.join(' and ')} partition${labels.length === 1 ? '' : 's'} of the system disk (other partitions and user disks kept)`,
      };
    }
  }
}
