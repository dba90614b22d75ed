/**
 * The gRPC handlers of a Talos node double. Each handler declares who may call it (roles from the
 * client certificate's Organization) and whether maintenance mode serves it; calls carrying the
 * `node` metadata key for another node are proxied through the network, and a node that cannot be
 * reached is reported in the reply envelope (messages[].metadata.error), as apid does.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ConfigParseError, parseAppliedConfig } from './config.js';
import type { TalosNodeDouble } from './double.js';
import { storageDisks } from './hardware.js';
import { adminKubeconfig } from './identity.js';
import { wireResource, type StoreEvent, type StoredResource } from './resources.js';
import { tarGzOneFile } from './tar.js';

type Role = 'os:admin' | 'os:operator' | 'os:reader';
const ALL: Role[] = ['os:admin', 'os:operator', 'os:reader'];
const ADMIN: Role[] = ['os:admin'];
const OPERATOR: Role[] = ['os:admin', 'os:operator'];

class RpcError extends Error {
  constructor(readonly code: grpc.status, details: string) {
    super(details);
  }
}

interface Access {
  roles: Role[];
  maintenance: boolean;
}

type AnyCall = grpc.ServerUnaryCall<any, any> | grpc.ServerWritableStream<any, any>;

function rolesOf(call: AnyCall): string[] {
  const o = call.getAuthContext().sslPeerCertificate?.subject?.O;
  return o === undefined ? [] : Array.isArray(o) ? o : [o];
}

function admit(n: TalosNodeDouble, name: string, access: Access, call: AnyCall): void {
  n.calls.push(name);
  if (n.stage === 'maintenance') {
    if (!access.maintenance) throw new RpcError(grpc.status.UNIMPLEMENTED, 'API is not implemented in maintenance mode');
    return;
  }
  const roles = rolesOf(call);
  if (!access.roles.some((r) => roles.includes(r))) throw new RpcError(grpc.status.PERMISSION_DENIED, 'not authorized');
}

/** The other double the `node` metadata key names, or undefined when the call is for this one. */
function proxyTarget(n: TalosNodeDouble, call: AnyCall): { node: string; target?: TalosNodeDouble } | undefined {
  const node = call.metadata.get('node')[0];
  if (typeof node !== 'string' || node === n.address) return undefined;
  return { node, target: n.network?.at(node) };
}

/** What a call on a server that went down (the machine rebooted) ends with. */
const DOWN = 'connection error: the node is rebooting';

function unary(n: TalosNodeDouble, life: AbortSignal, name: string, access: Access, fn: (call: grpc.ServerUnaryCall<any, any>) => Promise<object> | object) {
  const handler = (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>): void => {
    if (life.aborted) return cb({ code: grpc.status.UNAVAILABLE, details: DOWN });
    const proxy = proxyTarget(n, call);
    if (proxy) {
      if (!proxy.target) {
        const error = `rpc error: code = Unavailable desc = connection error: dial tcp ${proxy.node}:${n.port}: connect: connection refused`;
        cb(null, { messages: [{ metadata: { hostname: proxy.node, error, status: { code: grpc.status.UNAVAILABLE, message: error } } }] });
        return;
      }
      const target = buildServices(proxy.target, proxy.target.serving);
      const peer = target.machineHandlers[name] ?? target.otherHandlers[name];
      peer!(call, (err: any, reply: any) => {
        for (const m of reply?.messages ?? []) m.metadata = { ...(m.metadata ?? {}), hostname: proxy.target!.hostname };
        cb(err, reply);
      });
      return;
    }
    Promise.resolve()
      .then(() => admit(n, name, access, call))
      .then(() => fn(call))
      .then((reply) => cb(null, reply))
      .catch((err) => cb(err instanceof RpcError ? { code: err.code, details: err.message } : { code: grpc.status.INTERNAL, details: String(err) }));
  };
  return handler as (call: any, cb: any) => void;
}

