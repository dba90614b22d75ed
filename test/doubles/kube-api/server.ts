/**
 * FakeKubeApiServer: a TEST DOUBLE of kube-apiserver, in process, over real HTTP(S), faithful
 * where hearth and kubectl look (see the files beside this one for each part: apply.ts for
 * server-side apply, objects.ts for the write paths, watch.ts, selectors.ts, discovery.ts,
 * auth.ts, routes.ts).
 *
 * Three ways to listen:
 *  - plain HTTP on 127.0.0.1 with a bearer token (the default);
 *  - `https`: HTTPS on 127.0.0.1 with a CA it generates (or is given), users authenticated by
 *    client certificates of that CA (CN = user, O = groups) like kube-apiserver, others 401;
 *    kubeconfig() then carries an admin client certificate, userKubeconfig() any user's;
 *  - `tls`: HTTPS at a cluster endpoint the way a Talos control plane serves it (a server
 *    certificate for the endpoint IP signed by the cluster CA; clients without a certificate of
 *    that CA are refused in the handshake); /readyz and GET /api/v1/nodes answer from `cluster`.
 * Test hooks: injected errors, a write delay or gate, status writes as a controller makes them,
 * CRD establishment delay or hold, compaction, closing all watches, a request log.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { newCA, newLeafCert, type CertAndKey } from '../../../src/talos/pki.js';
import type { RbacRule, UserInfo } from './auth.js';
import { Objects } from './objects.js';
import { Registry } from './registry.js';
import { handle, type RouteContext } from './routes.js';
import { Store } from './store.js';
import { ApiError, clone, isObj, type InjectedError, type Obj, type RequestRecord, type ResourceInfo, type WatchEvent } from './types.js';
import { Watches } from './watch.js';
import { within, WAIT_MS } from '../../helpers/within.js';

export interface FakeKubeTls {
  /** The cluster CA (with its key: the server certificate is signed here). */
  ca: { crt: string; key: string };
  /** The endpoint address (an IP) and port to listen on. */
  host: string;
  port: number;
}

/** What the API server reports about the cluster behind it. */
export interface FakeKubeCluster {
  /** /readyz: true once the control plane (etcd) is up. */
  ready(): boolean;
  /** The Nodes: name and whether the kubelet reports Ready. */
  nodes(): { name: string; ready: boolean }[];
}

export interface FakeKubeOptions {
  tls?: FakeKubeTls;
  /**
   * HTTPS with client-certificate authentication like kube-apiserver (no certificate: 401, not a
   * handshake failure); the CA is generated unless given; 127.0.0.1 and an ephemeral port unless given.
   */
  https?: boolean | { ca?: { crt: string; key: string }; host?: string; port?: number };
  cluster?: FakeKubeCluster;
  /** RBAC-shaped grants; without them every authenticated user may do anything. */
  rbac?: RbacRule[];
  /** Bearer tokens and their users (default: "fake-token" for an admin). */
  tokens?: Record<string, UserInfo>;
}

export class FakeKubeApiServer {
  private server: http.Server | https.Server;
  private readonly store = new Store();
  private readonly registry = new Registry();
  private readonly objs = new Objects(this.store, this.registry);
  private readonly watches = new Watches(this.store);
  private readonly ctx: RouteContext;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly heldCrds = new Set<string>();
  private readonly establishedCrds = new Set<string>();
  private caPair?: { crt: string; key: string };
  private admin?: CertAndKey;
  readonly requests: RequestRecord[] = [];
  /** Answer matching requests with an error instead. */
  readonly errors: RouteContext['errors'] = [];
  /** How long after a CRD is created it reports Established (and is served). */
  establishDelayMs = 20;
  /** When true, created CRDs stay un-Established until establishHeld() is called. */
  holdEstablish = false;
  /** How long the namespace controller waits between passes over a terminating namespace. */
  namespaceFinalizeDelayMs = 20;
  /** When true, terminating namespaces stay Terminating until finalizeHeld() is called. */
  holdNamespaceFinalization = false;
  private readonly heldNamespaces = new Set<string>();
  url = '';

  constructor(private readonly opts: FakeKubeOptions = {}) {
    const tokens = new Map(Object.entries(opts.tokens ?? { 'fake-token': { name: 'tester', groups: ['system:masters'] } }));
    const self = this;
    this.ctx = {
      store: this.store,
      registry: this.registry,
      objects: this.objs,
      watches: this.watches,
      tokens,
      rbac: opts.rbac,
      requests: this.requests,
      errors: this.errors,
      get writeDelayMs() {
        return self.writeDelayMs;
      },
      get beforeWrite() {
        return self.beforeWrite;
      },
      clusterView: (m, p) => this.clusterView(m, p),
    };
    this.objs.onCrd = (crd, deleted) => this.crdChanged(crd, deleted);
    this.objs.onNamespaceTerminating = (name) => this.finalizeLater(name);
    this.server = http.createServer((req, res) => void handle(this.ctx, req, res));
  }

