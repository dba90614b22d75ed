/**
 * Preloaded into every test process by `npm test` (node --import): records each file-system read
 * (and existence check) of a path outside the repository, the temporary directory and the operating
 * system's own directories, and fails the process on exit if there was one. A test that depends on
 * data beside the checkout (a sibling directory) therefore fails here, not only in a fresh clone.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './cli.js';

/** Directories a test may read besides the repository: temporary files, devices, kernel and system packages. */
const SYSTEM = ['/dev', '/proc', '/sys', '/usr', '/etc', '/lib', '/lib32', '/lib64', '/bin', '/sbin', '/boot', '/run', '/var'];

function allowedRoots(): string[] {
  // Node's own installation, and the PATH directories that tests search for tools (which()).
  const tools = (process.env.PATH ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d));
  const roots = [ROOT, os.tmpdir(), path.dirname(path.dirname(process.execPath)), ...SYSTEM, ...tools];
  for (const r of [ROOT, os.tmpdir()]) {
    try {
      roots.push(fs.realpathSync(r));
    } catch {
      // a missing temporary directory simply adds nothing
    }
  }
  return roots;
}

function inside(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Absolute form of a path argument, or undefined for file descriptors and other non-paths. */
function asPath(arg: unknown): string | undefined {
  if (typeof arg === 'string') return path.resolve(arg);
  if (arg instanceof URL) return arg.protocol === 'file:' ? fileURLToPath(arg) : undefined;
  if (Buffer.isBuffer(arg)) return path.resolve(arg.toString());
  return undefined;
}

/** The paths outside the allowed roots that this process has read so far. */
export const outside = new Set<string>();

const READS = ['readFileSync', 'readdirSync', 'existsSync', 'statSync', 'lstatSync', 'openSync', 'accessSync', 'opendirSync', 'realpathSync',
  'createReadStream', 'readFile', 'readdir', 'stat', 'lstat', 'open', 'access', 'opendir', 'exists'] as const;
const PROMISE_READS = ['readFile', 'readdir', 'stat', 'lstat', 'open', 'access', 'opendir', 'realpath'] as const;

function wrap(target: Record<string, unknown>, names: readonly string[], roots: string[]): void {
  for (const name of names) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      const p = asPath(args[0]);
      if (p !== undefined && !roots.some((r) => inside(p, r))) outside.add(p);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(original));
    target[name] = wrapped;
  }
}

const roots = allowedRoots();
wrap(fs as unknown as Record<string, unknown>, READS, roots);
wrap(fs.promises as unknown as Record<string, unknown>, PROMISE_READS, roots);
syncBuiltinESMExports();

process.on('exit', () => {
  if (outside.size === 0) return;
  process.stderr.write(`this test read outside the repository (copy what it needs into test/fixtures): ${[...outside].join(', ')}\n`);
  process.exitCode = 1;
});
