/**
 * The Talos API client (gRPC over TLS, port 50000), speaking the shipped v1.13 definitions, which
 * are a wire-compatible superset of every call hearth makes to v1.6 nodes. Per-version behaviour
 * (upgrade API, where disks come from) is chosen from `talosVersion` when given, else probed.
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { parseResource, parseEvent, RESOURCES, type CosiEvent, type CosiResource, type WireEvent } from './cosi.js';
import { checkMessage, unwrapAll, unwrapOne, type Enveloped } from './envelope.js';
import { TalosApiError, TalosNotFoundError, TalosUnavailableError, TalosUnimplementedError, toTalosError } from './errors.js';
import { loadTalosServices } from './protos.js';
import { TarError, untarSingleFile } from './tar.js';
import { TalosChannelCredentials } from './transport.js';
import {
  TALOS_API_PORT,
  type ApplyMode,
  type ApplyResult,
  type EtcdMember,
  type ResetOptions,
  type ServiceStatus,
  type StreamOptions,
  type TalosApi,
  type TalosClientOptions,
  type TalosDisk,
  type TalosEvent,
  type TalosVersion,
  type UpgradeOptions,
  type UpgradeResult,
} from './types.js';

type Reply = { messages?: any[] };
type Stub = grpc.Client & Record<string, (...args: any[]) => any>;

const DEFAULT_TIMEOUT_MS = 10_000;

/** Whether a failed call still got an answer from the node (a gRPC status it sent, not a transport failure). */
function answered(err: unknown): boolean {
  const code = (err as grpc.ServiceError | null)?.code;
  return typeof code === 'number' && code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED && code !== grpc.status.CANCELLED;
}

/** Minor version of a "v1.6.4"-style tag, or undefined. */
function minorOf(version: string | undefined): number | undefined {
  const m = /^v?1\.(\d+)/.exec(version ?? '');
  return m ? Number(m[1]) : undefined;
}

export class TalosClient implements TalosApi {
  readonly node: string;
  private readonly machine: Stub;
  private readonly lifecycle: Stub;
  private readonly storage: Stub;
  private readonly state: Stub;
  private readonly timeoutMs: number;
  private refusal: Error | undefined;
  private readonly creds: TalosChannelCredentials;

  constructor(private readonly opts: TalosClientOptions) {
    this.node = opts.node ?? opts.endpoint;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const host = opts.endpoint;
    const target = `${net.isIPv6(host) ? `[${host}]` : host}:${opts.port ?? TALOS_API_PORT}`;
    const creds = new TalosChannelCredentials(host, opts.tls, (err) => (this.refusal = err), this.timeoutMs);
    this.creds = creds;
    const channelOptions: grpc.ChannelOptions = { 'grpc.enable_retries': 0, 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2000 };
    const svc = loadTalosServices('v1.13');
    this.machine = new svc.machine(target, creds, channelOptions) as Stub;
    // the other stubs share the first one's channel
    const shared = { ...channelOptions, channelOverride: this.machine.getChannel() };
    this.lifecycle = new svc.lifecycle!(target, creds, shared) as Stub;
    this.storage = new svc.storage(target, creds, shared) as Stub;
    this.state = new svc.cosiState(target, creds, shared) as Stub;
  }

  close(): void {
    this.machine.close();
  }

  waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.machine.waitForReady(Date.now() + timeoutMs, (err) => {
        if (!err) return resolve();
        reject(this.refusal ?? new TalosUnavailableError(this.node, 'UNAVAILABLE', `not answering after ${timeoutMs} ms`));
      });
    });
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.opts.node) md.set('node', this.opts.node);
    return md;
  }

  private fail(err: unknown): Error {
    const refused = this.refusal;
    if (refused && (err as grpc.ServiceError)?.code === grpc.status.UNAVAILABLE) return refused;
    return toTalosError(this.node, err);
  }

  private unary<T>(stub: Stub, method: string, request: object, timeoutMs = this.timeoutMs): Promise<T> {
    return new Promise((resolve, reject) => {
      stub[method]!(request, this.metadata(), { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, reply: T) => {
        if (err && !answered(err)) return reject(this.fail(err));
        this.refusal = undefined;
        this.creds.confirm().then(() => (err ? reject(this.fail(err)) : resolve(reply)), reject);
      });
    });
  }

  /** A server stream as an async iterable; typed errors, cancelled when the consumer stops early. */
  private async *stream<T>(stub: Stub, method: string, request: object, opts: { signal?: AbortSignal; deadlineMs?: number } = {}): AsyncGenerator<T> {
    const callOpts: grpc.CallOptions = opts.deadlineMs ? { deadline: Date.now() + opts.deadlineMs } : {};
    const call = stub[method]!(request, this.metadata(), callOpts) as grpc.ClientReadableStream<T>;
    const onAbort = (): void => call.cancel();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let first = true;
      for await (const msg of call) {
        this.refusal = undefined;
        if (first) await this.creds.confirm();
        first = false;
        yield msg as T;
      }
    } catch (err) {
      if ((err as grpc.ServiceError)?.code === grpc.status.CANCELLED && opts.signal?.aborted) return;
      if (answered(err)) await this.creds.confirm();
      throw this.fail(err);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  async version(): Promise<TalosVersion> {
    const m = unwrapOne(this.node, await this.unary<Reply>(this.machine, 'Version', {}));
    const v = m.version ?? {};
    return {
      tag: v.tag ?? '',
      sha: v.sha ?? '',
      built: v.built ?? '',
      goVersion: v.go_version ?? '',
      os: v.os ?? '',
      arch: v.arch ?? '',
      ...(m.platform ? { platform: { name: m.platform.name ?? '', mode: m.platform.mode ?? '' } } : {}),
    };
  }

  async applyConfiguration(config: string | Uint8Array, opts: { mode?: ApplyMode; dryRun?: boolean; tryTimeoutMs?: number } = {}): Promise<ApplyResult> {
    const req: Record<string, unknown> = { data: Buffer.from(config), mode: opts.mode ?? 'AUTO', dry_run: opts.dryRun ?? false };
    if (opts.tryTimeoutMs !== undefined) {
      req.try_mode_timeout = { seconds: String(Math.floor(opts.tryTimeoutMs / 1000)), nanos: (opts.tryTimeoutMs % 1000) * 1e6 };
    }
    const m = unwrapOne(this.node, await this.unary<Reply>(this.machine, 'ApplyConfiguration', req));
    return { mode: m.mode, modeDetails: m.mode_details ?? '', warnings: m.warnings ?? [] };
  }

  async bootstrap(opts: { recoverEtcd?: boolean } = {}): Promise<void> {
    unwrapOne(this.node, await this.unary<Reply>(this.machine, 'Bootstrap', { recover_etcd: opts.recoverEtcd ?? false }));
  }

  async kubeconfig(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const d of this.stream<Enveloped & { bytes?: Buffer }>(this.machine, 'Kubeconfig', {}, { deadlineMs: this.timeoutMs })) {
      checkMessage(this.node, d);
      if (d.bytes) chunks.push(d.bytes);
    }
    try {
      return untarSingleFile(Buffer.concat(chunks)).data.toString('utf8');
    } catch (err) {
      if (err instanceof TarError) throw new TalosApiError(this.node, 'BAD_REPLY', `kubeconfig archive: ${err.message}`);
      throw err;
    }
  }

  async reboot(opts: { powercycle?: boolean } = {}): Promise<void> {
    unwrapOne(this.node, await this.unary<Reply>(this.machine, 'Reboot', { mode: opts.powercycle ? 'POWERCYCLE' : 'DEFAULT' }));
  }

  async shutdown(opts: { force?: boolean } = {}): Promise<void> {
    unwrapOne(this.node, await this.unary<Reply>(this.machine, 'Shutdown', { force: opts.force ?? false }));
  }

  async reset(opts: ResetOptions = {}): Promise<void> {
    const req = {
      graceful: opts.graceful ?? true,
      reboot: opts.reboot ?? false,
      mode: opts.mode ?? 'ALL',
      system_partitions_to_wipe: opts.systemPartitionsToWipe ?? [],
    };
    unwrapOne(this.node, await this.unary<Reply>(this.machine, 'Reset', req));
  }

  async upgrade(opts: UpgradeOptions): Promise<UpgradeResult> {
    const minor = minorOf(this.opts.talosVersion);
    if (minor === undefined || minor >= 13) {
      try {
        return await this.lifecycleUpgrade(opts);
      } catch (err) {
        if (!(err instanceof TalosUnimplementedError) || minor !== undefined) throw err;
      }
    }
    const req = { image: opts.image, preserve: opts.preserve ?? false, stage: opts.stage ?? false, force: opts.force ?? false };
    const m = unwrapOne(this.node, await this.unary<Reply>(this.machine, 'Upgrade', req));
    return { via: 'machine', messages: [m.ack ?? ''] };
  }

  private async lifecycleUpgrade(opts: UpgradeOptions): Promise<UpgradeResult> {
    const messages: string[] = [];
    const req = { containerd: { driver: 'CRI', namespace: 'NS_SYSTEM' }, source: { image_name: opts.image } };
    for await (const r of this.stream<any>(this.lifecycle, 'Upgrade', req, { deadlineMs: 30 * 60_000 })) {
      const p = r.progress ?? {};
      if (p.response === 'exit_code') {
        if (p.exit_code !== 0) throw new TalosApiError(this.node, 'UPGRADE_FAILED', `upgrade installer exited with code ${p.exit_code}: ${messages.at(-1) ?? ''}`);
      } else if (typeof p.message === 'string') {
        messages.push(p.message);
      }
    }
    return { via: 'lifecycle', messages };
  }

  async serviceList(): Promise<ServiceStatus[]> {
    const m = unwrapOne(this.node, await this.unary<Reply>(this.machine, 'ServiceList', {}));
    return (m.services ?? []).map((s: any) => ({
      id: s.id,
      state: s.state,
      healthy: Boolean(s.health?.healthy),
      healthUnknown: Boolean(s.health?.unknown ?? true),
      lastMessage: s.health?.last_message ?? '',
    }));
  }

  async etcdMemberList(): Promise<EtcdMember[]> {
    const m = unwrapOne(this.node, await this.unary<Reply>(this.machine, 'EtcdMemberList', { query_local: false }));
    return (m.members ?? []).map((e: any) => ({
      id: String(e.id),
      hostname: e.hostname ?? '',
      peerUrls: e.peer_urls ?? [],
      clientUrls: e.client_urls ?? [],
      isLearner: Boolean(e.is_learner),
    }));
  }

  async *events(opts: StreamOptions = {}): AsyncGenerator<TalosEvent> {
    for await (const e of this.stream<any>(this.machine, 'Events', { tail_events: opts.tailEvents ?? 0 }, opts)) {
      checkMessage(this.node, e);
      const { ['@type']: url, ...data } = (e.data ?? {}) as Record<string, unknown>;
      const type = typeof url === 'string' ? url.slice(url.lastIndexOf('/') + 1) : '';
      yield { id: e.id ?? '', actorId: e.actor_id ?? '', type, data };
    }
  }

  async disks(): Promise<TalosDisk[]> {
    const minor = minorOf(this.opts.talosVersion);
    if (minor === undefined || minor >= 8) {
      try {
        return (await this.list<any>(RESOURCES.disks.namespace, RESOURCES.disks.type)).map(diskFromResource);
      } catch (err) {
        const older = err instanceof TalosNotFoundError || err instanceof TalosUnimplementedError;
        if (!older || minor !== undefined) throw err;
      }
    }
    const m = unwrapOne(this.node, await this.unary<Reply>(this.storage, 'Disks', {}));
    return (m.disks ?? []).map(diskFromStorageService);
  }

  async get<S>(namespace: string, type: string, id: string): Promise<CosiResource<S>> {
    const r = await this.unary<any>(this.state, 'Get', { namespace, type, id });
    return parseResource<S>(this.node, r?.resource);
  }

  async list<S>(namespace: string, type: string): Promise<CosiResource<S>[]> {
    const out: CosiResource<S>[] = [];
    for await (const r of this.stream<any>(this.state, 'List', { namespace, type }, { deadlineMs: this.timeoutMs })) {
      out.push(parseResource<S>(this.node, r.resource));
    }
    return out;
  }

  async *watch<S>(namespace: string, type: string, opts: StreamOptions & { id?: string; bootstrapContents?: boolean } = {}): AsyncGenerator<CosiEvent<S>> {
    const req: Record<string, unknown> = {
      namespace,
      type,
      api_version: 1,
      options: { bootstrap_contents: opts.bootstrapContents ?? true, tail_events: opts.tailEvents ?? 0 },
    };
    if (opts.id !== undefined) req.id = opts.id;
    for await (const r of this.stream<{ event?: WireEvent[] }>(this.state, 'Watch', req, opts)) {
      for (const e of r.event ?? []) yield parseEvent<S>(this.node, e);
    }
  }
}

