/**
 * `hearth up` as a library: from powered-on servers set to network boot to a Ready platform in one
 * run. Checks first (nothing bound, nothing written on bad input), then netboot in-process, every
 * machine followed until it answers the Talos API, `hearth bootstrap`'s engine (apply where
 * needed, etcd once, kubeconfig and talosconfig), booting stopped once every machine is installed
 * (the dashboard stays served until the run ends), then the platform to Ready. Everything is published on one RunEventBus; DIR/state.json lets a
 * rerun continue, and the engines underneath never apply, bootstrap or install twice.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { OperationError } from '../../common/errors.js';
import { makeDir } from '../../common/fs.js';
import { startNetboot, type NetbootServeOptions, type NetbootServer } from '../../netboot/server.js';
import type { KubeObject } from '../../platform/types.js';
import { normalizeMac } from '../../spec/net.js';
import { FilePinStore } from '../../talos/api/index.js';
import type { BootstrapEvent } from '../../talos/bootstrap/index.js';
import type { RunEventBus, RunStage } from '../events.js';
import type { Prepared } from '../prepare.js';
import { Follower } from './follow.js';
import { emptyState, loadState, StateFile } from './state.js';
import { checkBootAssets, ensureSecrets, waitForMachines } from './steps.js';
import { machineSummaries, RUN_STAGES, type UpSummary } from './summary.js';

export { summaryText, type UpSummary } from './summary.js';
export { STATE_FILE } from './state.js';

export interface UpOptions {
  prepared: Prepared;
  /** DIR: secrets.yaml, kubeconfig, talosconfig, state.json, netboot/ (leases, installs). */
  out: string;
  until: RunStage;
  /** Keep netboot serving after the run until `signal` aborts. */
  keepNetboot: boolean;
  /** Bound on the whole run. */
  timeoutMs: number;
  /** Talos API port (tests). */
  talosPort?: number;
  /** Netboot flags (interface, address, DHCP mode, ports). */
  netboot: Omit<NetbootServeOptions, 'stateDir'>;
  loadFlux: () => Promise<KubeObject[]>;
  bus: RunEventBus;
  signal: AbortSignal;
}