  /** Delay before each write is carried out. */
  writeDelayMs = 0;
  /** Awaited before each write is carried out: a test can hold a write in flight. */
  beforeWrite: ((obj: { kind: string; name: string; namespace?: string }) => Promise<void> | void) | undefined;

  get bookmarkMs(): number {
    return this.watches.bookmarkMs;
  }
  set bookmarkMs(ms: number) {
    this.watches.bookmarkMs = ms;
  }
  /** Events at or below this resourceVersion are gone (410 Expired for watches starting there). */
  get compactedRv(): number {
    return this.store.compactedRv;
  }
  set compactedRv(rv: number) {
    this.store.compact(rv);
  }
  get resourceVersion(): number {
    return this.store.rv;
  }
  /** The CA clients and the server certificate chain to (HTTPS modes, after start()). */
  get ca(): { crt: string; key: string } | undefined {
    return this.caPair;
  }

  async start(): Promise<string> {
    const now = new Date();
    const { tls } = this.opts;
    const loopback = this.opts.https;
    if (!tls && !loopback) {
      await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
      this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
      return this.url;
    }
    const given = tls?.ca ?? (isObj(loopback) ? loopback.ca : undefined);
    this.caPair = given ?? (await newCA({ kind: 'ecdsa', organization: 'hearth-kube-double', commonName: 'kubernetes', now }));
    const host = tls?.host ?? (isObj(loopback) ? loopback.host : undefined) ?? '127.0.0.1';
    const port = tls?.port ?? (isObj(loopback) ? loopback.port : undefined) ?? 0;
    const id = await newLeafCert(this.caPair, { organizations: [], commonName: 'kube-apiserver', now, server: { ipAddresses: [host], dnsNames: ['kubernetes', 'kubernetes.default', 'localhost'] } });
    this.admin = await newLeafCert(this.caPair, { organizations: ['system:masters'], commonName: 'kubernetes-admin', now });
    // kube-apiserver asks for a client certificate and authenticates by other means without one;
    // the Talos endpoint mode refuses such clients in the handshake.
    this.server = https.createServer({ cert: id.crt, key: id.key, ca: this.caPair.crt, requestCert: true, rejectUnauthorized: !!tls }, (req, res) => void handle(this.ctx, req, res));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    this.url = `https://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.watches.closeAll();
    // Stop listening first, so no client (one that reconnects at once) gets in between.
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await within(WAIT_MS, 'the kube-api double to close its connections', closed);
  }

  /** A kubeconfig for an admin: a bearer token over plain HTTP, an admin client certificate over HTTPS. */
  kubeconfig(): string {
    if (!this.caPair || !this.admin) return kubeconfigText(this.url, { 'insecure-skip-tls-verify': true }, { token: 'fake-token' });
    return this.certKubeconfig(this.admin);
  }

  /** A kubeconfig whose client certificate names this user and groups (HTTPS modes). */
  async userKubeconfig(user: string, groups: string[] = []): Promise<string> {
    if (!this.caPair) throw new Error('userKubeconfig needs an HTTPS double');
    return this.certKubeconfig(await newLeafCert(this.caPair, { organizations: groups, commonName: user, now: new Date() }));
  }

  private certKubeconfig(id: CertAndKey): string {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    return kubeconfigText(this.url, { 'certificate-authority-data': b64(this.caPair!.crt) }, { 'client-certificate-data': b64(id.crt), 'client-key-data': b64(id.key) });
  }

  onEvent(fn: (e: WatchEvent) => void): () => void {
    return this.store.onEvent(fn);
  }

  /** Every object of a kind (as stored). */
  objects(kind: string): Obj[] {
    return this.store.all().filter((s) => s.obj.kind === kind).map((s) => clone(s.obj));
  }

  get(kind: string, name: string, namespace?: string): Obj | undefined {
    const s = this.store.all().find((x) => x.obj.kind === kind && x.obj.metadata.name === name && x.obj.metadata.namespace === namespace);
    return s ? clone(s.obj) : undefined;
  }

  private resourceOfKind(kind: string): ResourceInfo {
    const r = this.registry.served.find((x) => x.kind === kind);
    if (!r) throw new Error(`unknown kind ${kind}`);
    return r;
  }

  /** What a controller does: write .status (through the status subresource where there is one: no generation bump). */
  setStatus(kind: string, name: string, namespace: string | undefined, st: unknown): void {
    const res = this.resourceOfKind(kind);
    const live = this.store.get(res, namespace, name);
    if (!live) throw new Error(`no ${kind} ${namespace}/${name}`);
    this.call(() => this.objs.write('update', res, namespace, name, { ...clone(live.obj), status: st }, { dryRun: false, fieldValidation: 'Ignore', fieldManager: 'fake-controller', ...(res.statusSubresource ? { subresource: 'status' as const } : {}) }));
  }

  /** Another field manager applies (server-side apply, forced unless told otherwise). */
  applyAs(manager: string, obj: Obj, force = true): Obj {
    const res = this.registry.byKind(obj.apiVersion, obj.kind);
    if (!res) throw new Error(`unknown kind ${obj.kind}`);
    return this.call(() => this.objs.apply(res, obj.metadata.namespace, obj.metadata.name, obj, { dryRun: false, fieldValidation: 'Ignore', fieldManager: manager, force })).obj;
  }

  /** Ends every open watch (as an API server does on timeout or restart). */
  closeWatches(): void {
    this.watches.closeAll();
  }

  /** Marks every CRD created while holdEstablish was set as Established; returns how many. */
  establishHeld(): number {
    const held = [...this.heldCrds];
    this.heldCrds.clear();
    for (const name of held) this.establish(name);
    return held.length;
  }

  /** Lets the namespace controller finish the namespaces held Terminating; returns how many. */
  finalizeHeld(): number {
    const held = [...this.heldNamespaces];
    this.heldNamespaces.clear();
    this.holdNamespaceFinalization = false;
    for (const name of held) this.finalizeLater(name);
    return held.length;
  }

  private call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ApiError) throw new Error(err.body.message);
      throw err;
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private crdChanged(crd: Obj, deleted: boolean): void {
    const name = crd.metadata.name;
    if (deleted) {
      this.establishedCrds.delete(name);
      this.registry.unregister(crd);
      return;
    }
    if (this.establishedCrds.has(name)) return this.registry.register(crd);
    if (this.heldCrds.has(name)) return;
    if (this.holdEstablish) this.heldCrds.add(name);
    else this.later(this.establishDelayMs, () => this.establish(name));
  }

  /** What the apiextensions controllers do: accept the names, serve the versions, report Established. */
  private establish(name: string): void {
    const res = this.resourceOfKind('CustomResourceDefinition');
    const s = this.store.get(res, undefined, name);
    if (!s || this.establishedCrds.has(name)) return;
    this.establishedCrds.add(name);
    this.registry.register(s.obj);
    const spec = s.obj.spec as { names: unknown; versions: { name: string; storage?: boolean }[] };
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const st = {
      acceptedNames: spec.names,
      storedVersions: spec.versions.filter((v) => v.storage).map((v) => v.name),
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
      ],
    };
    this.setStatus('CustomResourceDefinition', name, undefined, st);
  }

  /** The namespace controller: passes over a terminating namespace until it is empty and gone. */
  private finalizeLater(name: string): void {
    if (this.holdNamespaceFinalization) {
      this.heldNamespaces.add(name);
      return;
    }
    this.later(this.namespaceFinalizeDelayMs, () => {
      if (!this.objs.finalizeNamespace(name)) this.finalizeLater(name);
    });
  }

  /** /readyz and the Node list, answered from the cluster view; undefined for other paths. */
  private clusterView(method: string, pathname: string): { code: number; body: unknown } | undefined {
    const c = this.opts.cluster;
    if (!c || method !== 'GET') return undefined;
    if (pathname === '/readyz') return c.ready() ? { code: 200, body: 'ok' } : { code: 500, body: '[-]etcd failed: reason withheld\nreadyz check failed' };
    if (pathname !== '/api/v1/nodes') return undefined;
    const items = c.nodes().map((n) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name } },
      status: { conditions: [{ type: 'Ready', status: n.ready ? 'True' : 'False', reason: n.ready ? 'KubeletReady' : 'KubeletNotReady' }] },
    }));
    return { code: 200, body: { apiVersion: 'v1', kind: 'NodeList', metadata: { resourceVersion: String(this.store.rv) }, items } };
  }
}

function kubeconfigText(server: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const lines = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `    ${k}: ${String(v)}`);
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${server}`,
    ...lines(cluster),
    'users:',
    '- name: tester',
    '  user:',
    ...lines(user),
    'contexts:',
    '- name: fake',
    '  context:',
    '    cluster: fake',
    '    user: tester',
    'current-context: fake',
    '',
  ].join('\n');
}
