/**
 * FakeKubeApiServer: a TEST DOUBLE of the Kubernetes API server, in process, over real HTTP.
 * It follows the API conventions for exactly the calls hearth makes:
 *  - discovery (/api, /apis, /api/v1, /apis/GROUP/VERSION) as @kubernetes/client-node needs it;
 *  - GET of an object and LIST of a collection (labelSelector `k=v,…`), List kinds with a
 *    collection resourceVersion;
 *  - WATCH (?watch=true&resourceVersion=N): events after N, BOOKMARK events when
 *    allowWatchBookmarks is set, 410 Expired (as an ERROR event) for compacted versions;
 *  - server-side apply: PATCH with Content-Type application/apply-patch+yaml and a fieldManager
 *    (415 for other patch types, 422 without fieldManager), per-field ownership with 409
 *    Conflict unless force=true, removal of fields a manager stopped applying, no-op applies that
 *    do not bump resourceVersion, generation bumps on spec changes only;
 *  - CRDs: applying one registers its served versions for discovery and sets Established /
 *    NamesAccepted after a delay; custom objects are validated against the served version's
 *    openAPIV3Schema (422 Invalid with causes), namespaced objects need their namespace (404);
 *  - Status error bodies (kind Status, reason, code, message) for 404/409/415/422/403.
 * Test hooks: injected errors, a write delay, status updates (what a controller would write),
 * closing all watches, a request log.
 *
 * Two ways to listen: plain HTTP on 127.0.0.1 with a bearer token (the default), or HTTPS at a
 * cluster endpoint (`tls`) the way a Talos control plane serves it: a server certificate for the
 * endpoint IP signed by the cluster CA, clients authenticated by a certificate of that CA (others
 * are refused during the handshake). Then /readyz and GET /api/v1/nodes answer from the `cluster`
 * view the test gives (ready when etcd is up; a Ready Node per machine that reached running).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { newLeafCert } from '../../src/talos/pki.js';
import { Ajv } from 'ajv';
import { parse } from 'yaml';

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string> };
  [k: string]: unknown;
}

interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  validate?: (o: unknown) => string[];
}

interface Stored {
  obj: Obj;
  /** JSON path of each leaf the managers applied -> manager. */
  owners: Map<string, string>;
}

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  res: ResourceInfo;
  obj: Obj;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  status?: number;
  completed: boolean;
}

export interface InjectedError {
  code: number;
  reason: string;
  message: string;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leaves of an object as JSON paths (lists are leaves: the double treats them atomically). */
function leaves(v: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (isObj(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) for (const [p, y] of leaves(x, `${prefix}.${k}`)) out.set(p, y);
  } else out.set(prefix, v);
  return out;
}

function getPath(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const k of path.split('.').slice(1)) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function deletePath(o: Record<string, unknown>, path: string): void {
  const keys = path.split('.').slice(1);
  const stack: Record<string, unknown>[] = [o];
  let cur: unknown = o;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur)) return;
    cur = cur[k];
    if (isObj(cur)) stack.push(cur);
  }
  if (isObj(cur)) delete cur[keys.at(-1)!];
  // prune empty parents
  for (let i = keys.length - 2; i >= 0; i--) {
    const parent = stack[i]!;
    const child = parent[keys[i]!];
    if (isObj(child) && Object.keys(child).length === 0) delete parent[keys[i]!];
  }
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(out[k]) && isObj(v) ? merge(out[k] as Record<string, unknown>, v) : clone(v);
  return out;
}

function equalJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

function status(code: number, reason: string, message: string, details?: unknown) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
}

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

