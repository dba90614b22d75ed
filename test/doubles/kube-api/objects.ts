/**
 * The write paths of the double, each as the real server takes it: server-side apply, create
 * (POST), update (PUT), merge / JSON / strategic merge patch, the status subresource, and DELETE
 * (finalizers, namespace termination). Every write honours dryRun=All, prunes unknown fields
 * (fieldValidation Strict refuses them, Warn reports them), validates custom resources against their
 * schema, keeps managedFields, bumps generation only for changes outside metadata (and status where
 * a status subresource exists), and refuses to create in a missing (404) or terminating (403)
 * namespace.
 */
import { randomUUID } from 'node:crypto';
import { apply, update, type Conflict, type ManagerEntry } from './apply.js';
import { pathString } from './fieldpath.js';
import type { Registry } from './registry.js';
import { prune } from './schema.js';
import type { Store, Stored } from './store.js';
import { ApiError, apiVersionOf, clone, equalJson, groupResource, isObj, notFound, status, type Obj, type ResourceInfo } from './types.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  dryRun: boolean;
  fieldManager?: string;
  fieldValidation: FieldValidation;
  force?: boolean;
  subresource?: 'status';
}

export interface WriteResult {
  obj: Obj;
  code: number;
  warnings: string[];
}

const SYSTEM = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink'];

/** The object as field ownership sees it: no apiVersion/kind/name/namespace, no system metadata. */
function fieldsView(o: Obj | Record<string, unknown>): Record<string, unknown> {
  const c = clone(o) as Record<string, unknown>;
  delete c.apiVersion;
  delete c.kind;
  if (isObj(c.metadata)) {
    for (const k of ['name', 'namespace', ...SYSTEM]) delete c.metadata[k];
    if (Object.keys(c.metadata).length === 0) delete c.metadata;
  }
  return c;
}

const gvk = (r: ResourceInfo) => `${r.group}/${r.version}, Kind=${r.kind}`;

function printManager(m: ManagerEntry): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  return m.operation === 'Update' ? `${s} using ${m.apiVersion}` : s;
}

