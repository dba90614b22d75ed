/**
 * The double's etcd: objects by resource and name, the field managers of each, one
 * resourceVersion counter, and the event history watches replay from (compactable).
 */
import type { ManagerEntry } from './apply.js';
import { apiVersionOf, clone, type Obj, type ResourceInfo, type WatchEvent } from './types.js';

export interface Stored {
  res: ResourceInfo;
  obj: Obj;
  managers: ManagerEntry[];
}

export class Store {
  private readonly objects = new Map<string, Stored>();
  readonly events: WatchEvent[] = [];
  rv = 100;
  /** Events at or below this resourceVersion are gone (410 Expired for watches starting there). */
  compactedRv = 0;
  private readonly listeners = new Set<(e: WatchEvent) => void>();

  static key(res: { group: string; plural: string }, ns: string | undefined, name: string): string {
    return `${res.group}/${res.plural}/${ns ?? ''}/${name}`;
  }

  get(res: ResourceInfo, ns: string | undefined, name: string): Stored | undefined {
    return this.objects.get(Store.key(res, res.namespaced ? ns : undefined, name));
  }

  /** Objects of a resource (all namespaces when ns is undefined), in key order (the order of pages). */
  list(res: ResourceInfo, ns?: string): { key: string; s: Stored }[] {
    return [...this.objects.entries()]
      .filter(([, s]) => s.res.group === res.group && s.res.plural === res.plural && (!ns || s.obj.metadata.namespace === ns))
      .map(([key, s]) => ({ key, s }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  all(): Stored[] {
    return [...this.objects.values()];
  }

  /** Stores a new or changed object, bumps the resourceVersion and tells the watchers. */
  put(s: Stored): Obj {
    const key = Store.key(s.res, s.obj.metadata.namespace, s.obj.metadata.name);
    const prev = this.objects.get(key)?.obj;
    const before = prev ? clone(prev) : undefined;
    this.objects.set(key, s);
    this.emit(s, before ? 'MODIFIED' : 'ADDED', before);
    return clone(s.obj);
  }

  remove(s: Stored): void {
    this.objects.delete(Store.key(s.res, s.obj.metadata.namespace, s.obj.metadata.name));
    this.emit(s, 'DELETED');
  }

  private emit(s: Stored, type: WatchEvent['type'], prev?: Obj): void {
    this.rv += 1;
    s.obj.metadata.resourceVersion = String(this.rv);
    const e: WatchEvent = { rv: this.rv, type, res: s.res, obj: { ...clone(s.obj), apiVersion: apiVersionOf(s.res) }, ...(prev ? { prev } : {}) };
    this.events.push(e);
    for (const l of this.listeners) l(e);
  }

  onEvent(fn: (e: WatchEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Forgets history up to the current resourceVersion (as etcd compaction does). */
  compact(rv = this.rv): void {
    this.compactedRv = rv;
    while (this.events.length > 0 && this.events[0]!.rv <= rv) this.events.shift();
  }
}
