/**
 * The netboot stage: one process that serves DHCP, TFTP and HTTP/iPXE from hearth.yaml and tracks
 * every machine's progress through its boot.
 *
 *   checkNetboot(loaded)   spec checks only this stage can make
 *   planNetboot(loaded)    DIR/netboot/: boot.ipxe, machines/<name>.ipxe, server.yaml (pure)
 *   startNetboot(options)  the composed server (DHCP + TFTP + HTTP + progress), see server.ts;
 *                          with a secrets bundle it serves Talos configs (http/talos-config.ts) and
 *                          boots installed machines from disk (installs.ts)
 *   fetchMachines(server)  a running server's machines and their boot progress (/api/machines)
 */
import { stringify } from 'yaml';
import type { Artifact } from '../common/artifacts.js';
import type { LoadedSpec } from '../spec/index.js';
import { renderBootScript, renderMachineScript, resolveBoot, resolveServerConfig, talosConfigQuery } from './render/index.js';

export { checkNetboot } from './check.js';
export { startNetboot, checkNetbootFiles, type NetbootServer, type NetbootServeOptions } from './server.js';
export { InstallMarks, markMachinesInstalled, type InstallMark } from './installs.js';
export { startTftp, type TftpServer, type TftpServerOptions } from './tftp/index.js';
export { startHttp, type HttpServer, type HttpServerOptions } from './http/index.js';
export { ProgressTracker, progressRows, type MachineProgress, type ProgressStep } from './progress/index.js';
export { fetchMachines } from './progress/client.js';
export type { BootEvent } from './events.js';
export * from './render/index.js';

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
  // The plan cannot know whether serve will have the secrets: talos.config= only when the spec says so.
  const withConfig = spec.netboot.talosConfig === true;
  for (const m of spec.machines) {
    const resolved = resolveBoot(spec, { mac: m.mac, uuid: m.uuid, hostname: m.hostname ?? m.name });
    const query = withConfig ? talosConfigQuery(m) : undefined;
    const plan = query ? { ...resolved, talosConfig: query } : resolved;
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
