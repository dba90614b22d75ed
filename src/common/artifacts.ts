import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { makeDir, syncDir } from './fs.js';

/** One file a renderer produces. Renderers return these and never touch the disk themselves. */
export interface Artifact {
  /** Path relative to the output directory, with forward slashes. */
  path: string;
  content: string | Uint8Array;
  /** File mode; 0o600 for anything secret. Default 0o644. */
  mode?: number;
  /** What the file is, for summaries. */
  description?: string;
}

/** Prefixes every artifact path with a directory (a stage name for `hearth plan`). */
export function under(dir: string, artifacts: Artifact[]): Artifact[] {
  return artifacts.map((a) => ({ ...a, path: `${dir}/${a.path}` }));
}

/**
 * Writes rendered artifacts below outDir, all or nothing: every file is first written and flushed
 * into a staging directory inside outDir, and only when all of them made it are they renamed into
 * place. A full disk or a permission error halfway leaves outDir as it was.
 */
export async function writeArtifacts(outDir: string, artifacts: Artifact[]): Promise<string[]> {
  const root = path.resolve(outDir);
  const targets = artifacts.map((a) => {
    const target = path.resolve(root, a.path);
    if (!target.startsWith(root + path.sep)) throw new Error(`refusing to write outside ${outDir}: ${a.path}`);
    return target;
  });
  await makeDir(root);
  const staging = await fsp.mkdtemp(path.join(root, '.hearth-staging-'));
  try {
    for (const [i, a] of artifacts.entries()) {
      const staged = path.join(staging, String(i));
      const mode = a.mode ?? 0o644;
      const fh = await fsp.open(staged, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, mode);
      try {
        await fh.writeFile(a.content);
        await fh.chmod(mode); // the umask may have narrowed the mode given to open()
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    // Commit: renames within one filesystem, the step least likely to fail.
    const dirs = new Set<string>();
    for (const [i, target] of targets.entries()) {
      await makeDir(path.dirname(target));
      await fsp.rename(path.join(staging, String(i)), target);
      dirs.add(path.dirname(target));
    }
    for (const d of dirs) await syncDir(d);
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
  }
  return targets.map((t) => path.relative(process.cwd(), t) || t);
}
