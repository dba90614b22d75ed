/**
 * The journal file as a small port: the few operations the lease journal needs, so tests can put
 * short writes, ENOSPC and a crash (the process gone mid-write) between the store and the disk.
 */
import { constants, promises as fsp } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { loadNative } from '../transport.js';

export interface JournalFile {
  /** Current size in bytes. */
  size(): Promise<number>;
  /** One write(2) at the end of the file; resolves with the bytes written, which may be fewer than asked. */
  append(data: Buffer): Promise<number>;
  datasync(): Promise<void>;
  /**
   * `append`, then `datasync` when all of `data` was written and `sync` is set, as one step (one
   * hand-off to the thread pool instead of two). Resolves with the bytes written; a short write is
   * not synced. Optional: without it the journal calls `append` and `datasync`.
   */
  appendAndSync?(data: Buffer, sync: boolean): Promise<number>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export type OpenJournalFile = (file: string) => Promise<JournalFile>;

/**
 * Opens (creating, mode 0600) with O_APPEND: every write lands at the end of the file whatever
 * happened to it before (a restart, a truncation), never at a stale offset.
 */
export const openAppendOnly: OpenJournalFile = async (file) => {
  const fh = await fsp.open(file, constants.O_CREAT | constants.O_WRONLY | constants.O_APPEND, 0o600);
  const native = loadNative();
  const appendDurably = native instanceof Error ? undefined : native.appendDurably;
  return {
    size: async () => (await fh.stat()).size,
    append: async (data) => (await fh.write(data, 0, data.length, null)).bytesWritten,
    datasync: () => fh.datasync(),
    ...(appendDurably && {
      appendAndSync: (data: Buffer, sync: boolean) =>
        new Promise<number>((resolve, reject) => appendDurably(fh.fd, data, sync, (errno, written) => (errno ? reject(errnoError(errno, file)) : resolve(written)))),
    }),
    truncate: (length) => fh.truncate(length),
    close: () => fh.close(),
  };
};

/** An Error like Node's fs errors (code ENOSPC, EIO ...) for an errno from the native addon. */
function errnoError(errno: number, file: string): NodeJS.ErrnoException {
  const code = Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
  return Object.assign(new Error(`${code}: write or fdatasync of ${file} failed`), { code, errno: -errno });
}
