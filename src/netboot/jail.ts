/**
 * The path jail shared by the TFTP and HTTP servers: maps a client's relative file name to a
 * regular file inside one directory, or says why not. Names are taken as already decoded (TFTP
 * names arrive raw; HTTP decodes percent-encoding before asking). Refused: NUL bytes, backslashes,
 * absolute names, `..` segments, and anything whose real path (symlinks resolved) leaves the root.
 */
import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** Why a name was refused; the servers count these as drop reasons. */
export type JailRefusal = 'bad-path' | 'absolute-path' | 'traversal' | 'outside-root' | 'not-found' | 'not-a-file';

export type JailResult = { file: string; st: Stats } | { refused: JailRefusal };

export class Jail {
  private constructor(
    /** The root with its symlinks resolved (what real paths are compared against). */
    readonly root: string,
  ) {}

  /** A jail at `root` (resolved once; a root that does not exist yet is taken as written). */
  static async at(root: string): Promise<Jail> {
    return new Jail(await realpath(root).catch(() => path.resolve(root)));
  }

  /** The regular file `name` names inside the root, with its stat, or the refusal. */
  async resolve(name: string): Promise<JailResult> {
    if (name.includes('\0') || name.includes('\\')) return { refused: 'bad-path' };
    if (name.startsWith('/')) return { refused: 'absolute-path' };
    const segs = name.split('/');
    if (segs.some((s) => s === '..')) return { refused: 'traversal' };
    let real: string;
    try {
      real = await realpath(path.join(this.root, ...segs.filter((s) => s !== '' && s !== '.')));
    } catch {
      return { refused: 'not-found' };
    }
    if (real !== this.root && !real.startsWith(this.root + path.sep)) return { refused: 'outside-root' };
    const st = await stat(real).catch(() => undefined);
    if (!st) return { refused: 'not-found' };
    if (!st.isFile()) return { refused: 'not-a-file' };
    return { file: real, st };
  }
}
