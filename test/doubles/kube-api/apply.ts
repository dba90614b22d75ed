/**
 * Server-side apply over structured field sets, after structured-merge-diff's Updater:
 *  - an apply merges the configuration into the live object (maps field by field, associative
 *    lists item by item on their keys, atomic lists and scalars replaced);
 *  - fields that change and that another manager owns are conflicts (409) unless forced, when the
 *    other manager loses them;
 *  - the applier then owns exactly what it applied; fields it applied before and no longer does are
 *    removed unless another manager owns them;
 *  - other writes (create, update, merge or JSON patch) are "Update" operations: the writer gains
 *    what it changed, others lose it.
 */
import { childShape, type Shape } from './schema.js';
import { FieldSet, pathKey, type FieldPath, type PathElement } from './fieldpath.js';
import { clone, equalJson, isObj } from './types.js';

export interface ManagerEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  set: FieldSet;
}

export interface Conflict {
  manager: ManagerEntry;
  path: FieldPath;
}

interface Node {
  path: FieldPath;
  leaf: boolean;
  value: unknown;
  /** A map (additionalProperties), not a struct: an Update that creates it owns it too ("."). */
  map?: boolean;
}

const itemElement = (s: Shape, item: unknown): PathElement =>
  s.listType === 'map' ? { k: Object.fromEntries((s.keys ?? []).filter((k) => isObj(item) && item[k] !== undefined).map((k) => [k, (item as Record<string, unknown>)[k]])) } : { v: item };

const associative = (s: Shape): boolean => s.type === 'array' && (s.listType === 'map' || s.listType === 'set');

/**
 * Every node of a value (for comparisons) and the members of its field set (what an applier of
 * this value owns): leaves, associative-list items, map entries that are not declared fields, empty maps.
 */
export function walk(v: unknown, s: Shape, path: FieldPath = [], nodes = new Map<string, Node>(), members = new FieldSet()): { nodes: Map<string, Node>; members: FieldSet } {
  const leaf = () => {
    nodes.set(pathKey(path), { path, leaf: true, value: v });
    members.add(path);
  };
  if (isObj(v) && (s.type === 'object' || s.type === 'any')) {
    if (s.atomic) {
      leaf();
      return { nodes, members };
    }
    nodes.set(pathKey(path), { path, leaf: false, value: undefined, map: !!s.additional });
    for (const [k, x] of Object.entries(v)) {
      const c = childShape(s, k);
      if (!c) continue;
      const p = [...path, { f: k }];
      if (x === null || (isObj(x) && Object.keys(x).length === 0) || !c.declared) {
        members.add(p);
        if (x === null || (isObj(x) && Object.keys(x).length === 0)) {
          nodes.set(pathKey(p), { path: p, leaf: true, value: x });
          continue;
        }
      }
      walk(x, c.shape, p, nodes, members);
    }
    return { nodes, members };
  }
  if (Array.isArray(v) && associative(s)) {
    nodes.set(pathKey(path), { path, leaf: false, value: undefined });
    for (const item of v) {
      const p = [...path, itemElement(s, item)];
      members.add(p);
      if (s.listType === 'map') walk(item, s.items ?? { type: 'any' }, p, nodes, members);
      else nodes.set(pathKey(p), { path: p, leaf: true, value: item });
    }
    return { nodes, members };
  }
  leaf();
  return { nodes, members };
}

const sameItem = (s: Shape, a: unknown, b: unknown): boolean => equalJson(itemElement(s, a), itemElement(s, b));

/** The live value with the configuration merged in. */
export function merge(live: unknown, cfg: unknown, s: Shape): unknown {
  if (cfg === undefined) return clone(live);
  if (isObj(live) && isObj(cfg) && (s.type === 'object' || s.type === 'any') && !s.atomic) {
    const out: Record<string, unknown> = clone(live);
    for (const [k, x] of Object.entries(cfg)) {
      const c = childShape(s, k);
      out[k] = c ? merge(live[k], x, c.shape) : clone(x);
    }
    return out;
  }
  if (Array.isArray(live) && Array.isArray(cfg) && associative(s)) {
    const out = live.map((l) => {
      const c = cfg.find((x) => sameItem(s, l, x));
      return c === undefined ? clone(l) : s.listType === 'map' ? merge(l, c, s.items ?? { type: 'any' }) : clone(l);
    });
    for (const c of cfg) if (!live.some((l) => sameItem(s, l, c))) out.push(clone(c));
    return out;
  }
  return clone(cfg);
}

