/**
 * The COSI resources a Talos node double serves (cosi.resource.State), kept in a small versioned
 * store with watchers. Specs are rendered to YAML with Talos's field names (`yaml_spec`).
 */
import { EventEmitter } from 'node:events';
import { stringify } from 'yaml';

export interface StoredResource {
  namespace: string;
  type: string;
  id: string;
  version: number;
  yaml: string;
  created: Date;
  updated: Date;
}

export type StoreEvent = { type: 'CREATED' | 'UPDATED' | 'DESTROYED'; resource: StoredResource; old?: StoredResource };

const key = (ns: string, type: string, id: string) => `${ns}\u0000${type}\u0000${id}`;

export class ResourceStore {
  private readonly items = new Map<string, StoredResource>();
  readonly events = new EventEmitter();

  constructor(private readonly now: () => Date = () => new Date()) {
    this.events.setMaxListeners(0);
  }

  get(ns: string, type: string, id: string): StoredResource | undefined {
    return this.items.get(key(ns, type, id));
  }

  list(ns: string, type: string): StoredResource[] {
    return [...this.items.values()].filter((r) => r.namespace === ns && r.type === type).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Creates or updates (only when the spec changed) a resource. */
  put(ns: string, type: string, id: string, spec: unknown): void {
    this.putYaml(ns, type, id, stringify(spec));
  }

  /** Like put, with the spec already rendered (the machine config is served as its own text). */
  putYaml(ns: string, type: string, id: string, yaml: string): void {
    const k = key(ns, type, id);
    const old = this.items.get(k);
    if (old && old.yaml === yaml) return;
    const t = this.now();
    const r: StoredResource = { namespace: ns, type, id, yaml, version: (old?.version ?? 0) + 1, created: old?.created ?? t, updated: t };
    this.items.set(k, r);
    this.events.emit('event', old ? { type: 'UPDATED', resource: r, old } : { type: 'CREATED', resource: r });
  }

  /** Makes the set of resources of one kind exactly `specs` (by id). */
  replaceAll(ns: string, type: string, specs: Map<string, unknown>): void {
    for (const r of this.list(ns, type)) if (!specs.has(r.id)) this.remove(ns, type, r.id);
    for (const [id, spec] of specs) this.put(ns, type, id, spec);
  }

  remove(ns: string, type: string, id: string): void {
    const k = key(ns, type, id);
    const old = this.items.get(k);
    if (!old) return;
    this.items.delete(k);
    this.events.emit('event', { type: 'DESTROYED', resource: old });
  }
}

/** The resource on the wire (cosi.resource.Resource). */
export function wireResource(r: StoredResource): object {
  const ts = (d: Date) => ({ seconds: String(Math.floor(d.getTime() / 1000)), nanos: (d.getTime() % 1000) * 1e6 });
  return {
    metadata: {
      namespace: r.namespace,
      type: r.type,
      id: r.id,
      version: String(r.version),
      owner: '',
      phase: 'running',
      created: ts(r.created),
      updated: ts(r.updated),
      finalizers: [],
      labels: {},
      annotations: {},
    },
    spec: { proto_spec: Buffer.alloc(0), yaml_spec: r.yaml },
  };
}
