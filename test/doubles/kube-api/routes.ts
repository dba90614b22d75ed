/**
 * The HTTP surface: health and version endpoints, discovery and OpenAPI, then the resource paths
 * (/api/v1/..., /apis/GROUP/VERSION/..., with namespaces and the status subresource): GET, LIST
 * (label and field selectors, limit/continue), WATCH, POST, PUT, PATCH (apply, merge, JSON,
 * strategic merge) and DELETE, each authenticated and authorized first.
 */
import type http from 'node:http';
import { parse } from 'yaml';
import { allowed, authenticate, forbidden, unauthorized, type RbacRule, type UserInfo } from './auth.js';
import { aggregated, AGGREGATED_TYPE, discovery, openapiV2, openapiV3Doc, openapiV3Root, VERSION, wantsAggregated } from './discovery.js';
import type { FieldValidation, Objects, WriteOptions } from './objects.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import type { Registry } from './registry.js';
import { fieldSelector, labelSelector } from './selectors.js';
import { accessReviewAttributes, unwrap } from './protobuf.js';
import type { Store } from './store.js';
import { table, wantsTable } from './table.js';
import { ApiError, apiVersionOf, clone, isObj, notFound, status, type InjectedError, type Obj, type RequestRecord, type ResourceInfo } from './types.js';
import type { Watches } from './watch.js';

export interface RouteContext {
  store: Store;
  registry: Registry;
  objects: Objects;
  watches: Watches;
  tokens: Map<string, UserInfo>;
  rbac?: RbacRule[];
  requests: RequestRecord[];
  errors: { match: (method: string, obj: { kind: string; name: string; namespace?: string }) => boolean; error: InjectedError }[];
  writeDelayMs: number;
  beforeWrite?: (obj: { kind: string; name: string; namespace?: string }) => Promise<void> | void;
  /** /readyz and the Node list answered from a cluster view, when the test gives one. */
  clusterView(method: string, pathname: string): { code: number; body: unknown } | undefined;
}

interface ResourcePath {
  group: string;
  version: string;
  ns?: string;
  plural: string;
  name?: string;
  sub?: 'status';
}

/** Splits /api/v1/[namespaces/NS/]PLURAL[/NAME[/status]] and /apis/GROUP/VERSION/... */
function resourcePath(p: string): ResourcePath | undefined {
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/.exec(p);
  if (!m) return undefined;
  const group = m[1] ? '' : m[2]!;
  const version = m[1] ?? m[3]!;
  let parts = m[4]!.split('/');
  let ns: string | undefined;
  // namespaces/NS followed by more is a namespaced path; namespaces/NAME[/status] is the Namespace
  if (parts[0] === 'namespaces' && parts.length >= 3 && !(parts.length === 3 && parts[2] === 'status' && group === '')) {
    ns = parts[1];
    parts = parts.slice(2);
  }
  if (parts.length > 3 || (parts.length === 3 && parts[2] !== 'status')) return undefined;
  return { group, version, ns, plural: parts[0]!, name: parts[1], sub: parts[2] === 'status' ? 'status' : undefined };
}

const VALIDATION: Record<string, FieldValidation> = { Strict: 'Strict', Warn: 'Warn', Ignore: 'Ignore' };

