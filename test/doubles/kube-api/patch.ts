/** JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch over list-map keys. */
import { childShape, type Shape } from './schema.js';
import { ApiError, clone, equalJson, isObj, status } from './types.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Record<string, unknown> = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Strategic merge patch, as far as the double's schemas carry it: maps merge, null deletes, lists
 * that are maps by key merge item by item (`$patch: delete` removes an item), other lists replace.
 */
export function strategicMergePatch(target: unknown, patch: unknown, s: Shape): unknown {
  if (isObj(patch) && (s.type === 'object' || s.type === 'any') && !s.atomic) {
    const out: Record<string, unknown> = isObj(target) ? clone(target) : {};
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith('$')) continue;
      if (v === null) delete out[k];
      else out[k] = strategicMergePatch(out[k], v, childShape(s, k)?.shape ?? { type: 'any' });
    }
    return out;
  }
  if (Array.isArray(patch) && s.type === 'array' && s.listType === 'map' && s.keys) {
    const keyOf = (x: unknown) => JSON.stringify((s.keys ?? []).map((k) => (isObj(x) ? x[k] : undefined)));
    const out = Array.isArray(target) ? clone(target) : [];
    for (const item of patch) {
      const i = out.findIndex((x) => keyOf(x) === keyOf(item));
      if (isObj(item) && item.$patch === 'delete') {
        if (i >= 0) out.splice(i, 1);
      } else if (i >= 0) out[i] = strategicMergePatch(out[i], item, s.items ?? { type: 'any' });
      else out.push(strategicMergePatch(undefined, item, s.items ?? { type: 'any' }));
    }
    return out;
  }
  return clone(patch);
}

type Op = { op: string; path: string; value?: unknown; from?: string };

const invalid = (msg: string) => new ApiError(status(422, 'Invalid', msg));

function pointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw invalid(`the server rejected our request due to an error in our request: invalid JSON pointer "${p}"`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, parts: string[], path: string): { parent: Record<string, unknown> | unknown[]; key: string } {
  let cur: unknown = doc;
  for (const k of parts.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(k)] : isObj(cur) ? cur[k] : undefined;
    if (cur === undefined) throw invalid(`the server rejected our request due to an error in our request: doc is missing path: "${path}"`);
  }
  if (!Array.isArray(cur) && !isObj(cur)) throw invalid(`doc is missing path: "${path}"`);
  return { parent: cur, key: parts.at(-1)! };
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const k of pointer(path)) cur = Array.isArray(cur) ? cur[Number(k)] : isObj(cur) ? cur[k] : undefined;
  return cur;
}

export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new ApiError(status(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch'));
  let out = clone(doc);
  for (const o of ops as Op[]) {
    const parts = pointer(o.path);
    const add = (value: unknown) => {
      if (parts.length === 0) return void (out = clone(value));
      const { parent, key } = parentOf(out, parts, o.path);
      if (Array.isArray(parent)) parent.splice(key === '-' ? parent.length : Number(key), 0, clone(value));
      else parent[key] = clone(value);
    };
    const remove = (path: string) => {
      const ps = pointer(path);
      const { parent, key } = parentOf(out, ps, path);
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else {
        if (!(key in parent)) throw invalid(`the server rejected our request due to an error in our request: Unable to remove nonexistent key: ${key}: missing value`);
        delete parent[key];
      }
    };
    switch (o.op) {
      case 'add':
        add(o.value);
        break;
      case 'remove':
        remove(o.path);
        break;
      case 'replace':
        if (getAt(out, o.path) === undefined) throw invalid(`the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: ${o.path}: missing value`);
        remove(o.path);
        add(o.value);
        break;
      case 'test':
        if (!equalJson(getAt(out, o.path), o.value)) throw invalid(`the server rejected our request due to an error in our request: testing value ${o.path} failed: test failed`);
        break;
      case 'move':
      case 'copy': {
        const v = getAt(out, o.from ?? '');
        if (v === undefined) throw invalid(`the server rejected our request due to an error in our request: doc is missing from path: ${o.from}`);
        if (o.op === 'move') remove(o.from!);
        add(v);
        break;
      }
      default:
        throw invalid(`the server rejected our request due to an error in our request: Unexpected kind: ${o.op}`);
    }
  }
  return out;
}