export class FakeKubeApiServer {
  private server: http.Server | https.Server = http.createServer((req, res) => void this.handle(req, res));
  constructor(private readonly opts: { tls?: FakeKubeTls; cluster?: FakeKubeCluster } = {}) {}
  private resources: ResourceInfo[] = [
    { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
    { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false },
    { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
    { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
    { group: '', version: 'v1', plural: 'resourcequotas', kind: 'ResourceQuota', namespaced: true },
    { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
    { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
    { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', kind: 'ClusterRole', namespaced: false },
    { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
  ];
  private store = new Map<string, Stored>();
  private events: WatchEvent[] = [];
  private rv = 100;
  /** Events at or below this resourceVersion are gone (410 Expired for watches starting there). */
  compactedRv = 0;
  private watchers = new Set<{ res: ResourceInfo; ns?: string; selector: [string, string][]; res_: http.ServerResponse }>();
  private listeners = new Set<(e: WatchEvent) => void>();
  private ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  readonly requests: RequestRecord[] = [];
  /** Answer matching requests with an error instead. */
  readonly errors: { match: (method: string, obj: { kind: string; name: string; namespace?: string }) => boolean; error: InjectedError }[] = [];
  /** Delay before each write is carried out. */
  writeDelayMs = 0;
  /** Awaited before each apply is carried out: a test can hold a write in flight (to interrupt an install half-way). */
  beforeWrite: ((obj: { kind: string; name: string; namespace?: string }) => Promise<void> | void) | undefined;
  /** How long after a CRD is applied it reports Established. */
  establishDelayMs = 20;
  /**
   * When true, applied CRDs stay un-Established (whatever establishDelayMs says) until
   * establishHeld() is called: a test can look at the "not yet" state without racing a timer.
   */
  holdEstablish = false;
  private heldCrds = new Set<string>();
  bookmarkMs = 100;
  private timers = new Set<NodeJS.Timeout>();
  url = '';

  async start(): Promise<string> {
    const tls = this.opts.tls;
    if (!tls) {
      await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
      this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
      return this.url;
    }
    const now = new Date();
    const id = await newLeafCert(tls.ca, { organizations: [], commonName: 'kube-apiserver', now, server: { ipAddresses: [tls.host], dnsNames: ['kubernetes', 'kubernetes.default'] } });
    this.server = https.createServer({ cert: id.crt, key: id.key, ca: tls.ca.crt, requestCert: true, rejectUnauthorized: true }, (req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(tls.port, tls.host, () => resolve());
    });
    this.url = `https://${tls.host}:${tls.port}`;
    return this.url;
  }

  /** A client presented a certificate the cluster CA signed (TLS mode; the handshake refused others). */
  private certAuthenticated(req: http.IncomingMessage): boolean {
    return !!this.opts.tls && (req.socket as TLSSocket).authorized === true;
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
    return { code: 200, body: { apiVersion: 'v1', kind: 'NodeList', metadata: { resourceVersion: String(this.rv) }, items } };
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.watchers) w.res_.end();
    this.watchers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** A kubeconfig that points at this server. */
  kubeconfig(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      // client-node refuses plain http unless TLS verification is explicitly off
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: tester\n  user:\n    token: fake-token',
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: tester',
      'current-context: fake',
      '',
    ].join('\n');
  }

  onEvent(fn: (e: WatchEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Every object of a kind (as stored). */
  objects(kind: string): Obj[] {
    return [...this.store.values()].map((s) => s.obj).filter((o) => o.kind === kind).map(clone);
  }

  get(kind: string, name: string, namespace?: string): Obj | undefined {
    const o = [...this.store.values()].find((s) => s.obj.kind === kind && s.obj.metadata.name === name && (s.obj.metadata.namespace ?? undefined) === namespace);
    return o ? clone(o.obj) : undefined;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** What a controller does: write .status (the status subresource: no generation bump). */
  setStatus(kind: string, name: string, namespace: string | undefined, st: unknown): void {
    const s = [...this.store.values()].find((x) => x.obj.kind === kind && x.obj.metadata.name === name && x.obj.metadata.namespace === namespace);
    if (!s) throw new Error(`no ${kind} ${namespace}/${name}`);
    if (equalJson(s.obj.status, st)) return;
    s.obj.status = clone(st);
    this.bump(s.obj, 'MODIFIED');
  }

  /** Another field manager (say `kubectl edit`) writes a field. */
  applyAs(manager: string, obj: Obj, force = true): Obj {
    const res = this.resourceFor(obj.apiVersion, obj.kind);
    if (!res) throw new Error(`unknown kind ${obj.kind}`);
    const r = this.doApply(res, obj, manager, force);
    if ('error' in r) throw new Error(r.error.message);
    return r.obj;
  }

  /** Ends every open watch (as an API server does on timeout or restart). */
  closeWatches(): void {
    for (const w of this.watchers) w.res_.end();
    this.watchers.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private resourceFor(apiVersion: string, kind: string): ResourceInfo | undefined {
    const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
    return this.resources.find((r) => r.group === group && r.version === version && r.kind === kind);
  }

  private key(res: ResourceInfo, ns: string | undefined, name: string): string {
    return `${res.group}/${res.plural}/${ns ?? ''}/${name}`;
  }

  private bump(obj: Obj, type: 'ADDED' | 'MODIFIED' | 'DELETED'): void {
    this.rv += 1;
    obj.metadata.resourceVersion = String(this.rv);
    const res = this.resourceFor(obj.apiVersion, obj.kind)!;
    const e: WatchEvent = { rv: this.rv, type, res, obj: clone(obj) };
    this.events.push(e);
    for (const w of this.watchers) this.send(w, e);
    for (const l of this.listeners) l(e);
  }

  private send(w: { res: ResourceInfo; ns?: string; selector: [string, string][]; res_: http.ServerResponse }, e: WatchEvent): void {
    if (e.res.plural !== w.res.plural || e.res.group !== w.res.group) return;
    if (w.ns && e.obj.metadata.namespace !== w.ns) return;
    if (!this.selects(w.selector, e.obj)) return;
    const obj = clone(e.obj);
    obj.apiVersion = w.res.group ? `${w.res.group}/${w.res.version}` : w.res.version;
    w.res_.write(JSON.stringify({ type: e.type, object: obj }) + '\n');
  }

  private selects(selector: [string, string][], o: Obj): boolean {
    return selector.every(([k, v]) => (o.metadata.labels ?? {})[k] === v);
  }

  private parseSelector(s: string | undefined): [string, string][] {
    if (!s) return [];
    return s.split(',').map((p) => p.split('=') as [string, string]);
  }

  private registerCrd(crd: Obj): void {
    const spec = crd.spec as {
      group: string;
      names: { plural: string; kind: string };
      scope: string;
      versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: object } }[];
    };
    for (const v of spec.versions.filter((x) => x.served)) {
      if (this.resources.some((r) => r.group === spec.group && r.version === v.name && r.plural === spec.names.plural)) continue;
      let validate: ResourceInfo['validate'];
      if (v.schema?.openAPIV3Schema) {
        const fn = this.ajv.compile(v.schema.openAPIV3Schema);
        validate = (o) => (fn(o) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath.replace(/\//g, '.') || '<root>'}: ${e.message}`));
      }
      this.resources.push({ group: spec.group, version: v.name, plural: spec.names.plural, kind: spec.names.kind, namespaced: spec.scope === 'Namespaced', validate });
    }
  }

  private doApply(res: ResourceInfo, body: Obj, manager: string, force: boolean): { obj: Obj; changed: boolean; created?: boolean } | { error: ReturnType<typeof status> } {
    const ns = res.namespaced ? body.metadata.namespace : undefined;
    const k = this.key(res, ns, body.metadata.name);
    const existing = this.store.get(k);
    const applied = clone(body) as Record<string, unknown>;
    delete (applied.metadata as Record<string, unknown>).resourceVersion;
    delete (applied.metadata as Record<string, unknown>).managedFields;
    delete applied.status;
    const appliedLeaves = leaves(applied);
    for (const p of ['.apiVersion', '.kind', '.metadata.name', '.metadata.namespace']) appliedLeaves.delete(p);

    if (res.validate) {
      const errs = res.validate(applied);
      if (errs.length > 0) {
        const name = body.metadata.name;
        return {
          error: status(422, 'Invalid', `${res.kind}.${res.group} "${name}" is invalid: ${errs.join(', ')}`, {
            name,
            group: res.group,
            kind: res.kind,
            causes: errs.map((m) => ({ reason: 'FieldValueInvalid', message: m })),
          }),
        };
      }
    }

    const owners = new Map(existing?.owners ?? []);
    if (existing) {
      const conflicts: string[] = [];
      const conflictManagers = new Set<string>();
      for (const [p, v] of appliedLeaves) {
        const owner = owners.get(p);
        if (owner && owner !== manager && !equalJson(getPath(existing.obj, p), v)) {
          conflicts.push(p);
          conflictManagers.add(owner);
        }
      }
      if (conflicts.length > 0 && !force) {
        const n = conflicts.length;
        return {
          error: status(
            409,
            'Conflict',
            `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${conflicts.map((p) => `conflict with "${owners.get(p)}": ${p}`).join(', ')}`,
            { causes: conflicts.map((p) => ({ reason: 'FieldManagerConflict', message: `conflict with "${owners.get(p)}"`, field: p })) },
          ),
        };
      }
    }

    // Start from what is there, drop what this manager no longer applies, then lay the new intent on top.
    let next: Record<string, unknown> = existing ? clone(existing.obj) : {};
    if (existing) {
      for (const [p, m] of [...owners]) {
        if (m === manager && !appliedLeaves.has(p)) {
          deletePath(next, p);
          owners.delete(p);
        }
      }
    }
    next = merge(next, applied);
    for (const p of appliedLeaves.keys()) owners.set(p, manager);

    const strip = (o: unknown) => {
      const c = clone(o) as Obj;
      delete c.metadata.resourceVersion;
      delete c.metadata.generation;
      return c;
    };
    if (existing && equalJson(strip(existing.obj), strip(next))) {
      existing.owners = owners;
      return { obj: clone(existing.obj), changed: false };
    }
    const obj = next as Obj;
    if (!existing) {
      obj.metadata.uid = `uid-${this.rv + 1}`;
      obj.metadata.creationTimestamp = new Date().toISOString();
      obj.metadata.generation = 1;
    } else if (!equalJson(existing.obj.spec, obj.spec)) {
      obj.metadata.generation = (existing.obj.metadata.generation ?? 1) + 1;
    }
    this.store.set(k, { obj, owners });
    this.bump(obj, existing ? 'MODIFIED' : 'ADDED');
    if (res.kind === 'CustomResourceDefinition') {
      this.registerCrd(obj);
      if (this.holdEstablish) {
        this.heldCrds.add(k);
      } else {
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.establish(k);
        }, this.establishDelayMs);
        this.timers.add(t);
      }
    }
    return { obj: clone(obj), changed: true, created: !existing };
  }

  /** Marks every CRD applied while holdEstablish was set as Established; returns how many. */
  establishHeld(): number {
    const held = [...this.heldCrds];
    this.heldCrds.clear();
    for (const k of held) this.establish(k);
    return held.length;
  }

  private establish(k: string): void {
    const s = this.store.get(k);
    if (!s) return;
    const now = new Date().toISOString();
    s.obj.status = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', lastTransitionTime: now },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', lastTransitionTime: now },
      ],
    };
    this.bump(s.obj, 'MODIFIED');
  }

  private discovery(path: string): unknown | undefined {
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    if (path === '/apis') {
      const groups = [...new Set(this.resources.filter((r) => r.group).map((r) => r.group))];
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((g) => {
          const versions = [...new Set(this.resources.filter((r) => r.group === g).map((r) => r.version))].map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
          return { name: g, versions, preferredVersion: versions[0] };
        }),
      };
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (!m) return undefined;
    const group = m[1] ? '' : m[2]!;
    const version = m[1] ?? m[3]!;
    const list = this.resources.filter((r) => r.group === group && r.version === version);
    if (list.length === 0) return null;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: list.map((r) => ({ name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'list', 'watch', 'patch'] })),
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const record: RequestRecord = { method: req.method ?? '', path: url.pathname, query, contentType: req.headers['content-type'], completed: false };
    this.requests.push(record);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const reply = (code: number, payload: unknown) => {
      record.status = code;
      record.completed = true;
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (!this.certAuthenticated(req) && req.headers.authorization !== 'Bearer fake-token') return reply(401, status(401, 'Unauthorized', 'Unauthorized'));
    const view = this.clusterView(record.method, url.pathname);
    if (view) {
      if (typeof view.body === 'string') {
        record.status = view.code;
        record.completed = true;
        res.writeHead(view.code, { 'content-type': 'text/plain' });
        res.end(view.body);
        return;
      }
      return reply(view.code, view.body);
    }

    const disc = this.discovery(url.pathname);
    if (disc !== undefined) {
      if (disc === null) return reply(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return reply(200, disc);
    }

    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return reply(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const group = m[1] ? '' : m[2]!;
    const version = m[1] ?? m[3]!;
    const ns = m[4];
    const plural = m[5]!;
    const name = m[6];
    const info = this.resources.find((r) => r.group === group && r.version === version && r.plural === plural);
    if (!info) return reply(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const apiVersion = group ? `${group}/${version}` : version;

    if (req.method === 'GET' && !name) {
      const selector = this.parseSelector(query.labelSelector);
      if (query.watch === 'true' || query.watch === '1') return this.startWatch(info, ns, selector, query, req, res, record);
      const items = [...this.store.values()]
        .map((s) => s.obj)
        .filter((o) => o.kind === info.kind && (!ns || o.metadata.namespace === ns) && this.selects(selector, o))
        .map((o) => ({ ...clone(o), apiVersion }));
      return reply(200, { apiVersion, kind: `${info.kind}List`, metadata: { resourceVersion: String(this.rv) }, items });
    }
    if (req.method === 'GET' && name) {
      const injected = this.errors.find((e) => e.match('GET', { kind: info.kind, name: name!, namespace: ns }));
      if (injected) return reply(injected.error.code, status(injected.error.code, injected.error.reason, injected.error.message));
      const s = this.store.get(this.key(info, info.namespaced ? ns : undefined, name));
      if (!s) return reply(404, status(404, 'NotFound', `${info.plural}${info.group ? `.${info.group}` : ''} "${name}" not found`, { name, group: info.group, kind: info.plural }));
      return reply(200, { ...clone(s.obj), apiVersion });
    }
    if (req.method === 'PATCH' && name) {
      if (record.contentType !== 'application/apply-patch+yaml') {
        return reply(415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml`));
      }
      if (!query.fieldManager) return reply(422, status(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'));
      let obj: Obj;
      try {
        obj = parse(body) as Obj;
      } catch (err) {
        return reply(400, status(400, 'BadRequest', `error decoding YAML: ${(err as Error).message}`));
      }
      if (obj.apiVersion !== apiVersion || obj.kind !== info.kind) return reply(400, status(400, 'BadRequest', `apiVersion/kind ${obj.apiVersion}/${obj.kind} does not match the URL`));
      if (obj.metadata?.name !== name) return reply(400, status(400, 'BadRequest', 'the name of the object does not match the name on the URL'));
      if (info.namespaced) {
        if (obj.metadata.namespace && obj.metadata.namespace !== ns) return reply(400, status(400, 'BadRequest', 'the namespace of the object does not match the namespace on the URL'));
        obj.metadata.namespace = ns;
      }
      if (this.writeDelayMs > 0) await new Promise((r) => setTimeout(r, this.writeDelayMs));
      if (this.beforeWrite) await this.beforeWrite({ kind: info.kind, name, namespace: ns });
      const injected = this.errors.find((e) => e.match('PATCH', { kind: info.kind, name, namespace: ns }));
      if (injected) return reply(injected.error.code, status(injected.error.code, injected.error.reason, injected.error.message));
      if (info.namespaced && !this.store.get(this.key(this.resources[0]!, undefined, ns!))) {
        return reply(404, status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }));
      }
      const r = this.doApply(info, obj, query.fieldManager, query.force === 'true');
      if ('error' in r) return reply(r.error.code, r.error);
      return reply(r.created ? 201 : 200, { ...r.obj, apiVersion });
    }
    return reply(405, status(405, 'MethodNotAllowed', `${req.method} is not supported by this test double`));
  }

  private startWatch(
    info: ResourceInfo,
    ns: string | undefined,
    selector: [string, string][],
    query: Record<string, string>,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: RequestRecord,
  ): void {
    record.status = 200;
    record.completed = true;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = Number(query.resourceVersion ?? '0');
    const w = { res: info, ns, selector, res_: res };
    if (query.resourceVersion && from < this.compactedRv) {
      res.write(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`) }) + '\n');
      res.end();
      return;
    }
    for (const e of this.events) if (e.rv > from) this.send(w, e);
    this.watchers.add(w);
    let bookmark: NodeJS.Timeout | undefined;
    if (query.allowWatchBookmarks === 'true') {
      bookmark = setInterval(() => {
        const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
        res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: info.kind, apiVersion, metadata: { resourceVersion: String(this.rv) } } }) + '\n');
      }, this.bookmarkMs);
    }
    const timeout = query.timeoutSeconds ? setTimeout(() => res.end(), Number(query.timeoutSeconds) * 1000) : undefined;
    const cleanup = () => {
      clearInterval(bookmark);
      clearTimeout(timeout);
      this.watchers.delete(w);
    };
    res.on('close', cleanup);
    req.on('close', cleanup);
  }
}

/**
 * A stand-in for Flux's helm-controller, driving the double: a HelmRelease turns Ready once every
 * release it depends on is Ready; releases named in `fail` end InstallFailed + Stalled instead.
 * It records the order releases became Ready.
 */
export class FakeHelmController {
  readonly readyOrder: string[] = [];
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly api: FakeKubeApiServer,
    private readonly opts: { tickMs?: number; fail?: Set<string>; hold?: Set<string> } = {},
  ) {}

  start(): this {
    this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 30);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Ready for the object's current generation (a spec change makes it reconcile again). */
  private isReady(o: Obj | undefined): boolean {
    const conds = ((o?.status as { conditions?: { type: string; status: string; observedGeneration?: number }[] })?.conditions ?? []);
    return conds.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === o!.metadata.generation);
  }

