/**
 * Label selectors (equality- and set-based: =, ==, !=, in, notin, exists, !exists) and field
 * selectors (metadata.name, metadata.namespace; = == !=) as the list and watch endpoints take them.
 */
import { ApiError, status, type Obj } from './types.js';

type Requirement = { key: string; op: 'eq' | 'ne' | 'in' | 'notin' | 'exists' | '!exists'; values: string[] };
export type Selector = (o: Obj) => boolean;

const bad = (msg: string) => new ApiError(status(400, 'BadRequest', msg));

/** Splits on commas outside parentheses. */
function terms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function requirement(t: string, selector: string): Requirement {
  let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
  if (m) return { key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '') };
  m = /^(\S+?)\s*(==|!=|=)\s*(\S*)$/.exec(t);
  if (m) return { key: m[1]!, op: m[2] === '!=' ? 'ne' : 'eq', values: [m[3]!] };
  m = /^!\s*(\S+)$/.exec(t);
  if (m) return { key: m[1]!, op: '!exists', values: [] };
  if (/^\S+$/.test(t)) return { key: t, op: 'exists', values: [] };
  throw bad(`unable to parse requirement: found '${t}', expected: in, notin, =, ==, !=, gt, lt in selector "${selector}"`);
}

function matches(r: Requirement, v: string | undefined): boolean {
  switch (r.op) {
    case 'eq':
    case 'in':
      return v !== undefined && r.values.includes(v);
    case 'ne':
    case 'notin':
      return v === undefined || !r.values.includes(v);
    case 'exists':
      return v !== undefined;
    case '!exists':
      return v === undefined;
  }
}

export function labelSelector(s: string | undefined): Selector {
  if (!s) return () => true;
  const reqs = terms(s).map((t) => requirement(t, s));
  for (const r of reqs) if (!LABEL_KEY.test(r.key)) throw bad(`unable to parse requirement: invalid label key "${r.key}"`);
  return (o) => reqs.every((r) => matches(r, o.metadata.labels?.[r.key]));
}

const FIELDS: Record<string, (o: Obj) => string | undefined> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
};

export function fieldSelector(s: string | undefined): Selector {
  if (!s) return () => true;
  const reqs = terms(s).map((t) => {
    const m = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(t);
    if (!m) throw bad(`invalid selector: '${s}'; can't understand '${t}'`);
    const get = FIELDS[m[1]!];
    if (!get) throw bad(`"${m[1]}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    return { get, ne: m[2] === '!=', value: m[3]! };
  });
  return (o) => reqs.every((r) => (r.get(o) === r.value) !== r.ne);
}
