/**
 * TalosNodeDouble: a test double of one Talos node, serving the upstream Talos API definitions of
 * the version it plays (v1.6 or v1.13) over gRPC/TLS. Stages move only when the test says so
 * (`step()`), or after `stageDelayMs` when given, so tests never sleep:
 *
 *   maintenance --ApplyConfiguration--> installing --step--> rebooting (not answering)
 *     --step--> booting (at the configured address, mutual TLS) --step--> running
 *
 * Reboot / Upgrade / Reset / Shutdown RPCs enter their stages the same way.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { loadTalosServices, type ApiEra } from '../../../src/talos/api/protos.js';
import { configuredAddress, type AppliedConfig } from './config.js';
import { refreshResources, type DoubleHardware } from './hardware.js';
import { configuredIdentity, maintenanceIdentity, serverCredentials } from './identity.js';
import { TalosDoubleNetwork } from './network.js';
import { ResourceStore } from './resources.js';
import { buildServices } from './services.js';

/** How long a worker double waits for a control plane's trustd to sign its API certificate. */
const TRUSTD_WAIT_MS = 60_000;

export type DoubleStage = 'maintenance' | 'installing' | 'rebooting' | 'booting' | 'running' | 'upgrading' | 'resetting' | 'shutting down' | 'off';

export interface TalosNodeDoubleOptions {
  /** The Talos version played, e.g. "v1.6.4" or "v1.13.9". */
  version: string;
  /** The address it answers at in maintenance mode (a DHCP lease). */
  address: string;
  port?: number;
  hardware: DoubleHardware;
  network?: TalosDoubleNetwork;
  /** Advance transitional stages on their own after this many ms (default: only `step()`). */
  stageDelayMs?: number;
}

export interface LoggedEvent {
  id: string;
  data: Record<string, unknown>;
}

export class TalosNodeDouble extends EventEmitter {
  readonly era: ApiEra;
  readonly minor: number;
  readonly port: number;
  readonly hardware: DoubleHardware;
  readonly network: TalosDoubleNetwork;
  readonly store = new ResourceStore();
  readonly events: LoggedEvent[] = [];
  /** Every RPC that reached the node, as "Service/Method". */
  readonly calls: string[] = [];
  version: string;
  stage: DoubleStage = 'off';
  address: string;
  answering = false;
  config?: AppliedConfig;
  /** Configs applied for real (dry runs excluded). */
  applyCount = 0;
  /** Set by LifecycleService/Upgrade; the next boot runs it. */
  pendingVersion?: string;
  private server?: grpc.Server;
  /** Aborted when the server now answering goes down: its calls end as a reboot ends them. */
  private life?: AbortController;
  private transition: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private eventSeq = 0;

  constructor(private readonly opts: TalosNodeDoubleOptions) {
    super();
    this.version = opts.version;
    const m = /^v1\.(\d+)\./.exec(opts.version);
    if (!m) throw new Error(`unsupported Talos version ${opts.version}`);
    this.minor = Number(m[1]);
    this.era = this.minor >= 13 ? 'v1.13' : 'v1.6';
    this.address = opts.address;
    this.port = opts.port ?? 50000;
    this.hardware = opts.hardware;
    this.network = opts.network ?? new TalosDoubleNetwork();
    this.network.register(this);
  }

  get hostname(): string {
    return this.config?.hostname ?? `talos-${this.hardware.uuid.slice(0, 3)}-${this.hardware.uuid.slice(4, 7)}`;
  }

  get controlPlane(): boolean {
    return this.config?.machineType === 'controlplane' || this.config?.machineType === 'init';
  }

  get etcdMember(): boolean {
    return !!this.config && !!this.network?.members(this.config.clusterId).includes(this);
  }

  get ready(): boolean {
    return this.stage === 'running' && (!this.controlPlane || this.etcdMember);
  }

  /**
   * Aborted once the server answering now goes down (already aborted while none answers). A call
   * that reaches a server after this (over a TLS handshake that was under way as it went down)
   * is refused, and its streams are cut: a rebooted machine keeps no connection.
   */
  get serving(): AbortSignal {
    return this.life?.signal ?? AbortSignal.abort();
  }

  /** Boots into maintenance mode at the initial address. */
  async start(): Promise<void> {
    await this.bootUp();
  }

  /** Waits for transitions an RPC started (e.g. the switch to mutual TLS after an apply). */
  settled(): Promise<void> {
    return this.transition;
  }

  /** Moves a transitional stage one step on; returns the new stage. */
  async step(): Promise<DoubleStage> {
    await this.transition;
    switch (this.stage) {
      case 'installing':
      case 'upgrading':
      case 'resetting':
        this.setStage('rebooting');
        await this.down();
        break;
      case 'rebooting':
        await this.bootUp();
        break;
      case 'booting':
        this.setStage('running');
        break;
      default:
        throw new Error(`the double at ${this.address} has nothing to step from stage ${this.stage}`);
    }
    this.autoAdvance();
    return this.stage;
  }

  /** Steps until `stage` is reached (at most 10 steps). */
  async stepUntil(stage: DoubleStage): Promise<void> {
    for (let i = 0; i < 10 && this.stage !== stage; i++) await this.step();
    if (this.stage !== stage) throw new Error(`the double did not reach ${stage}`);
  }

