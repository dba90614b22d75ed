/**
 * Where hearth's own files are (examples/, src/talos/schemas, the Talos .proto files, the native
 * addon, package.json): the nearest folder above this module whose package.json is hearth's. The
 * same answer whether hearth runs from src/ (tsx), dist/src/ (tsc) or the bundled dist/cli/.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OperationError } from './errors.js';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'hearth') return (cached = dir);
      } catch {
        // not a readable package.json: keep looking upwards
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new OperationError(`this hearth installation is incomplete: its package.json is not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** A path inside hearth's package, e.g. packagePath('examples', 'hearth.yaml'). */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}
