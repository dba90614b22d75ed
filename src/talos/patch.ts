/**
 * Talos config patches, both kinds talosctl accepts (configpatcher):
 * - strategic merge: a (multi-document) config fragment. The v1alpha1 part merges into the v1alpha1
 *   document; other documents merge into the document of the same kind (and name), or are added.
 *   `$patch: delete` removes a key, a list element (network interfaces, vlans) or a whole document.
 *   Lists are appended, except the ones Talos merges by key or replaces (LIST_RULES).
 * - RFC 6902 JSON patch: a list of operations applied to the v1alpha1 document.
 * Pure: documents in, documents out. Errors carry the JSON path of the field.
 */
import { parseAllDocuments } from 'yaml';
import type { Doc } from './generate.js';

export type StrategicPatch = { kind: 'strategic'; docs: Doc[] };
export type JsonPatchOp = { op: string; path: string; value?: unknown; from?: string };
export type JsonPatch = { kind: 'json'; ops: JsonPatchOp[] };
export type Patch = StrategicPatch | JsonPatch;

export class PatchError extends Error {
  override name = 'PatchError';
  /** Field path inside the config (/machine/install/disk). */
  readonly field: string;
  constructor(message: string, field = '') {
    super(message);
    this.field = field;
  }
}

/** How Talos merges the lists of a v1alpha1 document (keyed by their path without indexes). */
const LIST_RULES: Record<string, { mergeKey?: (v: Doc) => string | undefined; replace?: boolean }> = {
  'machine.network.interfaces': { mergeKey: (v) => (typeof v.interface === 'string' ? `i:${v.interface}` : v.deviceSelector ? `d:${stable(v.deviceSelector)}` : undefined) },
  'machine.network.interfaces.vlans': { mergeKey: (v) => (v.vlanId !== undefined ? String(v.vlanId) : undefined) },
  'cluster.apiServer.admissionControl': { mergeKey: (v) => (typeof v.name === 'string' ? v.name : undefined) },
  'cluster.network.podSubnets': { replace: true },
  'cluster.network.serviceSubnets': { replace: true },
  'machine.kubelet.nodeIP.validSubnets': { replace: true },
  'cluster.etcd.advertisedSubnets': { replace: true },
  'cluster.etcd.listenSubnets': { replace: true },
  // in other documents, the path starts with the document kind
  'ExtensionServiceConfig:configFiles': { mergeKey: (v) => (typeof v.mountPath === 'string' ? v.mountPath : undefined) },
};
/** Values Talos replaces as a whole instead of merging. */
const REPLACE_WHOLE = new Set(['cluster.apiServer.auditPolicy']);

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val) => (val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort()) : val));
}

const isMap = (v: unknown): v is Doc => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parses patch text: a YAML/JSON list is an RFC 6902 patch, anything else a strategic merge patch. */
export function parsePatchText(text: string): Patch {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  for (const d of list) {
    if (d.errors.length > 0) {
      const e = d.errors[0]!;
      const pos = e.linePos?.[0];
      const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?\s*$/, '');
      throw new PatchError(`YAML${pos ? ` line ${pos.line}, column ${pos.col}` : ''}: ${what}`);
    }
    const v = d.toJS({ maxAliasCount: 1000 });
    if (v !== null && v !== undefined) values.push(v);
  }
  if (values.length === 0) throw new PatchError('the patch is empty');
  if (values.length === 1 && Array.isArray(values[0])) return toPatch(values[0]);
  return toPatch(values.length === 1 ? values[0] : values);
}

