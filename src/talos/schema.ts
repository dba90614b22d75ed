/**
 * Talos JSON Schemas (shipped in schemas/): document validation with ajv and the field order Talos
 * marshals (Go struct order = the schema's property order; Go maps sorted by key).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js';
import { OperationError } from '../common/errors.js';
import { packagePath } from '../common/package-root.js';
import type { Doc } from './generate.js';

type SchemaName = 'v1.6' | 'v1.13';
type Json = Record<string, any>;

/** The shipped schema file of a Talos release (src/talos/schemas in hearth's package). */
function schemaFile(name: SchemaName): string {
  const f = packagePath('src', 'talos', 'schemas', `${name}-config.schema.json`);
  if (!existsSync(f)) throw new OperationError(`Talos schema ${name} is missing from this installation (${f})`);
  return f;
}

/**
 * Documents Talos accepts since v1.6 that the shipped v1.6 schema (the v1alpha1 document only)
 * does not describe: they are checked and ordered with the v1.13 definitions, whose fields are the
 * ones v1.6 introduced (siderolabs/talos PR 7999: name, portSelector.ports/protocol, ingress subnet/except).
 */
const V16_EXTRA_KINDS = new Set(['NetworkDefaultActionConfig', 'NetworkRuleConfig']);
function schemaFor(name: SchemaName, doc: Doc): SchemaName {
  return name === 'v1.6' && typeof doc.kind === 'string' && V16_EXTRA_KINDS.has(doc.kind) ? 'v1.13' : name;
}

const loaded = new Map<SchemaName, Json>();
export function talosSchema(name: SchemaName): Json {
  let s = loaded.get(name);
  if (!s) {
    s = JSON.parse(readFileSync(schemaFile(name), 'utf8')) as Json;
    loaded.set(name, s);
  }
  return s;
}

/** The $defs entry that describes a document: v1alpha1 (no kind) or the document's kind. */
function defFor(name: SchemaName, doc: Doc): string | undefined {
  const defs = talosSchema(name).$defs as Record<string, Json>;
  if (doc.kind === undefined) return name === 'v1.6' ? 'Config' : 'v1alpha1.Config';
  if (name === 'v1.6') return undefined;
  for (const [k, d] of Object.entries(defs)) {
    if (d.properties?.kind?.enum?.includes(doc.kind) && (!d.properties?.apiVersion?.enum || d.properties.apiVersion.enum.includes(doc.apiVersion))) return k;
  }
  return undefined;
}

const ajvs = new Map<string, ValidateFunction>();
function validatorFor(name: SchemaName, def: string): ValidateFunction {
  const key = `${name}#${def}`;
  let v = ajvs.get(key);
  if (!v) {
    let ajv = ajvByName.get(name);
    if (!ajv) {
      ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
      const schema = talosSchema(name);
      ajv.addSchema({ ...schema, oneOf: undefined, $ref: undefined }, 'talos');
      ajvByName.set(name, ajv);
    }
    v = ajv.compile({ $ref: `talos#/$defs/${def}` });
    ajvs.set(key, v);
  }
  return v;
}
const ajvByName = new Map<SchemaName, InstanceType<typeof Ajv2020>>();

export interface SchemaProblem {
  /** JSON path in the document: /machine/install/disk */
  field: string;
  message: string;
}

/**
 * Validates one document against the schema of its version. Tolerates exactly what talosctl emits
 * beyond the published schemas: the top-level `persist` and, in v1.13, machine.install.extraKernelArgs.
 */
