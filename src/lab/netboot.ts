/**
 * hearth's netboot inside the lab: the spec's netboot section, served on the lab bridge. `hearth
 * lab up` runs this in a child process inside the namespace (`hearth lab _netboot`), which writes
 * the machines' boot timelines to progress.json for `hearth lab status`.
 */
import path from 'node:path';
import { OperationError } from '../common/errors.js';
import { startNetboot } from '../netboot/server.js';
import type { MachineProgress } from '../netboot/progress/index.js';
import { prepare } from '../pipeline/prepare.js';
import type { Spec } from '../spec/index.js';
import { HTTP_SOCKET, startRelay, type Relay } from './forward.js';
import type { LabPlan } from './plan.js';
import { PROGRESS_FILE, readState, writeAtomic } from './state.js';

/**
 * The spec as the lab serves it: on the lab bridge at the plan's address, with --assets when given,
 * and DHCP in full mode (the lab has no site DHCP server for proxy mode to lean on).
 */
export function labNetbootSpec(spec: Spec, plan: LabPlan, assets?: string): Spec {
  const nb = spec.netboot;
  return {
    ...spec,
    netboot: { ...nb, interface: plan.bridge, address: plan.address.split('/')[0]!, assets: assets ?? nb.assets, dhcp: { ...nb.dhcp, mode: 'full' } },
  };
}

/** The line `hearth lab up` waits for in the log. */
export const SERVING = 'hearth lab netboot: serving';

/** Serves until SIGTERM/SIGINT; `log` gets one line per change of a machine's state. */
export async function serveLab(dir: string, log: (line: string) => void): Promise<void> {
  const state = readState(dir);
  if (!state) throw new OperationError(`no lab state in ${dir}`);
  const loaded = prepare(state.spec).loaded;
  const srv = await startNetboot({ ...loaded, spec: labNetbootSpec(loaded.spec, state.plan, state.assets) }, { stateDir: path.join(dir, 'netboot') });
  for (const w of srv.warnings) log(`warning: ${w}`);
  const progressFile = path.join(dir, PROGRESS_FILE);
  const write = () => writeAtomic(progressFile, JSON.stringify(srv.progress.list()) + '\n', 0o644);
  write();
  // Coalesced: at most one rewrite every 250 ms, and always one after the last change.
  let timer: NodeJS.Timeout | undefined;
  const last = new Map<string, string>();
  srv.progress.onChange((m: MachineProgress) => {
    if (last.get(m.mac) !== m.state) {
      last.set(m.mac, m.state);
      log(`${new Date().toISOString().slice(11, 19)} ${m.mac} ${m.name ?? '(unknown)'} ${m.ip ?? ''} ${m.state}`);
    }
    timer ??= setTimeout(() => {
      timer = undefined;
      write();
    }, 250);
  });
  // The host reaches the HTTP server through this socket (see ./forward.ts).
  const relay: Relay | undefined = await startRelay({ path: path.join(dir, HTTP_SOCKET) }, { host: srv.config.serverIp, port: srv.http.port }).catch((e: Error) => {
    log(`warning: no ${HTTP_SOCKET} for \`up --http\`: ${e.message}`);
    return undefined;
  });
  log(`${SERVING} on ${state.plan.bridge} (${srv.config.serverIp}), HTTP ${srv.config.httpBase}, TFTP :${srv.tftp.port}, DHCP ${srv.config.dhcp.mode}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  if (timer) clearTimeout(timer);
  write();
  await relay?.close();
  await srv.close();
  log('hearth lab netboot: stopped');
}