/** An inline patch from the spec: an object (strategic merge), a list of operations, or documents. */
export function toPatch(value: unknown): Patch {
  if (Array.isArray(value) && value.every((v) => isMap(v) && typeof v.op === 'string')) {
    const ops = value as JsonPatchOp[];
    ops.forEach((op, i) => {
      if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op.op)) throw new PatchError(`operation ${i}: unknown op "${op.op}"`);
      if (typeof op.path !== 'string') throw new PatchError(`operation ${i}: "path" is required`);
      if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') throw new PatchError(`operation ${i}: "from" is required`);
      if (['add', 'replace', 'test'].includes(op.op) && !('value' in op)) throw new PatchError(`operation ${i}: "value" is required`);
    });
    return { kind: 'json', ops };
  }
  if (Array.isArray(value)) {
    if (value.every(isMap) && value.length > 0 && !value.some((v) => 'op' in v)) return { kind: 'strategic', docs: value as Doc[] };
    throw new PatchError('a list patch must be RFC 6902 operations ({op, path, value})');
  }
  if (isMap(value)) return { kind: 'strategic', docs: [value] };
  throw new PatchError('a patch must be a mapping (strategic merge) or a list of RFC 6902 operations');
}

const isV1alpha1 = (d: Doc) => d.kind === undefined && (d.version !== undefined || d.machine !== undefined || d.cluster !== undefined || d.debug !== undefined || d.persist !== undefined);
const docKey = (d: Doc) => `${String(d.apiVersion ?? '')}/${String(d.kind)}/${typeof d.name === 'string' ? d.name : ''}`;

/** Applies one patch to a config bundle; returns new documents (inputs untouched). */
export function applyPatch(docs: Doc[], patch: Patch): Doc[] {
  const out = structuredClone(docs);
  if (patch.kind === 'json') {
    // talosctl (configpatcher.JSON6902) refuses these on anything but a single-document config
    if (out.length !== 1) {
      throw new PatchError(
        'JSON6902 patches are not supported for multi-document machine configuration (Talos v1.12 and later always generate several documents): use a strategic merge patch',
      );
    }
    out[0] = applyJsonPatch(out[0]!, patch.ops) as Doc;
    return out;
  }
  for (const p of patch.docs) {
    if (!isMap(p)) throw new PatchError('each patch document must be a mapping');
    if (p.kind === undefined) {
      const i = out.findIndex(isV1alpha1);
      if (p.$patch === 'delete') throw new PatchError('the v1alpha1 document cannot be deleted', '/');
      if (i < 0) out.unshift(mergeValue(undefined, p, '') as Doc);
      else out[i] = mergeValue(out[i], p, '') as Doc;
      continue;
    }
    if (typeof p.kind !== 'string') throw new PatchError('"kind" must be a string', '/kind');
    const i = out.findIndex((d) => docKey(d) === docKey(p) || (d.kind === p.kind && d.apiVersion === p.apiVersion && d.name === p.name));
    if (p.$patch === 'delete') {
      if (i < 0) throw new PatchError(`no ${p.kind}${p.name ? ` "${String(p.name)}"` : ''} document to delete`);
      out.splice(i, 1);
      continue;
    }
    const { $patch: _ignored, ...clean } = p;
    if (i < 0) out.push(mergeValue(undefined, clean, `${p.kind}:`) as Doc);
    else out[i] = mergeValue(out[i], clean, `${p.kind}:`) as Doc;
  }
  return out;
}

function mergeValue(base: unknown, patch: unknown, path: string): unknown {
  if (isMap(patch)) {
    if (patch.$patch === 'replace') {
      const { $patch: _r, ...rest } = patch;
      return stripDirectives(rest);
    }
    if (!isMap(base) || REPLACE_WHOLE.has(path)) return stripDirectives(patch);
    const out: Doc = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (k === '$patch') continue;
      const sub = path === '' || path.endsWith(':') ? `${path}${k}` : `${path}.${k}`;
      if (isMap(v) && v.$patch === 'delete') {
        delete out[k];
        continue;
      }
      out[k] = mergeValue(out[k], v, sub);
    }
    return out;
  }
  if (Array.isArray(patch)) {
    const rule = LIST_RULES[path];
    if (!Array.isArray(base) || rule?.replace) return stripDirectives(patch);
    if (rule?.mergeKey) {
      const out = [...base];
      for (const item of patch) {
        const key: string | undefined = isMap(item) ? rule.mergeKey(item) : undefined;
        const at = key === undefined ? -1 : out.findIndex((b) => isMap(b) && rule.mergeKey!(b) === key);
        if (isMap(item) && item.$patch === 'delete') {
          if (at >= 0) out.splice(at, 1);
          continue;
        }
        if (at >= 0) out[at] = mergeValue(out[at], item, path);
        else out.push(stripDirectives(item));
      }
      return out;
    }
    return [...base, ...(stripDirectives(patch) as unknown[])];
  }
  return patch;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isMap(x) && x.$patch === 'delete')).map(stripDirectives);
  if (isMap(v)) {
    const out: Doc = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === '$patch') continue;
      if (isMap(x) && x.$patch === 'delete') continue;
      out[k] = stripDirectives(x);
    }
    return out;
  }
  return v;
}