export function validateDocument(contractSchema: SchemaName, doc: Doc): SchemaProblem[] {
  const name = schemaFor(contractSchema, doc);
  const def = defFor(name, doc);
  if (!def) {
    const kind = doc.kind === undefined ? 'v1alpha1' : String(doc.kind);
    return [{ field: '/kind', message: `unknown document kind "${kind}" for Talos ${name}` }];
  }
  let subject: Doc = doc;
  if (doc.kind === undefined) {
    const { persist, ...rest } = doc;
    if (persist !== undefined && typeof persist !== 'boolean') return [{ field: '/persist', message: 'must be boolean' }];
    subject = rest;
    const install = (rest.machine as Doc | undefined)?.install as Doc | undefined;
    if (name === 'v1.13' && install && 'extraKernelArgs' in install) {
      const { extraKernelArgs, ...restInstall } = install;
      if (!Array.isArray(extraKernelArgs) || !extraKernelArgs.every((a) => typeof a === 'string')) {
        return [{ field: '/machine/install/extraKernelArgs', message: 'must be a list of strings' }];
      }
      subject = { ...rest, machine: { ...(rest.machine as Doc), install: restInstall } };
    }
  }
  const v = validatorFor(name, def);
  if (v(subject)) return [];
  return (v.errors ?? []).slice(0, 1).map((e) => fromAjv(e));
}

function fromAjv(e: ErrorObject): SchemaProblem {
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return { field: `${e.instancePath}/${extra}`, message: `unknown field "${extra}"` };
  }
  if (e.keyword === 'enum') {
    return { field: e.instancePath, message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((x) => JSON.stringify(x)).join(', ')}` };
  }
  return { field: e.instancePath, message: e.message ?? 'is invalid' };
}

// ---- field order ----

function resolve(root: Json, s: Json | undefined): Json | undefined {
  let cur = s;
  for (let i = 0; cur && cur.$ref && i < 20; i++) {
    const ref = String(cur.$ref);
    if (!ref.startsWith('#/$defs/')) return undefined;
    cur = root.$defs[ref.slice('#/$defs/'.length)];
  }
  if (cur && !cur.properties && !cur.items && !cur.additionalProperties) {
    const alt = (cur.oneOf ?? cur.anyOf ?? []) as Json[];
    for (const a of alt) {
      const r = resolve(root, a);
      if (r && (r.properties || r.items)) return r;
    }
  }
  return cur;
}

function orderValue(root: Json, schema: Json | undefined, value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = schema ? resolve(root, schema.items) : undefined;
    return value.map((v) => orderValue(root, items, v));
  }
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Doc;
  const out: Doc = {};
  if (schema?.properties) {
    const props = schema.properties as Record<string, Json>;
    // Keys the schema does not list (talosctl's extras) stay right after the key they followed.
    const extrasAfter = new Map<string | undefined, string[]>();
    let prev: string | undefined;
    for (const k of Object.keys(obj)) {
      if (!(k in props)) extrasAfter.set(prev, [...(extrasAfter.get(prev) ?? []), k]);
      else prev = k;
    }
    const put = (k: string) => (out[k] = orderValue(root, k in props ? resolve(root, props[k]) : undefined, obj[k]));
    for (const k of extrasAfter.get(undefined) ?? []) put(k);
    for (const k of Object.keys(props)) {
      if (!(k in obj)) continue;
      put(k);
      for (const x of extrasAfter.get(k) ?? []) put(x);
    }
    return out;
  }
  const inner = schema && typeof schema.additionalProperties === 'object' ? resolve(root, schema.additionalProperties) : undefined;
  for (const k of Object.keys(obj).sort()) out[k] = orderValue(root, inner, obj[k]);
  return out;
}

/** Puts every key where Talos's marshaller would: struct fields in declaration order, maps sorted. */
export function canonicalOrder(contractSchema: SchemaName, doc: Doc): Doc {
  const name = schemaFor(contractSchema, doc);
  const root = talosSchema(name);
  const def = defFor(name, doc);
  if (!def) return doc;
  const ordered = orderValue(root, root.$defs[def], doc) as Doc;
  if (doc.kind === undefined && 'persist' in doc) {
    // persist is not in the schemas; talosctl writes it right after debug.
    const out: Doc = {};
    for (const [k, v] of Object.entries(ordered)) {
      if (k === 'persist') continue;
      out[k] = v;
      if (k === 'debug') out.persist = doc.persist;
    }
    if (!('persist' in out)) return { persist: doc.persist, ...out };
    return out;
  }
  return ordered;
}
