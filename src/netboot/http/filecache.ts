/**
 * Per-file work of a download done once per file version instead of once per request: the jail's
 * realpath and stat, the ETag and the Last-Modified date. A name's answer is reused for
 * `checkMs`; after that the next request checks the file again (realpath and stat) and keeps the
 * cached answer only while the real path, device, inode, size and mtime are unchanged. So a file
 * replaced or rewritten is seen at most `checkMs` late. Only found files are cached (a name that
 * is refused is looked up every time), at most `maxEntries` of them, the oldest dropped first.
 */
import type { Stats } from 'node:fs';
import type { Jail, JailRefusal } from '../jail.js';
import { etagOf } from './files.js';

/** A served file version and its validators. */
export interface FileInfo {
  file: string;
  st: Stats;
  etag: string;
  lastModified: string;
}

export interface FileCacheOptions {
  /** How long a name's answer is reused before the file is checked again, ms (default 1000). */
  checkMs?: number;
  /** Names remembered at most (default 256). */
  maxEntries?: number;
}

const sameVersion = (a: FileInfo, file: string, st: Stats) =>
  a.file === file && a.st.dev === st.dev && a.st.ino === st.ino && a.st.size === st.size && a.st.mtimeMs === st.mtimeMs;

export class FileInfoCache {
  private readonly checkMs: number;
  private readonly maxEntries: number;
  /** Name -> its file and when it was last checked; Map order is insertion order (oldest first). */
  private readonly byName = new Map<string, { info: FileInfo; checked: number }>();
  /** Name -> its check running now (at most one per name; gone when it ends). */
  private readonly checking = new Map<string, Promise<FileInfo | { refused: JailRefusal }>>();

  constructor(
    private readonly jail: Jail,
    opts: FileCacheOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.checkMs = opts.checkMs ?? 1000;
    this.maxEntries = opts.maxEntries ?? 256;
  }

  /** The file `name` is (as Jail.resolve decides), with its validators, or why it is refused. */
  resolve(name: string): FileInfo | Promise<FileInfo | { refused: JailRefusal }> {
    const hit = this.byName.get(name);
    if (hit && this.now() - hit.checked < this.checkMs) return hit.info;
    // One check per name at a time: the requests arriving while it runs share its answer.
    const running = this.checking.get(name);
    if (running) return running;
    const check = this.check(name).finally(() => this.checking.delete(name));
    this.checking.set(name, check);
    return check;
  }

  private async check(name: string): Promise<FileInfo | { refused: JailRefusal }> {
    const t = this.now();
    const hit = this.byName.get(name);
    const found = await this.jail.resolve(name);
    if ('refused' in found) {
      this.byName.delete(name);
      return found;
    }
    const info = hit && sameVersion(hit.info, found.file, found.st) ? hit.info : { file: found.file, st: found.st, etag: etagOf(found.st), lastModified: found.st.mtime.toUTCString() };
    this.byName.delete(name);
    this.byName.set(name, { info, checked: t });
    if (this.byName.size > this.maxEntries) this.byName.delete(this.byName.keys().next().value!);
    return info;
  }

  /** Names remembered now. */
  get size(): number {
    return this.byName.size;
  }
}
