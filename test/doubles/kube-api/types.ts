/** Shared shapes and small helpers of the Kubernetes API double. */
import type { Shape } from './schema.js';

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    uid?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  [k: string]: unknown;
}

/** One served resource: group, version, plural and kind, and the schema it is held to. */
export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  shape: Shape;
  /** Has a status subresource: writes to the object ignore .status, /status writes only .status. */
  statusSubresource: boolean;
  /** Has metadata.generation (Namespaces do not). */
  generation: boolean;
  /** openAPIV3Schema for custom resources (validated with Ajv). */
  validate?: (o: unknown) => string[];
  shortNames?: string[];
  /** Verbs discovery lists when not the usual full set. */
  verbs?: string[];
  /** Served from a CustomResourceDefinition. */
  custom?: boolean;
}

export interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  res: ResourceInfo;
  obj: Obj;
  /** The object before a MODIFIED change (a watch with a selector turns it into ADDED or DELETED). */
  prev?: Obj;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  user?: string;
  status?: number;
  completed: boolean;
}

export interface InjectedError {
  code: number;
  reason: string;
  message: string;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: unknown;
  code: number;
}

export const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

export function equalJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

/** A Status failure body as kube-apiserver writes it. */
export function status(code: number, reason: string, message: string, details?: unknown): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** An error a handler throws to answer with a Status. */
export class ApiError extends Error {
  constructor(readonly body: StatusBody) {
    super(body.message);
  }
}

export const apiVersionOf = (r: { group: string; version: string }): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** "deployments.apps" or "namespaces": the group-qualified resource name of messages. */
export const groupResource = (r: { group: string; plural: string }): string => (r.group ? `${r.plural}.${r.group}` : r.plural);

export function notFound(r: { group: string; plural: string }, name: string): ApiError {
  return new ApiError(status(404, 'NotFound', `${groupResource(r)} "${name}" not found`, { name, group: r.group || undefined, kind: r.plural }));
}