/** Removes the value at a path; containers emptied by the removal go too. */
export function removePath(root: Record<string, unknown>, path: FieldPath, s: Shape): void {
  const rec = (cur: unknown, i: number, shape: Shape): boolean => {
    const e = path[i]!;
    const last = i === path.length - 1;
    if (isObj(cur) && 'f' in e) {
      if (!(e.f in cur)) return false;
      if (last) delete cur[e.f];
      else {
        const c = childShape(shape, e.f);
        if (!rec(cur[e.f], i + 1, c?.shape ?? { type: 'any' })) return false;
        const child = cur[e.f];
        if ((isObj(child) && Object.keys(child).length === 0) || (Array.isArray(child) && child.length === 0)) delete cur[e.f];
      }
      return true;
    }
    if (Array.isArray(cur) && ('k' in e || 'v' in e)) {
      const idx = cur.findIndex((x) => equalJson(itemElement(shape, x), e));
      if (idx < 0) return false;
      if (last) cur.splice(idx, 1);
      else {
        if (!rec(cur[idx], i + 1, shape.items ?? { type: 'any' })) return false;
      }
      return true;
    }
    return false;
  };
  if (path.length > 0) rec(root, 0, s);
}

/** What changed from a to b: nodes added, removed, and leaves whose value differs. */
export function compare(a: unknown, b: unknown, s: Shape): { added: FieldSet; removed: FieldSet; modified: FieldSet } {
  const na = walk(a, s).nodes;
  const nb = walk(b, s).nodes;
  const added = new FieldSet();
  const removed = new FieldSet();
  const modified = new FieldSet();
  for (const [k, n] of nb) {
    const o = na.get(k);
    if (!o) added.add(n.path);
    else if ((n.leaf || o.leaf) && !equalJson(o.value, n.value)) modified.add(n.path);
  }
  for (const [k, n] of na) if (!nb.has(k)) removed.add(n.path);
  return { added, removed, modified };
}

const sameEntry = (a: ManagerEntry, b: Pick<ManagerEntry, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): boolean =>
  a.manager === b.manager && a.operation === b.operation && (a.subresource ?? '') === (b.subresource ?? '') && (a.operation === 'Apply' || a.apiVersion === b.apiVersion);

/** Conflicts of a change from live to next with the managers other than `me`. */
function conflictsOf(live: unknown, next: unknown, s: Shape, managers: ManagerEntry[], me: Pick<ManagerEntry, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): Conflict[] {
  const cmp = compare(live, next, s);
  const changed = cmp.modified.union(cmp.added);
  const out: Conflict[] = [];
  for (const m of managers) if (!sameEntry(m, me)) for (const p of m.set.intersect(changed).paths()) out.push({ manager: m, path: p });
  return out;
}

function withoutConflicts(managers: ManagerEntry[], conflicts: Conflict[]): ManagerEntry[] {
  return managers.map((m) => {
    const lost = new FieldSet(conflicts.filter((c) => c.manager === m).map((c) => c.path));
    return lost.size ? { ...m, set: m.set.minus(lost) } : m;
  });
}

export interface ApplyResult {
  value: Record<string, unknown>;
  managers: ManagerEntry[];
}

/**
 * Server-side apply of `cfg` (already pruned, system fields stripped) onto `live` by `manager`.
 * Returns the conflicts instead when there are some and `force` is off.
 */
export function apply(live: Record<string, unknown>, cfg: Record<string, unknown>, s: Shape, managers: ManagerEntry[], me: Omit<ManagerEntry, 'set'>, force: boolean): ApplyResult | { conflicts: Conflict[] } {
  let next = merge(live, cfg, s) as Record<string, unknown>;
  const conflicts = conflictsOf(live, next, s, managers, me);
  if (conflicts.length > 0 && !force) return { conflicts };
  let ms = withoutConflicts(managers, conflicts);
  const previous = ms.find((m) => sameEntry(m, me))?.set ?? new FieldSet();
  const mine = walk(cfg, s).members;
  ms = ms.filter((m) => !sameEntry(m, me));
  const others = ms.reduce((acc, m) => acc.union(m.set), new FieldSet());
  for (const p of previous.minus(mine).minus(others).paths()) if (!others.hasBelow(p)) removePath(next, p, s);
  next = clone(next);
  const removed = compare(live, next, s).removed;
  ms = ms.map((m) => ({ ...m, set: m.set.minus(removed) }));
  ms.push({ ...me, set: mine });
  return { value: next, managers: ms.filter((m) => m.set.size > 0) };
}

/** An Update operation (create, update, patch) from live to next: the writer takes what it changed. */
export function update(live: Record<string, unknown>, next: Record<string, unknown>, s: Shape, managers: ManagerEntry[], me: Omit<ManagerEntry, 'set'>): ManagerEntry[] {
  const cmp = compare(live, next, s);
  const changed = cmp.modified.union(cmp.added);
  const w = walk(next, s);
  const ownable = w.members.union(new FieldSet([...w.nodes.values()].filter((n) => n.map && n.path.length > 0).map((n) => n.path)));
  let ms = managers.map((m) => (sameEntry(m, me) ? m : { ...m, set: m.set.minus(changed).minus(cmp.removed) }));
  const mine = ms.find((m) => sameEntry(m, me));
  const set = (mine?.set ?? new FieldSet()).union(changed.intersect(ownable)).minus(cmp.removed);
  ms = ms.filter((m) => !sameEntry(m, me));
  if (set.size > 0) ms.push({ ...me, set });
  return ms.filter((m) => m.set.size > 0);
}