  /** Powers on a node that was shut down. */
  async powerOn(): Promise<void> {
    if (this.stage !== 'off') throw new Error('the double is not off');
    await this.bootUp();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.transition;
    await this.down();
    this.stage = 'off';
    this.network?.unregister(this);
  }

  /** Runs `fn` after the current RPC's reply has gone out. */
  later(fn: () => Promise<void> | void): void {
    this.transition = this.transition
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(fn)
      .then(() => this.autoAdvance())
      .catch((err: unknown) => {
        this.emit('error', err);
      });
  }

  setStage(stage: DoubleStage): void {
    this.stage = stage;
    if (stage === 'running' && this.controlPlane && this.config && this.network?.bootstrapped(this.config.clusterId)) {
      this.network.join(this.config.clusterId, this);
    }
    this.refresh();
    this.emitMachineStatus();
    this.emit('stage', stage);
    this.network.notify();
  }

  /** Called by the network when a cluster's etcd changes. */
  clusterChanged(clusterId: string): void {
    if (this.config?.clusterId !== clusterId) return;
    if (this.stage === 'running' && this.controlPlane) this.network?.join(clusterId, this);
    this.refresh();
    this.emitMachineStatus();
  }

  refresh(): void {
    const unmet = this.stage === 'running' && !this.ready ? [{ name: 'etcd', reason: 'waiting for etcd bootstrap' }] : [];
    const upper = this.stage === 'maintenance' || this.stage === 'off' ? this.stage : this.stage.replace(' ', '');
    refreshResources(this.store, this.hardware, {
      stage: upper === 'shuttingdown' ? 'shuttingDown' : upper,
      ready: this.ready,
      unmet,
      address: this.address,
      hostname: this.hostname,
      config: this.config,
      blockResources: this.minor >= 8,
    });
  }

  logEvent(data: Record<string, unknown>): void {
    const e = { id: `${Date.now().toString(36)}-${++this.eventSeq}`, data };
    this.events.push(e);
    if (this.events.length > 1000) this.events.shift();
    this.emit('talos-event', e);
  }

  private emitMachineStatus(): void {
    const stage = this.stage === 'off' ? 'UNKNOWN' : this.stage.replace(' ', '_').toUpperCase();
    this.logEvent({
      '@type': 'talos/runtime/machine.MachineStatusEvent',
      stage,
      status: { ready: this.ready, unmet_conditions: this.ready || this.stage !== 'running' ? [] : [{ name: 'etcd', reason: 'waiting for etcd bootstrap' }] },
    });
  }

  private autoAdvance(): void {
    if (this.opts.stageDelayMs === undefined || this.timer) return;
    if (!['installing', 'upgrading', 'resetting', 'rebooting', 'booting'].includes(this.stage)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.step().catch((err) => this.emit('error', err));
    }, this.opts.stageDelayMs);
    this.timer.unref();
  }

  private async bootUp(): Promise<void> {
    if (this.pendingVersion) {
      this.version = this.pendingVersion;
      this.pendingVersion = undefined;
    }
    if (!this.config) {
      this.address = this.opts.address;
      await this.serve(serverCredentials(await maintenanceIdentity([this.address])));
      this.setStage('maintenance');
      return;
    }
    this.address = configuredAddress(this.config) ?? this.address;
    await this.serveConfigured();
    this.setStage('booting');
  }

  /** Serves the configured personality (mutual TLS, os CA) at the current address. */
  async serveConfigured(): Promise<void> {
    const config = this.config!;
    const ips = [this.address, ...config.addresses.map((a) => a.cidr.split('/')[0]!)];
    const own = config.machineCa.key ? { crt: config.machineCa.crt, key: config.machineCa.key } : undefined;
    const issuer = own ?? (await this.network.waitTrustd(config.machineCa.crt, TRUSTD_WAIT_MS));
    if (!issuer) throw new Error(`worker double at ${this.address}: no trustd (control plane) to sign its API certificate`);
    await this.serve(serverCredentials(await configuredIdentity(config, issuer, [...new Set(ips)]), config.machineCa.crt));
  }

  private async serve(creds: grpc.ServerCredentials): Promise<void> {
    await this.down();
    const server = new grpc.Server();
    const svc = loadTalosServices(this.era);
    const life = new AbortController();
    setMaxListeners(0, life.signal); // one listener per open stream, as many as clients hold
    const impl = buildServices(this, life.signal);
    server.addService(svc.machine.service, impl.machine);
    server.addService(svc.storage.service, impl.storage);
    server.addService(svc.cosiState.service, impl.state);
    if (svc.lifecycle) server.addService(svc.lifecycle.service, impl.lifecycle);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`${this.address}:${this.port}`, creds, (err) => (err ? reject(err) : resolve())),
    );
    this.server = server;
    this.life = life;
    this.answering = true;
    this.network.notify();
  }

  /** Stops answering: in-flight unary replies get a moment, streams are cut as by a reboot. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.life?.abort();
    this.life = undefined;
    this.answering = false;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 200);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
