import path from 'node:path';
import { writeFileAtomic } from './fs.js';

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
 * Writes rendered artifacts below outDir, each file atomically. Everything is rendered before
 * this is called, so a spec or render error leaves the disk untouched.
 */
export async function writeArtifacts(outDir: string, artifacts: Artifact[]): Promise<string[]> {
  const root = path.resolve(outDir);
  const written: string[] = [];
  for (const a of artifacts) {
    const target = path.resolve(root, a.path);
    if (target !== root && !target.startsWith(root + path.sep)) {
      throw new Error(`refusing to write outside ${outDir}: ${a.path}`);
    }
    await writeFileAtomic(target, a.content, { mode: a.mode ?? 0o644 });
    written.push(path.relative(process.cwd(), target) || target);
  }
  return written;
}
