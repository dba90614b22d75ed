/** The netboot stage's spec checks, in a module of their own so `hearth validate` loads no server code. */
import type { LoadedSpec, SpecIssue } from '../spec/index.js';

/** A file name inside assets: relative, no `..`, no empty or dot segments. */
function badAssetName(name: string): string | undefined {
  if (name.startsWith('/')) return 'must be a file name inside the assets directory, not an absolute path';
  if (name.includes('\\') || name.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    return 'must be a plain path inside the assets directory (no "..", "." or empty segments)';
  }
  if (/[\s]/.test(name)) return 'must not contain white space (it goes into an iPXE command line)';
  return undefined;
}

/** Checks of the spec that only this stage can make; each names its field. */
export function checkNetboot(loaded: LoadedSpec): SpecIssue[] {
  const nb = loaded.spec.netboot;
  const issues: SpecIssue[] = [];
  const fileIssue = (name: string, path: (string | number)[]) => {
    const m = badAssetName(name);
    if (m) issues.push({ path, message: m });
  };
  fileIssue(nb.kernel, ['netboot', 'kernel']);
  nb.initrd.forEach((f, i) => fileIssue(f, ['netboot', 'initrd', i]));
  const argIssue = (a: string, path: (string | number)[]) => {
    if (/\s/.test(a)) issues.push({ path, message: 'a kernel argument must not contain white space; give each one as its own list item' });
  };
  nb.kernelArgs.forEach((a, i) => argIssue(a, ['netboot', 'kernelArgs', i]));
  const names = new Map<string, number>();
  const macs = new Set(loaded.spec.machines.flatMap((m) => (m.mac ? [m.mac.toLowerCase()] : [])));
  nb.profiles.forEach((p, i) => {
    const at = (...rest: (string | number)[]) => ['netboot', 'profiles', i, ...rest];
    const first = names.get(p.name);
    if (first !== undefined) issues.push({ path: at('name'), message: `duplicate profile name "${p.name}" (also netboot.profiles[${first}])` });
    else names.set(p.name, i);
    if (p.kernel) fileIssue(p.kernel, at('kernel'));
    p.initrd?.forEach((f, j) => fileIssue(f, at('initrd', j)));
    p.kernelArgs?.forEach((a, j) => argIssue(a, at('kernelArgs', j)));
    p.extraKernelArgs.forEach((a, j) => argIssue(a, at('extraKernelArgs', j)));
    p.match.mac?.forEach((m, j) => {
      if (!macs.has(m.toLowerCase()) && loaded.spec.netboot.unknownMachines === 'ignore') {
        issues.push({ path: at('match', 'mac', j), message: `${m} is not in machines[] and unknownMachines is ignore, so it can never boot` });
      }
    });
  });
  return issues;
}
