/**
 * The netboot stage: one process that serves DHCP, TFTP and HTTP/iPXE from hearth.yaml and tracks
 * every machine's progress through its boot.
 *
 *   checkNetboot(loaded)   spec checks only this stage can make
 *   planNetboot(loaded)    DIR/netboot/: boot.ipxe, machines/<name>.ipxe, server.yaml (pure)
 *   startNetboot(options)  the composed server (DHCP + TFTP + HTTP + progress), see server.ts
 *   fetchMachines(server)  a running server's machines and their boot progress (/api/machines)
 */
import { stringify } from 'yaml';
import type { Artifact } from '../common/artifacts.js';
import type { LoadedSpec, SpecIssue } from '../spec/index.js';
import { renderBootScript, renderMachineScript, resolveBoot, resolveServerConfig } from './render/index.js';

export { startNetboot, checkNetbootFiles, type NetbootServer, type NetbootServeOptions } from './server.js';
export { startTftp, type TftpServer, type TftpServerOptions } from './tftp/index.js';
export { startHttp, type HttpServer, type HttpServerOptions } from './http/index.js';
export { ProgressTracker, progressRows, type MachineProgress, type ProgressStep } from './progress/index.js';
export { fetchMachines } from './progress/client.js';
export type { BootEvent } from './events.js';
export * from './render/index.js';

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

/** The base URL written into planned scripts: the fixed address, else iPXE's own next-server setting. */
function planBase(loaded: LoadedSpec): string {
  const nb = loaded.spec.netboot;
  return `http://${nb.address ?? '${next-server}'}:${nb.httpPort}`;
}

/** What `hearth plan` writes into DIR/netboot/: pure, needs neither the assets nor the network. */
export async function planNetboot(loaded: LoadedSpec): Promise<Artifact[]> {
  const spec = loaded.spec;
  const base = planBase(loaded);
  const artifacts: Artifact[] = [
    { path: 'boot.ipxe', content: renderBootScript(base), description: 'first iPXE script; chains to the machine script' },
  ];
  for (const m of spec.machines) {
    const plan = resolveBoot(spec, { mac: m.mac, uuid: m.uuid, hostname: m.hostname ?? m.name });
    artifacts.push({ path: `machines/${m.name}.ipxe`, content: renderMachineScript(plan, base), description: `iPXE script of ${m.name}` });
  }
  const defaultPlan = resolveBoot(spec, {});
  artifacts.push({ path: 'machines/_unknown.ipxe', content: renderMachineScript(defaultPlan, base), description: 'iPXE script of machines not in machines[]' });
  const config = resolveServerConfig(spec, '.', {});
  // Keep paths as written in the spec (relative to hearth.yaml) so the plan does not depend on where it ran.
  config.assets = spec.netboot.assets;
  config.ipxe = spec.netboot.ipxe;
  artifacts.push({
    path: 'server.yaml',
    content: `# hearth netboot serve: resolved server configuration (paths relative to ${loaded.file})\n${stringify(config, { lineWidth: 0 })}`,
    description: 'resolved netboot server configuration',
  });
  return artifacts;
}