function stream(n: TalosNodeDouble, life: AbortSignal, name: string, access: Access, fn: (call: grpc.ServerWritableStream<any, any>) => Promise<void> | void) {
  return (call: grpc.ServerWritableStream<any, any>): void => {
    if (life.aborted) return void call.emit('error', { code: grpc.status.UNAVAILABLE, details: DOWN });
    // a reboot cuts every stream of the server that went down
    const cut = () => {
      if (!call.writableEnded && !call.destroyed) call.emit('error', { code: grpc.status.UNAVAILABLE, details: DOWN });
    };
    life.addEventListener('abort', cut, { once: true });
    call.once('close', () => life.removeEventListener('abort', cut));
    const proxy = proxyTarget(n, call);
    if (proxy) {
      if (!proxy.target) {
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: `connection error: dial tcp ${proxy.node}:${n.port}: connect: connection refused` });
        return;
      }
      (buildServices(proxy.target, proxy.target.serving).streamHandlers[name] as (c: typeof call) => void)(call);
      return;
    }
    Promise.resolve()
      .then(() => admit(n, name, access, call))
      .then(() => fn(call))
      .catch((err) =>
        call.emit('error', err instanceof RpcError ? { code: err.code, details: err.message } : { code: grpc.status.INTERNAL, details: String(err) }),
      );
  };
}

function requireConfigured(n: TalosNodeDouble): NonNullable<TalosNodeDouble['config']> {
  if (!n.config || !n.answering) throw new RpcError(grpc.status.FAILED_PRECONDITION, 'machine is not configured');
  return n.config;
}

function uint64Of(text: string): string {
  return BigInt('0x' + createHash('sha256').update(text).digest('hex').slice(0, 15)).toString();
}

const resourceTypes = (n: TalosNodeDouble): Set<string> => {
  const t = new Set([
    'MachineStatuses.runtime.talos.dev',
    'MachineConfigs.config.talos.dev',
    'SystemInformations.hardware.talos.dev',
    'Processors.hardware.talos.dev',
    'MemoryModules.hardware.talos.dev',
    'LinkStatuses.net.talos.dev',
    'AddressStatuses.net.talos.dev',
    'HostnameStatuses.net.talos.dev',
  ]);
  if (n.minor >= 8) t.add('Disks.block.talos.dev');
  return t;
};

function checkResourceAccess(n: TalosNodeDouble, call: AnyCall, type: string): void {
  if (!resourceTypes(n).has(type)) throw new RpcError(grpc.status.NOT_FOUND, `resource definition "${type}" not found`);
  if (type === 'MachineConfigs.config.talos.dev' && n.stage !== 'maintenance' && !rolesOf(call).includes('os:admin')) {
    throw new RpcError(grpc.status.PERMISSION_DENIED, 'not authorized');
  }
}

const wireEvent = (e: StoreEvent) => ({ event_type: e.type, resource: wireResource(e.resource), ...(e.old ? { old: wireResource(e.old) } : {}) });