function diskFromResource(r: CosiResource<any>): TalosDisk {
  const s = r.spec ?? {};
  return {
    name: r.id,
    devPath: s.dev_path ?? `/dev/${r.id}`,
    size: Number(s.size ?? 0),
    model: s.model ?? '',
    serial: s.serial ?? '',
    wwid: s.wwid ?? '',
    transport: s.transport ?? '',
    rotational: Boolean(s.rotational),
    readonly: Boolean(s.readonly),
    busPath: s.bus_path ?? '',
    source: 'block-resource',
  };
}

const TRANSPORT_OF_TYPE: Record<string, string> = { NVME: 'nvme', SD: 'mmc' };

function diskFromStorageService(d: any): TalosDisk {
  const devPath: string = d.device_name ?? '';
  return {
    name: devPath.replace(/^\/dev\//, ''),
    devPath,
    size: Number(d.size ?? 0),
    model: d.model ?? '',
    serial: d.serial ?? '',
    wwid: d.wwid ?? '',
    transport: TRANSPORT_OF_TYPE[d.type as string] ?? '',
    rotational: d.type === 'HDD',
    readonly: Boolean(d.readonly),
    busPath: d.bus_path ?? '',
    source: 'storage-service',
  };
}

/** Opens a client; nothing is dialled until the first call. */
export function connectTalos(opts: TalosClientOptions): TalosApi {
  return new TalosClient(opts);
}