/** kube-apiserver's 409 for apply conflicts (message grouped by manager, one cause per field). */
export function conflictError(conflicts: Conflict[]): ApiError {
  const causes = conflicts.map((c) => ({ type: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) }));
  let message: string;
  if (conflicts.length === 1) message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.manager)}: ${pathString(conflicts[0]!.path)}`;
  else {
    const by = new Map<string, string[]>();
    for (const c of conflicts) by.set(printManager(c.manager), [...(by.get(printManager(c.manager)) ?? []), pathString(c.path)]);
    const lines = [...by.keys()].sort().flatMap((m) => [`conflicts with ${m}:`, ...by.get(m)!.map((p) => `- ${p}`)]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(status(409, 'Conflict', message, { causes }));
}

export class Objects {
  /** Called after a namespace is marked for deletion (the namespace controller takes over). */
  onNamespaceTerminating: (name: string) => void = () => {};
  /** Called after a CRD is created, changed or deleted. */
  onCrd: (crd: Obj, deleted: boolean) => void = () => {};

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
  ) {}

  /** Prunes and validates a write's body; returns the warnings for unknown fields. */
  private admit(res: ResourceInfo, body: Obj, opts: WriteOptions, applyPatch: boolean): string[] {
    const unknown = prune(body, res.shape);
    if (unknown.length > 0 && opts.fieldValidation === 'Strict') {
      const msg = applyPatch
        ? `failed to create typed patch object (${body.metadata.namespace ?? ''}/${body.metadata.name}; ${gvk(res)}): ${unknown.map((p) => `.${p}: field not declared in schema`).join(', ')}`
        : `strict decoding error: ${unknown.map((p) => `unknown field "${p}"`).join(', ')}`;
      throw new ApiError(status(400, 'BadRequest', msg));
    }
    if (res.validate) {
      const errs = res.validate(fieldsViewForSchema(body));
      if (errs.length > 0) {
        const name = body.metadata.name;
        throw new ApiError(
          status(422, 'Invalid', `${res.kind}.${res.group} "${name}" is invalid: ${errs.join(', ')}`, {
            name,
            group: res.group,
            kind: res.kind,
            causes: errs.map((m) => ({ reason: 'FieldValueInvalid', message: m })),
          }),
        );
      }
    }
    return opts.fieldValidation === 'Warn' ? unknown.map((p) => `unknown field "${p}"`) : [];
  }

  /** Creating in a namespace needs the namespace, alive. */
  private checkNamespace(res: ResourceInfo, ns: string | undefined, name: string): void {
    if (!res.namespaced) return;
    const n = this.store.get(this.registry.namespaces, undefined, ns!);
    if (!n) throw new ApiError(status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }));
    if (n.obj.metadata.deletionTimestamp) {
      throw new ApiError(
        status(403, 'Forbidden', `${groupResource(res)} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, {
          name,
          ...(res.group ? { group: res.group } : {}),
          kind: res.plural,
          causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }],
        }),
      );
    }
  }

  private checkBody(res: ResourceInfo, body: unknown, ns: string | undefined, name: string | undefined): Obj {
    if (!isObj(body) || !isObj(body.metadata)) throw new ApiError(status(400, 'BadRequest', 'Object \'metadata\' is missing'));
    const o = clone(body) as Obj;
    if (o.apiVersion !== apiVersionOf(res) || o.kind !== res.kind) {
      throw new ApiError(status(400, 'BadRequest', `the API version in the data (${o.apiVersion}) does not match the expected API version (${apiVersionOf(res)})`));
    }
    if (name !== undefined && o.metadata.name !== undefined && o.metadata.name !== name) throw new ApiError(status(400, 'BadRequest', 'the name of the object does not match the name on the URL'));
    if (name !== undefined) o.metadata.name = name;
    if (res.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== ns) throw new ApiError(status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
      o.metadata.namespace = ns;
    } else delete o.metadata.namespace;
    return o;
  }

  apply(res: ResourceInfo, ns: string | undefined, name: string, body: unknown, opts: WriteOptions): WriteResult {
    if (!opts.fieldManager) throw new ApiError(status(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'));
    const o = this.checkBody(res, body, ns, name);
    const live = this.store.get(res, ns, name);
    const warnings = this.admit(res, o, opts, true);
    if (!live) this.checkNamespace(res, ns, name);
    let cfg = fieldsView(o);
    if (opts.subresource === 'status') cfg = o.status === undefined ? {} : { status: o.status };
    else if (res.statusSubresource) delete cfg.status;
    const me = { manager: opts.fieldManager, operation: 'Apply' as const, apiVersion: apiVersionOf(res), time: now(), ...(opts.subresource ? { subresource: opts.subresource } : {}) };
    const r = apply(live ? fieldsView(live.obj) : {}, cfg, res.shape, live?.managers ?? [], me, !!opts.force);
    if ('conflicts' in r) throw conflictError(r.conflicts);
    return { ...this.commit(res, live, r.value, r.managers, ns, name, opts), warnings };
  }

  /** POST (create) and PUT (update, or create when absent is not allowed: 404). */
  write(method: 'create' | 'update', res: ResourceInfo, ns: string | undefined, name: string | undefined, body: unknown, opts: WriteOptions): WriteResult {
    const o = this.checkBody(res, body, ns, name);
    if (!o.metadata.name && typeof o.metadata.generateName === 'string') o.metadata.name = `${o.metadata.generateName}${randomUUID().slice(0, 5)}`;
    if (!o.metadata.name) throw new ApiError(status(422, 'Invalid', `${res.kind} "" is invalid: metadata.name: Required value: name or generateName is required`));
    const live = this.store.get(res, ns, o.metadata.name);
    if (method === 'create' && live) {
      throw new ApiError(status(409, 'AlreadyExists', `${groupResource(res)} "${o.metadata.name}" already exists`, { name: o.metadata.name, ...(res.group ? { group: res.group } : {}), kind: res.plural }));
    }
    if (method === 'update' && !live) throw notFound(res, o.metadata.name);
    if (live && o.metadata.resourceVersion && o.metadata.resourceVersion !== live.obj.metadata.resourceVersion) {
      throw new ApiError(
        status(409, 'Conflict', `Operation cannot be fulfilled on ${groupResource(res)} "${o.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`, {
          name: o.metadata.name,
          ...(res.group ? { group: res.group } : {}),
          kind: res.plural,
        }),
      );
    }
    return this.replace(res, live, o, ns, opts, method === 'create' ? 201 : 200);
  }

  /** PATCH (not apply): the patched object replaces the live one. */
  patch(res: ResourceInfo, ns: string | undefined, name: string, fn: (live: Obj) => unknown, opts: WriteOptions): WriteResult {
    const live = this.store.get(res, ns, name);
    if (!live) throw notFound(res, name);
    const patched = fn(clone(live.obj));
    const o = this.checkBody(res, patched, ns, name);
    return this.replace(res, live, o, ns, opts, 200);
  }

  private replace(res: ResourceInfo, live: Stored | undefined, o: Obj, ns: string | undefined, opts: WriteOptions, code: number): WriteResult {
    const warnings = this.admit(res, o, opts, false);
    if (!live) this.checkNamespace(res, ns, o.metadata.name);
    const liveView = live ? fieldsView(live.obj) : {};
    let next = fieldsView(o);
    if (opts.subresource === 'status') next = { ...liveView, ...(o.status === undefined ? {} : { status: o.status }) };
    else if (res.statusSubresource) {
      if (liveView.status === undefined) delete next.status;
      else next.status = liveView.status;
    }
    if (opts.subresource === 'status' && liveView.status === undefined && o.status === undefined) delete next.status;
    const me = { manager: opts.fieldManager ?? 'unknown', operation: 'Update' as const, apiVersion: apiVersionOf(res), time: now(), ...(opts.subresource ? { subresource: opts.subresource } : {}) };
    const managers = update(liveView, next, res.shape, live?.managers ?? [], me);
    return { ...this.commit(res, live, next, managers, ns, o.metadata.name, opts, code), warnings };
  }

  /** Stores the result of a write (unless it changes nothing, or is a dry run). */
  private commit(res: ResourceInfo, live: Stored | undefined, value: Record<string, unknown>, managers: ManagerEntry[], ns: string | undefined, name: string, opts: WriteOptions, code?: number): { obj: Obj; code: number } {
    const meta = isObj(value.metadata) ? value.metadata : {};
    const system = live ? Object.fromEntries(SYSTEM.filter((k) => live.obj.metadata[k] !== undefined).map((k) => [k, live.obj.metadata[k]])) : {};
    const obj = { apiVersion: apiVersionOf(res), kind: res.kind, ...value, metadata: { name, ...(res.namespaced ? { namespace: ns } : {}), ...system, ...meta } } as Obj;
    if (res.kind === 'Namespace') {
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': name };
      if (!live) {
        obj.spec = { finalizers: ['kubernetes'], ...(obj.spec as object) };
        obj.status = { phase: 'Active' };
      }
    }
    const sameManagers = live && live.managers.length === managers.length && managers.every((m) => live.managers.some((l) => l.manager === m.manager && l.operation === m.operation && l.set.equals(m.set)));
    if (live) {
      const strip = (x: Obj) => ({ ...fieldsView(x), n: x.metadata.name });
      if (equalJson(strip(live.obj), strip(obj)) && sameManagers) return { obj: clone(live.obj), code: 200 };
    }
    if (!live) {
      obj.metadata.uid = randomUUID();
      obj.metadata.creationTimestamp = now();
      if (res.generation) obj.metadata.generation = 1;
    } else if (res.generation) {
      const body = (x: Obj) => {
        const c = clone(x) as Record<string, unknown>;
        delete c.metadata;
        if (res.statusSubresource) delete c.status;
        return c;
      };
      obj.metadata.generation = (live.obj.metadata.generation ?? 1) + (equalJson(body(live.obj), body(obj)) ? 0 : 1);
    }
    obj.metadata.managedFields = managers.map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsType: 'FieldsV1',
      fieldsV1: m.set.toFieldsV1(),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    }));
    if (opts.dryRun) return { obj: clone(obj), code: code ?? (live ? 200 : 201) };
    if (live?.obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0 && res.kind !== 'Namespace') {
      this.store.remove({ res, obj, managers });
      return { obj: clone(obj), code: 200 };
    }
    const stored = this.store.put({ res, obj, managers });
    if (res.kind === 'CustomResourceDefinition') this.onCrd(obj, false);
    return { obj: stored, code: code ?? (live ? 200 : 201) };
  }

  /** DELETE: gone at once, or marked (deletionTimestamp) while finalizers remain; namespaces terminate. */
  delete(res: ResourceInfo, ns: string | undefined, name: string, body: unknown, opts: Pick<WriteOptions, 'dryRun'>): { code: number; body: unknown } {
    const live = this.store.get(res, ns, name);
    if (!live) throw notFound(res, name);
    const pre = isObj(body) && isObj(body.preconditions) ? body.preconditions : {};
    if ((pre.uid && pre.uid !== live.obj.metadata.uid) || (pre.resourceVersion && pre.resourceVersion !== live.obj.metadata.resourceVersion)) {
      throw new ApiError(status(409, 'Conflict', `Operation cannot be fulfilled on ${groupResource(res)} "${name}": Precondition failed: UID in precondition: ${String(pre.uid)}, UID in object meta: ${String(live.obj.metadata.uid)}`));
    }
    const marked = clone(live.obj);
    marked.metadata.deletionTimestamp ??= now();
    marked.metadata.deletionGracePeriodSeconds ??= 0;
    if (res.kind === 'Namespace') {
      marked.status = { ...(marked.status as object), phase: 'Terminating' };
      if (opts.dryRun) return { code: 200, body: marked };
      const stored = live.obj.metadata.deletionTimestamp ? clone(live.obj) : this.store.put({ ...live, obj: marked });
      this.onNamespaceTerminating(name);
      return { code: 200, body: stored };
    }
    if ((live.obj.metadata.finalizers ?? []).length > 0) {
      if (opts.dryRun) return { code: 200, body: marked };
      return { code: 200, body: live.obj.metadata.deletionTimestamp ? clone(live.obj) : this.store.put({ ...live, obj: marked }) };
    }
    if (!opts.dryRun) {
      if (res.kind === 'CustomResourceDefinition') {
        // the CRD's custom resources go with it (what its cleanup finalizer does)
        const spec = live.obj.spec as { group: string; names: { plural: string } };
        for (const s of this.store.all()) if (s.res.custom && s.res.group === spec.group && s.res.plural === spec.names.plural) this.store.remove(s);
      }
      this.store.remove(live);
      if (res.kind === 'CustomResourceDefinition') this.onCrd(live.obj, true);
    }
    return { code: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...(res.group ? { group: res.group } : {}), kind: res.plural, uid: live.obj.metadata.uid } } };
  }

  /**
   * The namespace controller's pass over a terminating namespace: deletes what is in it; removes
   * the namespace once nothing is left. Returns true when the namespace is gone.
   */
  finalizeNamespace(name: string): boolean {
    const n = this.store.get(this.registry.namespaces, undefined, name);
    if (!n) return true;
    const inside = this.store.all().filter((s) => s.res.namespaced && s.obj.metadata.namespace === name);
    for (const s of inside) {
      if (!s.obj.metadata.deletionTimestamp || (s.obj.metadata.finalizers ?? []).length === 0) this.delete(s.res, name, s.obj.metadata.name, undefined, { dryRun: false });
    }
    if (this.store.all().some((s) => s.res.namespaced && s.obj.metadata.namespace === name)) return false;
    this.store.remove(n);
    return true;
  }
}

/** What an openAPIV3Schema validates: the object without server-set metadata. */
function fieldsViewForSchema(o: Obj): unknown {
  const c = clone(o);
  for (const k of SYSTEM) delete c.metadata[k];
  return c;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