/** The handlers of `n` for one server of it: `life` is aborted when that server goes down. */
export function buildServices(n: TalosNodeDouble, life: AbortSignal) {
  const one = (m: object) => ({ messages: [{ metadata: null, ...m }] });
  const machineHandlers: Record<string, (call: any, cb: any) => void> = {
    Version: unary(n, life, 'Version', { roles: ALL, maintenance: n.era === 'v1.13' }, () =>
      one({ version: { tag: n.version, sha: '', built: '', go_version: 'go1.22', os: 'linux', arch: 'amd64' }, platform: { name: 'metal', mode: 'metal' }, features: { rbac: true } }),
    ),
    ApplyConfiguration: unary(n, life, 'ApplyConfiguration', { roles: ADMIN, maintenance: true }, (call) => {
      const req = call.request;
      let cfg;
      try {
        cfg = parseAppliedConfig(req.data);
      } catch (err) {
        if (err instanceof ConfigParseError) throw new RpcError(grpc.status.INVALID_ARGUMENT, err.message);
        throw err;
      }
      const maintenance = n.stage === 'maintenance';
      if (maintenance && req.mode !== 'REBOOT' && req.mode !== 'AUTO') {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, 'apply configuration on maintenance mode only supports auto and reboot mode');
      }
      const reboot = maintenance || req.mode === 'REBOOT';
      const mode = reboot ? 'REBOOT' : req.mode === 'STAGED' ? 'STAGED' : 'NO_REBOOT';
      const details = reboot ? 'Applied configuration with a reboot' : 'Applied configuration without a reboot';
      if (req.dry_run) return one({ warnings: [], mode, mode_details: `Dry run summary:\n${details} (skipped in dry-run).` });
      n.applyCount++;
      n.config = cfg;
      if (maintenance) {
        n.setStage('installing');
        n.later(() => n.serveConfigured());
      } else if (reboot) {
        n.setStage('rebooting');
        n.later(() => n.down());
      } else {
        n.refresh();
      }
      return one({ warnings: [], mode, mode_details: details });
    }),
    Bootstrap: unary(n, life, 'Bootstrap', { roles: ADMIN, maintenance: false }, () => {
      const cfg = requireConfigured(n);
      if (!n.controlPlane) throw new RpcError(grpc.status.FAILED_PRECONDITION, 'bootstrap can only be performed on a control plane node');
      if (n.stage !== 'running') throw new RpcError(grpc.status.FAILED_PRECONDITION, 'bootstrap is not available yet');
      if (n.network!.bootstrapped(cfg.clusterId)) throw new RpcError(grpc.status.ALREADY_EXISTS, 'etcd data directory is not empty');
      n.network!.bootstrap(cfg.clusterId, n);
      return one({});
    }),
    Reboot: unary(n, life, 'Reboot', { roles: OPERATOR, maintenance: false }, () => {
      requireConfigured(n);
      n.setStage('rebooting');
      n.later(() => n.down());
      return one({ actor_id: randomUUID() });
    }),
    Shutdown: unary(n, life, 'Shutdown', { roles: OPERATOR, maintenance: false }, () => {
      requireConfigured(n);
      n.setStage('shutting down');
      n.later(async () => {
        await n.down();
        n.stage = 'off';
      });
      return one({ actor_id: randomUUID() });
    }),
    Reset: unary(n, life, 'Reset', { roles: ADMIN, maintenance: false }, () => {
      const cfg = requireConfigured(n);
      n.setStage('resetting');
      n.later(() => {
        n.network?.leave(cfg.clusterId, n);
        n.config = undefined;
      });
      return one({ actor_id: randomUUID() });
    }),
    Upgrade: unary(n, life, 'Upgrade', { roles: ADMIN, maintenance: false }, (call) => {
      requireConfigured(n);
      const tag = /:(v\d+\.\d+\.\d+)/.exec(call.request.image ?? '')?.[1];
      if (!tag) throw new RpcError(grpc.status.INVALID_ARGUMENT, `cannot tell the version of image "${call.request.image}"`);
      n.pendingVersion = tag;
      n.setStage('upgrading');
      n.later(() => undefined); // lets stageDelayMs carry the upgrade on, as it does a reboot
      return one({ ack: 'Upgrade request received', actor_id: randomUUID() });
    }),
    ServiceList: unary(n, life, 'ServiceList', { roles: ALL, maintenance: false }, () => {
      requireConfigured(n);
      const running = n.stage === 'running';
      const ids = ['apid', 'containerd', 'cri', 'kubelet', 'machined', 'udevd', ...(n.controlPlane ? ['etcd', 'trustd'] : [])].sort();
      const services = ids.map((id) => {
        const waiting = id === 'etcd' && !n.etcdMember;
        const state = !running ? 'Preparing' : waiting ? 'Preparing' : 'Running';
        return { id, state, events: { events: [] }, health: { unknown: !running, healthy: running && !waiting, last_message: waiting ? 'waiting for etcd bootstrap' : '' } };
      });
      return one({ services });
    }),
    EtcdMemberList: unary(n, life, 'EtcdMemberList', { roles: ALL, maintenance: false }, () => {
      const cfg = requireConfigured(n);
      if (!n.controlPlane || !n.etcdMember) throw new RpcError(grpc.status.FAILED_PRECONDITION, 'etcd is not running on this node');
      const members = n.network!.members(cfg.clusterId).map((m) => ({
        id: uint64Of(m.hardware.uuid),
        hostname: m.hostname,
        peer_urls: [`https://${m.address}:2380`],
        client_urls: [`https://${m.address}:2379`],
        is_learner: false,
      }));
      return one({ legacy_members: [], members });
    }),
  };
  const streamHandlers: Record<string, (call: any) => void> = {
    Kubeconfig: stream(n, life, 'Kubeconfig', { roles: ADMIN, maintenance: false }, async (call) => {
      const cfg = requireConfigured(n);
      if (!n.controlPlane) throw new RpcError(grpc.status.FAILED_PRECONDITION, 'kubeconfig is only available on control plane nodes');
      const gz = tarGzOneFile('kubeconfig', Buffer.from(await adminKubeconfig(cfg)));
      for (let off = 0; off < gz.length; off += 1024) call.write({ metadata: null, bytes: gz.subarray(off, off + 1024) });
      call.end();
    }),
    Events: stream(n, life, 'Events', { roles: ALL, maintenance: false }, (call) => {
      const tail = call.request.tail_events ?? 0;
      const send = (e: { id: string; data: Record<string, unknown> }) => call.write({ metadata: null, id: e.id, actor_id: '', data: e.data });
      const past = tail < 0 ? n.events : tail > 0 ? n.events.slice(-tail) : [];
      past.forEach(send);
      n.on('talos-event', send);
      const stop = () => n.off('talos-event', send);
      call.on('cancelled', stop);
      call.on('close', stop);
    }),
    Upgrade: stream(n, life, 'LifecycleUpgrade', { roles: ADMIN, maintenance: false }, (call) => {
      requireConfigured(n);
      const image: string = call.request.source?.image_name ?? '';
      const tag = /:(v\d+\.\d+\.\d+)/.exec(image)?.[1];
      if (!tag) throw new RpcError(grpc.status.INVALID_ARGUMENT, `cannot tell the version of image "${image}"`);
      for (const message of [`pulling ${image}`, 'running the installer', `installed ${tag}; reboot to activate`]) call.write({ progress: { message } });
      n.pendingVersion = tag;
      call.write({ progress: { exit_code: 0 } });
      call.end();
    }),
    List: stream(n, life, 'State/List', { roles: ALL, maintenance: true }, (call) => {
      const { namespace, type } = call.request;
      checkResourceAccess(n, call, type);
      for (const r of n.store.list(namespace, type)) call.write({ resource: wireResource(r) });
      call.end();
    }),
    Watch: stream(n, life, 'State/Watch', { roles: ALL, maintenance: true }, (call) => {
      const { namespace, type, id, options } = call.request;
      checkResourceAccess(n, call, type);
      const wanted = (r: StoredResource) => r.namespace === namespace && r.type === type && (!id || r.id === id);
      if (options?.bootstrap_contents) {
        const initial = n.store.list(namespace, type).filter(wanted);
        call.write({ event: [...initial.map((r) => ({ event_type: 'CREATED', resource: wireResource(r) })), { event_type: 'BOOTSTRAPPED' }] });
      }
      const send = (e: StoreEvent) => {
        if (wanted(e.resource)) call.write({ event: [wireEvent(e)] });
      };
      n.store.events.on('event', send);
      const stop = () => n.store.events.off('event', send);
      call.on('cancelled', stop);
      call.on('close', stop);
    }),
  };
  const otherHandlers: Record<string, (call: any, cb: any) => void> = {
    Disks: unary(n, life, 'Disks', { roles: ALL, maintenance: true }, () => one({ disks: storageDisks(n.hardware) })),
    Get: unary(n, life, 'State/Get', { roles: ALL, maintenance: true }, (call) => {
      const { namespace, type, id } = call.request;
      checkResourceAccess(n, call, type);
      const r = n.store.get(namespace, type, id);
      if (!r) throw new RpcError(grpc.status.NOT_FOUND, `resource ${type}(${namespace}/${id}@undefined) doesn't exist`);
      return { resource: wireResource(r) };
    }),
  };
  const { Kubeconfig, Events, Upgrade: LifecycleUpgrade, List, Watch } = streamHandlers;
  return {
    machineHandlers,
    streamHandlers,
    otherHandlers,
    machine: { ...machineHandlers, Kubeconfig, Events } as grpc.UntypedServiceImplementation,
    lifecycle: { Upgrade: LifecycleUpgrade } as grpc.UntypedServiceImplementation,
    storage: { Disks: otherHandlers.Disks } as grpc.UntypedServiceImplementation,
    state: { Get: otherHandlers.Get, List, Watch } as grpc.UntypedServiceImplementation,
  };
}