export async function handle(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const query = Object.fromEntries(url.searchParams);
  const method = req.method ?? 'GET';
  const record: RequestRecord = { method, path: url.pathname, query, contentType: req.headers['content-type'], completed: false };
  ctx.requests.push(record);
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const reply = (code: number, payload: unknown, headers: Record<string, string> = {}) => {
    record.status = code;
    record.completed = true;
    const text = typeof payload === 'string';
    res.writeHead(code, { 'content-type': text ? 'text/plain; charset=utf-8' : 'application/json', ...headers });
    res.end(text ? payload : JSON.stringify(payload));
  };
  try {
    const user = authenticate(req, ctx.tokens);
    if (!user) throw unauthorized();
    record.user = user.name;
    const view = ctx.clusterView(method, url.pathname);
    if (view) return reply(view.code, view.body);
    if (method === 'GET') {
      const fixed = fixedPath(ctx, url.pathname, req.headers.accept ?? '');
      if (fixed !== undefined) return reply(fixed.code, fixed.body, fixed.type ? { 'content-type': fixed.type } : {});
    }
    const rp = resourcePath(url.pathname);
    const info = rp && ctx.registry.byPlural(rp.group, rp.version, rp.plural);
    if (!rp || !info || (rp.sub && !info.statusSubresource) || (rp.ns && !info.namespaced)) {
      throw new ApiError(status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const { name: objName, sub } = rp;
    const objNs = rp.ns;
    // authorization sees a Namespace's own name as its namespace, as kube-apiserver's request info does
    const authNs = info.kind === 'Namespace' ? objName : objNs;
    if (info.verbs?.length === 1 && info.verbs[0] === 'create') {
      if (method !== 'POST') throw new ApiError(status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
      const proto = unwrap(Buffer.concat(chunks));
      const attributes = proto ? { spec: { resourceAttributes: accessReviewAttributes(proto) } } : decode(body || '{}');
      return reply(201, review(ctx, info, user, attributes));
    }
    const watching = query.watch === 'true' || query.watch === '1';
    const verb = verbOf(method, objName, watching);
    const attributes = { verb, group: info.group, plural: info.plural, subresource: sub, namespace: authNs, name: objName };
    if (!allowed(ctx.rbac, user, attributes)) throw forbidden(user, attributes);
    const injected = objName ? ctx.errors.find((e) => e.match(method, { kind: info.kind, name: objName, namespace: objNs })) : undefined;
    if (method === 'GET') {
      if (injected) throw new ApiError(status(injected.error.code, injected.error.reason, injected.error.message));
      if (objName) {
        const s = ctx.store.get(info, objNs, objName);
        if (!s) throw notFound(info, objName);
        if (wantsTable(req.headers.accept)) return reply(200, table(info, ctx.registry, [s.obj], s.obj.metadata.resourceVersion));
        return reply(200, { ...clone(s.obj), apiVersion: apiVersionOf(info) });
      }
      const selects = and(labelSelector(query.labelSelector), fieldSelector(query.fieldSelector));
      if (watching) {
        record.status = 200;
        record.completed = true;
        const timeoutSeconds = query.timeoutSeconds ? Number(query.timeoutSeconds) : undefined;
        const asTable = wantsTable(req.headers.accept) ? (o: Obj) => table(info, ctx.registry, [o], o.metadata.resourceVersion) : undefined;
        return ctx.watches.serve({ res: info, ns: objNs, selects, resourceVersion: query.resourceVersion, bookmarks: query.allowWatchBookmarks === 'true', timeoutSeconds, asTable }, req, res);
      }
      const l = list(ctx, info, objNs, selects, query);
      if (wantsTable(req.headers.accept)) return reply(200, table(info, ctx.registry, l.items, l.metadata.resourceVersion as string, l.metadata));
      return reply(200, l);
    }
    if (!objName && method !== 'POST') throw new ApiError(status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    const opts: WriteOptions = {
      dryRun: query.dryRun === 'All',
      fieldManager: query.fieldManager,
      fieldValidation: VALIDATION[query.fieldValidation ?? 'Warn'] ?? 'Warn',
      force: query.force === 'true',
      ...(sub ? { subresource: 'status' as const } : {}),
    };
    if (query.dryRun !== undefined && query.dryRun !== 'All') throw new ApiError(status(400, 'BadRequest', `dryRun: Unsupported value: "${query.dryRun}": supported values: "All"`));
    const target = { kind: info.kind, name: objName ?? '', namespace: objNs };
    if (ctx.writeDelayMs > 0) await new Promise((r) => setTimeout(r, ctx.writeDelayMs));
    if (ctx.beforeWrite) await ctx.beforeWrite(target);
    if (injected) throw new ApiError(status(injected.error.code, injected.error.reason, injected.error.message));
    const warn = (w: string[]) => (w.length ? { warning: w.map((x) => `299 - ${JSON.stringify(x)}`).join(', ') } : undefined);
    if (method === 'DELETE') {
      const options = body ? decode(body) : undefined;
      // kubectl sends DeleteOptions in the body, dryRun included
      const dryRun = opts.dryRun || (isObj(options) && Array.isArray(options.dryRun) && options.dryRun.includes('All'));
      const r = ctx.objects.delete(info, objNs, objName!, options, { dryRun });
      return reply(r.code, r.body);
    }
    if (method === 'POST' || method === 'PUT') {
      const r = ctx.objects.write(method === 'POST' ? 'create' : 'update', info, objNs, method === 'POST' ? undefined : objName, decode(body), opts);
      return reply(r.code, r.obj, warn(r.warnings));
    }
    if (method === 'PATCH') {
      const type = (record.contentType ?? '').split(';')[0]!.trim();
      if (type === 'application/apply-patch+yaml') {
        const r = ctx.objects.apply(info, objNs, objName!, decode(body), opts);
        return reply(r.code, r.obj, warn(r.warnings));
      }
      const patch = decode(body);
      let fn: ((live: Obj) => unknown) | undefined;
      if (type === 'application/merge-patch+json') fn = (live) => mergePatch(live, patch);
      else if (type === 'application/json-patch+json') fn = (live) => jsonPatch(live, patch);
      else if (type === 'application/strategic-merge-patch+json' && !info.custom) fn = (live) => strategicMergePatch(live, patch, info.shape);
      if (!fn) {
        throw new ApiError(status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${info.custom ? '' : ', application/strategic-merge-patch+json'}`));
      }
      const r = ctx.objects.patch(info, objNs, objName!, fn, { ...opts, fieldManager: opts.fieldManager ?? managerFromAgent(req) });
      return reply(r.code, r.obj, warn(r.warnings));
    }
    throw new ApiError(status(405, 'MethodNotAllowed', `${method} is not supported`));
  } catch (err) {
    if (err instanceof ApiError) return reply(err.body.code, err.body);
    return reply(500, status(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
  }
}

/** SelfSubjectAccessReview (may I?) and SelfSubjectReview (who am I?), as `kubectl auth can-i` and `whoami` ask. */
function review(ctx: RouteContext, info: ResourceInfo, user: UserInfo, body: unknown): unknown {
  const o = (isObj(body) ? clone(body) : {}) as { spec?: { resourceAttributes?: Record<string, string> } };
  if (info.kind === 'SelfSubjectReview') return { ...o, apiVersion: 'authentication.k8s.io/v1', kind: info.kind, status: { userInfo: { username: user.name, groups: user.groups } } };
  const a = (o.spec?.resourceAttributes ?? {}) as Record<string, string>;
  const ok = allowed(ctx.rbac, user, { verb: a.verb ?? '', group: a.group ?? '', plural: a.resource ?? '', subresource: a.subresource || undefined, namespace: a.namespace || undefined, name: a.name || undefined });
  return { ...o, apiVersion: 'authorization.k8s.io/v1', kind: info.kind, status: { allowed: ok, ...(ok ? { reason: 'allowed by the double\'s RBAC rules' } : {}) } };
}

const and =
  (...fs: ((o: Obj) => boolean)[]) =>
  (o: Obj) =>
    fs.every((f) => f(o));

function verbOf(method: string, name: string | undefined, watching: boolean): string {
  if (method === 'GET') return name ? 'get' : watching ? 'watch' : 'list';
  return { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' }[method] ?? method.toLowerCase();
}

/** A body as JSON or YAML (apply patches are YAML, a superset of JSON). */
function decode(body: string): unknown {
  try {
    return parse(body) as unknown;
  } catch (err) {
    throw new ApiError(status(400, 'BadRequest', `error decoding YAML: ${(err as Error).message.split('\n')[0]}`));
  }
}

/** kube-apiserver's default field manager for updates: the user agent up to the first "/". */
function managerFromAgent(req: http.IncomingMessage): string {
  return (req.headers['user-agent'] ?? 'unknown').split('/')[0]!.slice(0, 128);
}

interface Continue {
  rv: number;
  start: string;
}

/** A LIST page: items after the continue token's key, at most `limit`, a token when more remain. */
function list(ctx: RouteContext, info: ResourceInfo, ns: string | undefined, selects: (o: Obj) => boolean, query: Record<string, string>): { apiVersion: string; kind: string; metadata: Record<string, unknown>; items: Obj[] } {
  let token: Continue | undefined;
  if (query.continue) {
    try {
      token = JSON.parse(Buffer.from(query.continue, 'base64').toString('utf8')) as Continue;
    } catch {
      throw new ApiError(status(400, 'BadRequest', 'continue key is not valid: illegal base64 data'));
    }
    if (token.rv < ctx.store.compactedRv) {
      throw new ApiError(status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
    }
  }
  const all = ctx.store.list(info, ns).filter(({ key, s }) => (!token || key > token.start) && selects(s.obj));
  const limit = query.limit ? Number(query.limit) : 0;
  const page = limit > 0 ? all.slice(0, limit) : all;
  const rv = token?.rv ?? ctx.store.rv;
  const more = all.length - page.length;
  const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
  if (more > 0) {
    metadata.continue = Buffer.from(JSON.stringify({ rv, start: page.at(-1)!.key } satisfies Continue)).toString('base64');
    metadata.remainingItemCount = more;
  }
  const apiVersion = apiVersionOf(info);
  return { apiVersion, kind: `${info.kind}List`, metadata, items: page.map(({ s }) => ({ ...clone(s.obj), apiVersion, kind: info.kind })) };
}

/** Health, version, discovery and OpenAPI answers; undefined for other paths. */
function fixedPath(ctx: RouteContext, p: string, accept: string): { code: number; body: unknown; type?: string } | undefined {
  if (p === '/healthz' || p === '/livez' || p === '/readyz') return { code: 200, body: 'ok' };
  if (p === '/version') return { code: 200, body: VERSION };
  const served = ctx.registry.served;
  if (p === '/openapi/v2') {
    if (!/application\/json|\*\/\*/.test(accept) && accept !== '') return { code: 406, body: status(406, 'NotAcceptable', 'only application/json is served') };
    return { code: 200, body: openapiV2(served) };
  }
  const hash = String(served.length);
  if (p === '/openapi/v3') return { code: 200, body: openapiV3Root(served, hash) };
  if (p.startsWith('/openapi/v3/')) {
    const doc = openapiV3Doc(p, served, ctx.registry.crdSchemas);
    return doc ? { code: 200, body: doc } : { code: 404, body: status(404, 'NotFound', 'the server could not find the requested resource') };
  }
  if ((p === '/api' || p === '/apis') && wantsAggregated(accept)) return { code: 200, body: aggregated(p, served), type: AGGREGATED_TYPE };
  const d = discovery(p, served);
  if (d === undefined) return undefined;
  if (d === null) return { code: 404, body: status(404, 'NotFound', 'the server could not find the requested resource') };
  return { code: 200, body: d };
}
