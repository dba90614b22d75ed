/**
 * The journal file as a small port: the few operations the lease journal needs, so tests can put
 * short writes, ENOSPC and a crash (the process gone mid-write) between the store and the disk.
 */
import { constants, promises as fsp } from 'node:fs';

export interface JournalFile {
  /** Current size in bytes. */
  size(): Promise<number>;
  /** One write(2) at the end of the file; resolves with the bytes written, which may be fewer than asked. */
  append(data: Buffer): Promise<number>;
  datasync(): Promise<void>;
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
  return {
    size: async () => (await fh.stat()).size,
    append: async (data) => (await fh.write(data, 0, data.length, null)).bytesWritten,
    datasync: () => fh.datasync(),
    truncate: (length) => fh.truncate(length),
    close: () => fh.close(),
  };
};
