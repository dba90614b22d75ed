/**
 * A lab VM's disk from the machine's installDisk / diskSelector, pure: its size (a Talos size
 * selector like "4GB" or ">= 1TB" names one that matches) and the bus that gives the device the
 * name the spec expects (/dev/sda: SCSI, /dev/vda: virtio-blk, /dev/nvme0n1: NVMe).
 */
import { InputError } from '../common/errors.js';
import type { Machine } from '../spec/index.js';

export type DiskBus = 'scsi' | 'virtio' | 'nvme' | 'ide';

/** Size of the (sparse) disk when the spec says nothing: room for Talos' partitions and some images. */
export const DEFAULT_DISK_BYTES = 32 * 2 ** 30;
const GIB = 2 ** 30;

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, p: 1e15, pb: 1e15,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, pib: 2 ** 50,
};

/**
 * Bytes of a disk that a diskSelector.size matches: exact sizes as given, `>= X` / `<= X` exactly
 * X, `> X` one GiB more, `< X` one GiB less; rounded up to whole 512-byte sectors.
 */
export function diskSizeBytes(selector: string | undefined): number {
  if (selector === undefined) return DEFAULT_DISK_BYTES;
  const m = /^\s*(>=|<=|==|>|<)?\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(selector);
  const unit = UNITS[(m?.[3] ?? '').toLowerCase()];
  if (!m || unit === undefined) throw new InputError(`diskSelector.size "${selector}": expected a size like 100GB or ">= 1TB"`);
  let bytes = Number(m[2]) * unit;
  if (m[1] === '>') bytes += GIB;
  if (m[1] === '<') bytes -= GIB;
  if (bytes < GIB) throw new InputError(`diskSelector.size "${selector}": the lab disk would be smaller than 1 GiB`);
  return Math.ceil(bytes / 512) * 512;
}

/** The bus that makes the guest see the disk under the name the spec uses. */
export function diskBus(m: Pick<Machine, 'installDisk' | 'diskSelector'>): { bus: DiskBus; rotational?: boolean } {
  const dev = m.installDisk?.replace(/^\/dev\//, '');
  if (dev) {
    if (/^nvme/.test(dev)) return { bus: 'nvme' };
    if (/^vd/.test(dev)) return { bus: 'virtio' };
    if (/^hd/.test(dev)) return { bus: 'ide' };
    return { bus: 'scsi' };
  }
  const type = m.diskSelector?.type;
  if (type === 'nvme') return { bus: 'nvme' };
  if (type === 'ssd') return { bus: 'scsi', rotational: false };
  if (type === 'hdd') return { bus: 'scsi', rotational: true };
  return { bus: 'scsi' };
}
