/**
 * A journal file port for the lease-store tests (not a test file itself): the real O_APPEND file,
 * with faults put in front of chosen operations — a short write, ENOSPC, a failing fdatasync or
 * truncate, and a crash (part of a write reaches the file, then the process is gone: every later
 * operation fails, nothing more reaches the disk, as after kill -9).
 */
import { openAppendOnly, type JournalFile, type OpenJournalFile } from '../../src/netboot/dhcp/leases/journal-file.js';

export type Fault =
  /** append writes only the first `keep` bytes and reports so (a short write(2)). */
  | { op: 'append'; kind: 'short'; keep: number }
  /** append fails with ENOSPC, nothing written. */
  | { op: 'append'; kind: 'enospc' }
  | { op: 'datasync'; kind: 'eio' }
  | { op: 'truncate'; kind: 'eio' }
  /** append writes the first `keep` bytes, then the process dies. */
  | { op: 'append'; kind: 'crash'; keep: number };

function errno(code: string, text: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${text}`), { code });
}

export class FaultyDisk {
  /** Faults by operation, each used once, in order. */
  readonly faults: Fault[] = [];
  dead = false;
  /** Journal size when the last fdatasync succeeded: what survives a power cut. */
  synced = 0;
  /** Calls per operation, for assertions. */
  readonly calls = { append: 0, datasync: 0, truncate: 0 };

  private take(op: Fault['op']): Fault | undefined {
    const i = this.faults.findIndex((f) => f.op === op);
    return i < 0 ? undefined : this.faults.splice(i, 1)[0];
  }

  private readonly files: JournalFile[] = [];

  /** The process dies now: nothing more reaches the file. */
  async kill(): Promise<void> {
    this.dead = true;
    for (const f of this.files.splice(0)) await f.close().catch(() => undefined);
  }

  private alive(): void {
    if (this.dead) throw errno('EBADF', 'the process is gone');
  }

  readonly open: OpenJournalFile = async (file) => {
    const real: JournalFile = await openAppendOnly(file);
    const disk = this;
    disk.synced = await real.size(); // what an earlier process left is on disk
    disk.files.push(real);
    return {
      async size() {
        disk.alive();
        return real.size();
      },
      async append(data) {
        disk.alive();
        disk.calls.append++;
        const f = disk.take('append');
        if (f?.kind === 'enospc') throw errno('ENOSPC', 'no space left on device');
        if (f?.kind === 'short') return real.append(data.subarray(0, Math.min(f.keep, data.length)));
        if (f?.kind === 'crash') {
          if (f.keep > 0) await real.append(data.subarray(0, Math.min(f.keep, data.length)));
          await disk.kill();
          throw errno('EBADF', 'the process is gone');
        }
        return real.append(data);
      },
      async datasync() {
        disk.alive();
        disk.calls.datasync++;
        if (disk.take('datasync')) throw errno('EIO', 'i/o error');
        await real.datasync();
        disk.synced = await real.size();
      },
      async truncate(length) {
        disk.alive();
        disk.calls.truncate++;
        if (disk.take('truncate')) throw errno('EIO', 'i/o error');
        await real.truncate(length);
      },
      async close() {
        if (disk.dead) return;
        disk.files.splice(disk.files.indexOf(real), 1);
        await real.close();
      },
    };
  };
}