export async function runUp(o: UpOptions): Promise<UpSummary> {
  const { loaded } = o.prepared;
  const spec = loaded.spec;
  const t0 = Date.now();
  const deadline = t0 + o.timeoutMs;
  const bus = o.bus;
  const log = (message: string, level: 'info' | 'warn' = 'info') => bus.emit({ type: 'log', at: Date.now(), level, message });
  const stageEvent = (stage: RunStage, state: 'started' | 'done' | 'failed' | 'skipped', detail?: string) =>
    bus.emit({ type: 'stage', at: Date.now(), stage, state, ...(detail ? { detail } : {}) });

  const previous = await loadState(o.out);
  const file = new StateFile(o.out, previous ?? emptyState(spec.metadata.name, t0));
  const state = file.state;
  state.runs++;
  const follower = new Follower(spec, bus, file);
  const everyInstalled = () => spec.machines.every((m) => state.machines[m.name]?.installed);
  const wantNetboot = !everyInstalled() || o.keepNetboot;
  // 1. checks, before any port is bound or any file written
  const warnings = wantNetboot ? checkBootAssets(loaded, o.netboot) : [];
  const zeroTouch = spec.netboot.talosConfig !== false;

  const outExisted = existsSync(o.out);
  await makeDir(o.out);
  const secrets = zeroTouch ? await ensureSecrets(spec, o.out) : undefined;
  /** Netboot could not start: leave DIR as it was (nothing half-done). */
  const undo = async () => {
    if (!outExisted) await rm(o.out, { recursive: true, force: true });
    else if (secrets?.created) await rm(secrets.file, { force: true });
  };
  const done = new Set<RunStage>();
  let changed = previous === undefined;
  const finishStage = async (stage: RunStage, startedAt: number) => {
    state.stages[stage] = { state: 'done', at: Date.now(), elapsedMs: Date.now() - startedAt };
    done.add(stage);
    stageEvent(stage, 'done');
    await file.save();
  };
  const interrupted = (stage: RunStage) => new OperationError(`interrupted during ${stage}; rerun \`hearth up\` to continue where it stopped`);

  // 2. netboot in-process
  let server: NetbootServer | undefined;
  let booting = false;
  /** No more boots (DHCP, TFTP, scripts, assets, configs); the dashboard stays until the run ends. */
  const stopBooting = async (why: string) => {
    if (!server || !booting) return;
    booting = false;
    await server.stopBooting();
    log(`netboot stopped: ${why}; the dashboard stays at ${server.config.httpBase}/ until the run ends`);
  };
  const closeNetboot = async (why: string) => {
    const s = server;
    if (!s) return;
    server = undefined;
    await s.close();
    if (booting) log(`netboot stopped: ${why}`);
    booting = false;
  };
  if (wantNetboot) {
    const netbootOpts = { ...o.netboot, stateDir: path.join(o.out, 'netboot'), bus, ...(zeroTouch && secrets ? { talosConfig: true, secretsFile: secrets.file } : { talosConfig: false }) };
    try {
      server = await startNetboot(loaded, netbootOpts as NetbootServeOptions);
      booting = true;
    } catch (err) {
      await undo().catch(() => undefined);
      throw err;
    }
    for (const w of [...warnings, ...server.warnings.filter((w) => !warnings.includes(w))]) log(w, 'warn');
    server.progress.onChange((m, e) => follower.netboot(m, e));
    const c = server.config;
    log(`netboot serving on ${c.interface ?? c.serverIp}: DHCP ${c.dhcp.mode}, TFTP ${c.serverIp}:${c.tftpPort}, HTTP ${c.httpBase}${server.talosConfig ? ', machine configs served (zero-touch)' : ', machines boot into maintenance mode'}; dashboard at ${c.httpBase}/`);
  } else {
    log('netboot not started: every machine is installed (state.json)');
  }
  if (secrets?.created) log(`wrote ${secrets.file} (0600): the cluster's secrets`);
  await file.save();
  // the bootstrap engine (gRPC) and the platform stage (the Kubernetes client) load while machines boot
  const engine = import('../../talos/bootstrap/index.js');
  const platform = import('./platform.js');
  engine.catch(() => undefined);
  platform.catch(() => undefined);
  // one pin store for the wait and the engine (maintenance-mode keys, trust on first use)
  const pins = new FilePinStore(o.out);
  const installs = server?.installs;
  const INSTALLED = 'every machine is installed and boots from its disk';
  const stopWhenInstalled = () => (everyInstalled() && !o.keepNetboot ? stopBooting(INSTALLED) : Promise.resolve());
  const markInstalled = async (name: string) => {
    const m = state.machines[name];
    if (!m || m.installed) return;
    m.installed = true;
    changed = true;
    const mac = spec.machines.find((x) => x.name === name)?.mac;
    if (installs && mac) await installs.markInstalled(normalizeMac(mac));
    await Promise.all([file.save(), stopWhenInstalled()]);
  };

  try {
    // 3. every machine up to the Talos API
    const netbootStart = Date.now();
    stageEvent('netboot', 'started');
    const present = await waitForMachines({
      spec,
      follower,
      progress: server ? () => server!.progress.list() : undefined,
      port: o.talosPort,
      pins,
      deadline,
      signal: o.signal,
    }).catch((err: unknown) => {
      if (o.signal.aborted) throw interrupted('netboot');
      throw err;
    });
    await finishStage('netboot', netbootStart);

    // 4. configs, etcd once, health, kubeconfig + talosconfig
    if (o.until !== 'netboot') {
      const started = Date.now();
      stageEvent('bootstrap', 'started');
      const { bootstrapCluster } = await engine;
      const summary = await bootstrapCluster({
        loaded,
        talos: o.prepared.talos,
        out: o.out,
        targets: present.filter((p) => p.mode === 'maintenance').map((p) => p.address),
        port: o.talosPort,
        pins,
        timeoutMs: Math.max(1, deadline - Date.now()),
        // every machine answered already: a slow reply (a busy host) is not a missing node
        probeTimeoutMs: 10_000,
        signal: o.signal,
        // never a rejection left unhandled: a failure to record an install is a warning, the run goes on
        onEvent: (e) => void onBootstrapEvent(e).catch((err: unknown) => log(`${(err as Error).message}`, 'warn')),
      }).catch((err: unknown) => {
        if (o.signal.aborted) throw interrupted('bootstrap');
        throw err;
      });
      for (const m of summary.machines) await markInstalled(m.name);
      await stopWhenInstalled();
      if (summary.changed) changed = true;
      await finishStage('bootstrap', started);
    }

    // 5. the platform, to Ready
    if (o.until === 'platform') {
      const started = Date.now();
      stageEvent('platform', 'started');
      const { platformStep } = await platform;
      const r = await platformStep({
        resolution: o.prepared.platform,
        kubeconfig: path.join(o.out, 'kubeconfig'),
        loadFlux: o.loadFlux,
        installedDigest: state.platformDigest,
        deadline,
        signal: o.signal,
        bus,
      }).catch((err: unknown) => {
        if (o.signal.aborted) throw interrupted('platform');
        throw err;
      });
      if (r.installed) changed = true;
      state.platformDigest = r.digest;
      await finishStage('platform', started);
    }
    for (const s of RUN_STAGES) if (!done.has(s)) stageEvent(s, 'skipped');

    // 6. netboot stays only when asked to
    if (server && o.keepNetboot && !o.signal.aborted) {
      log('netboot keeps serving (--keep-netboot); stop it with Ctrl-C');
      await new Promise<void>((resolve) => o.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  } catch (err) {
    const stage = RUN_STAGES.find((s) => !done.has(s));
    if (stage) stageEvent(stage, 'failed', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    const why = o.keepNetboot ? 'the run ended' : everyInstalled() ? INSTALLED : 'the run ended before every machine was installed';
    await closeNetboot(why).catch(() => undefined);
    await file.save();
    await file.flush();
  }

  const stages = RUN_STAGES.map((stage) => {
    const s = state.stages[stage];
    const asked = RUN_STAGES.indexOf(stage) <= RUN_STAGES.indexOf(o.until);
    return asked && s ? { stage, state: 'done' as const, elapsedMs: s.elapsedMs, thisRun: done.has(stage) } : { stage, state: 'skipped' as const, thisRun: false };
  });
  const files = ['state.json', ...(done.has('bootstrap') ? ['secrets.yaml', 'kubeconfig', 'talosconfig'] : [])].map((f) => path.join(o.out, f));
  return {
    cluster: spec.metadata.name,
    endpoint: spec.cluster.endpoint,
    until: o.until,
    changed,
    elapsedMs: Date.now() - t0,
    stages,
    machines: machineSummaries(spec, state),
    files,
  };

  async function onBootstrapEvent(e: BootstrapEvent): Promise<void> {
    switch (e.event) {
      case 'apply':
        if (!e.dryRun) {
          changed = true;
          // its maintenance key is gone for good: a configured node may answer at the same address
          // (a DHCP reservation), and a rerun must not take its new key for a changed pin
          await pins.forget(e.address);
          follower.talos(e.machine, 'applied', e.address);
        }
        return;
      case 'stage':
        follower.talos(e.machine, e.stage, e.address);
        if (e.stage === 'running') await markInstalled(e.machine);
        return;
      case 'unchanged':
        return log(`${e.machine}: running config is up to date at ${e.address}`);
      case 'discovered':
        return log(`bootstrap: ${e.found} Talos nodes answered, ${e.matched} matched`);
      case 'waiting':
        return log(`waiting for ${e.machines.join(', ')} to answer at their own address`);
      case 'etcd':
        if (e.result === 'bootstrapped') {
          changed = true;
          // a new cluster: whatever an earlier run installed is not in it
          state.platformDigest = undefined;
          delete state.stages.platform;
        }
        return log(e.result === 'bootstrapped' ? `etcd bootstrapped on ${e.machine}` : `etcd was bootstrapped before (${e.machine})`);
      case 'healthy':
        return log(`healthy: ${e.check}`);
      case 'file':
        if (e.changed) changed = true;
        return log(e.changed ? `wrote ${e.file} (0600)` : `kept ${e.file}`);
    }
  }
}