// ---- RFC 6902 ----

function parsePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw new PatchError(`"${ptr}" is not a JSON pointer (must start with /)`, ptr);
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(root: unknown, tokens: string[], ptr: string): unknown {
  let cur = root;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      const i = Number(t);
      if (!/^\d+$/.test(t) || i >= cur.length) throw new PatchError(`path ${ptr} does not exist`, ptr);
      cur = cur[i];
    } else if (isMap(cur)) {
      if (!(t in cur)) throw new PatchError(`path ${ptr} does not exist`, ptr);
      cur = cur[t];
    } else throw new PatchError(`path ${ptr} does not exist`, ptr);
  }
  return cur;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

/** Applies RFC 6902 operations; throws PatchError naming the operation and its path. */
export function applyJsonPatch(doc: unknown, ops: JsonPatchOp[]): unknown {
  let root = structuredClone(doc);
  ops.forEach((op, n) => {
    const where = `operation ${n} (${op.op} ${op.path})`;
    try {
      const tokens = parsePointer(op.path);
      const add = (value: unknown) => {
        if (tokens.length === 0) {
          root = value;
          return;
        }
        const parent = getAt(root, tokens.slice(0, -1), op.path);
        const last = tokens[tokens.length - 1]!;
        if (Array.isArray(parent)) {
          const i = last === '-' ? parent.length : Number(last);
          if (!/^\d+$/.test(last) && last !== '-') throw new PatchError(`path ${op.path}: "${last}" is not an array index`, op.path);
          if (i > parent.length) throw new PatchError(`path ${op.path}: index out of range`, op.path);
          parent.splice(i, 0, structuredClone(value));
        } else if (isMap(parent)) parent[last] = structuredClone(value);
        else throw new PatchError(`path ${op.path} does not exist`, op.path);
      };
      const remove = (ptr: string, toks: string[]) => {
        if (toks.length === 0) throw new PatchError('cannot remove the whole document', ptr);
        const parent = getAt(root, toks.slice(0, -1), ptr);
        const last = toks[toks.length - 1]!;
        getAt(root, toks, ptr);
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete (parent as Doc)[last];
      };
      switch (op.op) {
        case 'add':
          add(op.value);
          break;
        case 'remove':
          remove(op.path, tokens);
          break;
        case 'replace':
          getAt(root, tokens, op.path);
          if (tokens.length === 0) root = structuredClone(op.value);
          else {
            const parent = getAt(root, tokens.slice(0, -1), op.path);
            const last = tokens[tokens.length - 1]!;
            if (Array.isArray(parent)) parent[Number(last)] = structuredClone(op.value);
            else (parent as Doc)[last] = structuredClone(op.value);
          }
          break;
        case 'move': {
          const fromT = parsePointer(op.from!);
          const v = structuredClone(getAt(root, fromT, op.from!));
          remove(op.from!, fromT);
          add(v);
          break;
        }
        case 'copy':
          add(getAt(root, parsePointer(op.from!), op.from!));
          break;
        case 'test':
          if (!deepEqual(getAt(root, tokens, op.path), op.value)) throw new PatchError(`test failed at ${op.path}`, op.path);
          break;
        default:
          throw new PatchError(`unknown op "${op.op}"`, op.path);
      }
    } catch (err) {
      if (err instanceof PatchError) throw new PatchError(`${where}: ${err.message}`, err.field || op.path);
      throw err;
    }
  });
  return root;
}