  /** One reconcile round: each release whose dependencies were Ready at the start of the round. */
  tick(): void {
    const all = this.api.objects('HelmRelease');
    const readyAtStart = new Set(all.filter((o) => this.isReady(o)).map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
    for (const hr of all) {
      const k = `${hr.metadata.namespace}/${hr.metadata.name}`;
      if (readyAtStart.has(k) || this.opts.hold?.has(hr.metadata.name)) continue;
      const deps = ((hr.spec as { dependsOn?: { name: string; namespace?: string }[] }).dependsOn ?? []).map((d) => `${d.namespace ?? hr.metadata.namespace}/${d.name}`);
      const gen = hr.metadata.generation;
      const now = new Date().toISOString();
      if (!deps.every((d) => readyAtStart.has(d))) {
        const waiting = deps.filter((d) => !readyAtStart.has(d));
        this.api.setStatus('HelmRelease', hr.metadata.name, hr.metadata.namespace, {
          observedGeneration: gen,
          conditions: [{ type: 'Ready', status: 'False', reason: 'DependencyNotReady', message: `dependency '${waiting[0]}' is not ready`, observedGeneration: gen, lastTransitionTime: now }],
        });
        continue;
      }
      if (this.opts.fail?.has(hr.metadata.name)) {
        this.api.setStatus('HelmRelease', hr.metadata.name, hr.metadata.namespace, {
          observedGeneration: gen,
          installFailures: 4,
          conditions: [
            { type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'Helm install failed for release x: context deadline exceeded', observedGeneration: gen, lastTransitionTime: now },
            { type: 'Stalled', status: 'True', reason: 'RetriesExceeded', message: 'Failed to install after 3 attempt(s)', observedGeneration: gen, lastTransitionTime: now },
          ],
        });
        continue;
      }
      this.api.setStatus('HelmRelease', hr.metadata.name, hr.metadata.namespace, {
        observedGeneration: gen,
        conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'Release reconciliation succeeded', observedGeneration: gen, lastTransitionTime: now }],
      });
      this.readyOrder.push(hr.metadata.name);
    }
  }
}
