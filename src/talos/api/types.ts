/** The typed face of the Talos API client: what hearth's commands and tests program against. */
import type { CosiEvent, CosiResource } from './cosi.js';
import type { TalosTlsMode } from './transport.js';

export const TALOS_API_PORT = 50000;

export interface TalosClientOptions {
  /** The address dialled: an IP (usual) or a name. */
  endpoint: string;
  /** Default 50000. */
  port?: number;
  tls: TalosTlsMode;
  /** Proxy the calls through `endpoint` to this node (the `node` gRPC metadata key apid routes on). */
  node?: string;
  /** Deadline for each unary call and for collecting a Kubeconfig; default 10 s. */
  timeoutMs?: number;
  /** The node's Talos version when known ("v1.6.4"); picks the upgrade and disk calls without probing. */
  talosVersion?: string;
}

export interface TalosVersion {
  tag: string;
  sha: string;
  built: string;
  goVersion: string;
  os: string;
  arch: string;
  platform?: { name: string; mode: string };
}

export type ApplyMode = 'REBOOT' | 'AUTO' | 'NO_REBOOT' | 'STAGED' | 'TRY';

export interface ApplyResult {
  mode: ApplyMode;
  modeDetails: string;
  warnings: string[];
}

export interface ServiceStatus {
  id: string;
  state: string;
  healthy: boolean;
  healthUnknown: boolean;
  lastMessage: string;
}

export interface EtcdMember {
  id: string;
  hostname: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/** One entry of the machine event stream; `type` is the payload's message name (e.g. machine.MachineStatusEvent). */
export interface TalosEvent {
  id: string;
  actorId: string;
  type: string;
  data: Record<string, unknown>;
}

/** A disk, the same shape whether it came from StorageService/Disks (v1.6) or Disks.block.talos.dev. */
export interface TalosDisk {
  name: string;
  devPath: string;
  size: number;
  model: string;
  serial: string;
  wwid: string;
  transport: string;
  rotational: boolean;
  readonly: boolean;
  busPath: string;
  source: 'storage-service' | 'block-resource';
}

export interface ResetOptions {
  graceful?: boolean;
  reboot?: boolean;
  mode?: 'ALL' | 'SYSTEM_DISK' | 'USER_DISKS';
  systemPartitionsToWipe?: { label: string; wipe: boolean }[];
}

export interface UpgradeOptions {
  image: string;
  preserve?: boolean;
  stage?: boolean;
  force?: boolean;
}

export interface UpgradeResult {
  /** Which API took it: MachineService/Upgrade (≤ v1.12) or LifecycleService/Upgrade (v1.13). */
  via: 'machine' | 'lifecycle';
  /** MachineService ack, or the lifecycle progress lines. */
  messages: string[];
}

export interface StreamOptions {
  signal?: AbortSignal;
  tailEvents?: number;
}

export interface TalosApi {
  readonly node: string;
  version(): Promise<TalosVersion>;
  applyConfiguration(config: string | Uint8Array, opts?: { mode?: ApplyMode; dryRun?: boolean; tryTimeoutMs?: number }): Promise<ApplyResult>;
  bootstrap(opts?: { recoverEtcd?: boolean }): Promise<void>;
  /** The admin kubeconfig (YAML text), unpacked from the node's one-file tar.gz stream. */
  kubeconfig(): Promise<string>;
  reboot(opts?: { powercycle?: boolean }): Promise<void>;
  shutdown(opts?: { force?: boolean }): Promise<void>;
  reset(opts?: ResetOptions): Promise<void>;
  upgrade(opts: UpgradeOptions): Promise<UpgradeResult>;
  serviceList(): Promise<ServiceStatus[]>;
  etcdMemberList(): Promise<EtcdMember[]>;
  events(opts?: StreamOptions): AsyncIterable<TalosEvent>;
  disks(): Promise<TalosDisk[]>;
  get<S = Record<string, unknown>>(namespace: string, type: string, id: string): Promise<CosiResource<S>>;
  list<S = Record<string, unknown>>(namespace: string, type: string): Promise<CosiResource<S>[]>;
  watch<S = Record<string, unknown>>(namespace: string, type: string, opts?: StreamOptions & { id?: string; bootstrapContents?: boolean }): AsyncIterable<CosiEvent<S>>;
  /** Resolves once a connection to the node is up (e.g. after a reboot); TalosUnavailableError after timeoutMs. */
  waitReady(timeoutMs: number): Promise<void>;
  close(): void;
}
