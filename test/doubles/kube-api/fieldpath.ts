/**
 * Field paths and field sets as structured-merge-diff keeps them: a path is a list of elements,
 * each a field name (f:), a key of an associative-list item (k:), a value of a set-list (v:) or an
 * index (i:). Sets serialize to managedFields' fieldsV1 and paths print as in conflict messages
 * (`.spec.containers[name="app"].image`).
 */
import { sortKeys } from './types.js';

export type PathElement = { f: string } | { k: Record<string, unknown> } | { v: unknown } | { i: number };
export type FieldPath = PathElement[];

/** The element as a fieldsV1 key: f:name, k:{"name":"x"}, v:"x", i:0. */
export function elementKey(e: PathElement): string {
  if ('f' in e) return `f:${e.f}`;
  if ('k' in e) return `k:${JSON.stringify(sortKeys(e.k))}`;
  if ('v' in e) return `v:${JSON.stringify(e.v)}`;
  return `i:${e.i}`;
}

export function parseElementKey(key: string): PathElement {
  const body = key.slice(2);
  switch (key.slice(0, 2)) {
    case 'f:':
      return { f: body };
    case 'k:':
      return { k: JSON.parse(body) as Record<string, unknown> };
    case 'v:':
      return { v: JSON.parse(body) as unknown };
    case 'i:':
      return { i: Number(body) };
    default:
      throw new Error(`not a fieldsV1 key: ${key}`);
  }
}

/** A path as conflict messages print it. */
export function pathString(p: FieldPath): string {
  return p
    .map((e) => {
      if ('f' in e) return `.${e.f}`;
      if ('k' in e) return `[${Object.keys(e.k).sort().map((k) => `${k}=${JSON.stringify(e.k[k])}`).join(',')}]`;
      if ('v' in e) return `[=${JSON.stringify(e.v)}]`;
      return `[${e.i}]`;
    })
    .join('');
}

const SEP = '\u0001';
export const pathKey = (p: FieldPath): string => p.map(elementKey).join(SEP);

/** A set of field paths. */
export class FieldSet {
  private readonly m = new Map<string, FieldPath>();
  constructor(paths: Iterable<FieldPath> = []) {
    for (const p of paths) this.add(p);
  }
  add(p: FieldPath): this {
    this.m.set(pathKey(p), p);
    return this;
  }
  has(p: FieldPath): boolean {
    return this.m.has(pathKey(p));
  }
  get size(): number {
    return this.m.size;
  }
  paths(): FieldPath[] {
    return [...this.m.values()];
  }
  union(o: FieldSet): FieldSet {
    return new FieldSet([...this.paths(), ...o.paths()]);
  }
  minus(o: FieldSet): FieldSet {
    return new FieldSet(this.paths().filter((p) => !o.has(p)));
  }
  intersect(o: FieldSet): FieldSet {
    return new FieldSet(this.paths().filter((p) => o.has(p)));
  }
  equals(o: FieldSet): boolean {
    return this.size === o.size && this.paths().every((p) => o.has(p));
  }
  /** Some member lies strictly below p. */
  hasBelow(p: FieldPath): boolean {
    const prefix = pathKey(p) + SEP;
    for (const k of this.m.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  /** managedFields' fieldsV1: nested keys, "." marking a member that also has members below it. */
  toFieldsV1(): Record<string, unknown> {
    interface Node { member: boolean; children: Map<string, Node> }
    const root: Node = { member: false, children: new Map() };
    for (const p of this.m.values()) {
      let n = root;
      for (const e of p) {
        const k = elementKey(e);
        let c = n.children.get(k);
        if (!c) n.children.set(k, (c = { member: false, children: new Map() }));
        n = c;
      }
      n.member = true;
    }
    const render = (n: Node): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      if (n.member && n.children.size > 0) out['.'] = {};
      for (const k of [...n.children.keys()].sort()) out[k] = render(n.children.get(k)!);
      return out;
    };
    return render(root);
  }

  static fromFieldsV1(f: Record<string, unknown>): FieldSet {
    const set = new FieldSet();
    const walk = (node: Record<string, unknown>, prefix: FieldPath) => {
      for (const [k, v] of Object.entries(node)) {
        if (k === '.') {
          set.add(prefix);
          continue;
        }
        const p = [...prefix, parseElementKey(k)];
        const child = (v ?? {}) as Record<string, unknown>;
        if (Object.keys(child).length === 0) set.add(p);
        else walk(child, p);
      }
    };
    walk(f, []);
    return set;
  }
}
