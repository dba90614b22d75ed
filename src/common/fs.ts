import { closeSync, constants, fchmodSync, fsyncSync, openSync, promises as fsp, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError, OperationError } from './errors.js';

/**
 * A temporary name beside `file`, unique within this process (pid, a counter) and unlikely to meet a
 * crashed process's leftover (time, a random part); the O_EXCL open refuses a clash anyway. Not
 * from node:crypto, which commands that write no secrets (netboot serve) would otherwise load.
 */
let tempSeq = 0;
function tempPath(file: string): string {
  const unique = `${process.pid}-${(++tempSeq).toString(36)}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return path.join(path.dirname(file), `.${path.basename(file)}.${unique}.tmp`);
}

export interface WriteOptions {
  /** File mode, for example 0o600 for secrets. Default 0o644. */
  mode?: number;
  /** Refuse to replace an existing file. */
  exclusive?: boolean;
}

/**
 * Writes a file atomically: the data goes to a temporary file in the same directory,
 * is flushed to disk, then renamed over the target. A crash leaves the old file or the
 * new one, never a torn one.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  await makeDir(dir);
  if (opts.exclusive && (await exists(file))) {
    throw Object.assign(new Error(`${file} already exists`), { code: 'EEXIST' });
  }
  const tmp = tempPath(file);
  const mode = opts.mode ?? 0o644;
  const fh = await fsp.open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // the umask may have narrowed the mode given to open()
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    if (opts.exclusive) {
      // link() fails if the target appeared meanwhile; rename() would silently replace it.
      await fsp.link(tmp, file);
      await fsp.rm(tmp, { force: true });
    } else {
      await fsp.rename(tmp, file);
    }
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/**
 * writeFileAtomic for callers that cannot wait (state rewritten from a sync handler): temp file in
 * the same directory, flushed, renamed over the target; the temp file is removed on failure. The
 * directory must exist.
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: { mode?: number } = {}): void {
  const tmp = tempPath(file);
  const mode = opts.mode ?? 0o644;
  try {
    const fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, mode);
    try {
      writeFileSync(fd, data);
      fchmodSync(fd, mode); // the umask may have narrowed the mode given to open()
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** mkdir -p with a one-line error: a file in the way is the user's input (exit 2), the rest exit 1. */
export async function makeDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new InputError(`cannot create directory ${dir}: a file is in the way`);
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : (err as Error).message;
    throw new OperationError(`cannot create directory ${dir}: ${why}`);
  }
}

export async function syncDir(dir: string): Promise<void> {
  try {
    const dh = await fsp.open(dir, constants.O_RDONLY);
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Directories cannot be fsync'ed on every filesystem; the rename is still atomic.
  }
}

/**
 * Reads a file the user named (a spec, a secrets bundle, a manifest) as text; an InputError naming
 * it otherwise: `cannot read WHAT FILE: no such file` (plus `hint` for a missing file).
 */
export function readInputFile(file: string, what: string, hint = ''): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `no such file${hint}` : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new InputError(`cannot read ${what} ${file}: ${why}`);
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}
