/**
 * Which of a node's disks a machine installs to: `installDisk` by device path, or a Talos
 * `installDiskSelector` (size with an optional comparison, name, model/busPath globs, serial, wwid,
 * type) evaluated against what the node reported. Pure.
 */
import type { DiscoveredDisk } from '../api/discover.js';

export type DiskSelector = Partial<Record<'size' | 'name' | 'model' | 'serial' | 'modalias' | 'uuid' | 'wwid' | 'type' | 'busPath', string>>;

const UNITS: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, PB: 1e15, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40, PIB: 2 ** 50 };

/** "4GB", ">= 500GB", "< 1TiB" as a predicate on a size in bytes; undefined when unreadable. */
export function sizeMatcher(text: string): ((bytes: number) => boolean) | undefined {
  const m = /^\s*(>=|<=|>|<|==)?\s*(\d+(?:\.\d+)?)\s*([KMGTP]i?B|B)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[(m[3] ?? '').toUpperCase()];
  if (unit === undefined) return undefined;
  const want = Number(m[2]) * unit;
  switch (m[1]) {
    case '>=':
      return (b) => b >= want;
    case '<=':
      return (b) => b <= want;
    case '>':
      return (b) => b > want;
    case '<':
      return (b) => b < want;
    default:
      return (b) => b === want;
  }
}

function glob(pattern: string, text: string): boolean {
  const re = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(text);
}

function typeOf(d: DiscoveredDisk): string {
  if (d.transport === 'nvme') return 'nvme';
  if (d.transport === 'mmc') return 'sd';
  return d.rotational ? 'hdd' : 'ssd';
}

type DiskWithBus = DiscoveredDisk & { busPath?: string };

/** Whether one disk satisfies every field of the selector (fields the node does not report never match). */
export function diskMatches(sel: DiskSelector, d: DiskWithBus): boolean {
  const size = sel.size === undefined ? undefined : sizeMatcher(sel.size);
  if (sel.size !== undefined && (!size || !size(d.size))) return false;
  if (sel.name !== undefined && sel.name !== d.name && sel.name !== `/dev/${d.name}`) return false;
  if (sel.model !== undefined && !glob(sel.model, d.model)) return false;
  if (sel.serial !== undefined && sel.serial !== d.serial) return false;
  if (sel.wwid !== undefined && sel.wwid !== d.wwid) return false;
  if (sel.type !== undefined && sel.type !== typeOf(d)) return false;
  if (sel.busPath !== undefined && !glob(sel.busPath, d.busPath ?? '')) return false;
  if (sel.modalias !== undefined || sel.uuid !== undefined) return false;
  return true;
}

/** The disks an install disk path names (by /dev path or bare name). */
export function disksAt(path: string, disks: DiscoveredDisk[]): DiscoveredDisk[] {
  return disks.filter((d) => `/dev/${d.name}` === path || d.name === path);
}

export const describeSelector = (sel: DiskSelector): string =>
  Object.entries(sel)
    .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
    .join(', ');
