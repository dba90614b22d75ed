/**
 * The structure the double holds objects to, as structured-merge-diff sees a type: objects with
 * declared fields (undeclared ones are pruned), maps (additionalProperties), lists that are atomic,
 * sets (x-kubernetes-list-type: set) or maps keyed by fields (list-type map with list-map-keys,
 * like containers/env by name and ports by containerPort+protocol), and untyped subtrees
 * (x-kubernetes-preserve-unknown-fields, or kinds the double has no schema for).
 */
import { isObj } from './types.js';

export interface Shape {
  type: 'object' | 'array' | 'scalar' | 'any';
  fields?: Record<string, Shape>;
  /** Map values (additionalProperties). */
  additional?: Shape;
  /** Keep undeclared fields (as untyped). */
  preserveUnknown?: boolean;
  /** x-kubernetes-map-type: atomic (owned and replaced as a whole). */
  atomic?: boolean;
  items?: Shape;
  listType?: 'atomic' | 'map' | 'set';
  keys?: string[];
  /** Value the server defaults a missing scalar field to. */
  default?: unknown;
}

export const ANY: Shape = { type: 'any' };
const S: Shape = { type: 'scalar' };
const obj = (fields: Record<string, Shape>, more: Partial<Shape> = {}): Shape => ({ type: 'object', fields, ...more });
const strMap: Shape = { type: 'object', additional: S };
const mapList = (keys: string[], items: Shape): Shape => ({ type: 'array', listType: 'map', keys, items });
const setList: Shape = { type: 'array', listType: 'set', items: S };
const atomicList = (items: Shape = ANY): Shape => ({ type: 'array', listType: 'atomic', items });
const anyFields = (...names: string[]): Record<string, Shape> => Object.fromEntries(names.map((n) => [n, ANY]));

/** Where the child `key` of an object of shape `s` is held, and whether it is a declared field. */
export function childShape(s: Shape, key: string): { shape: Shape; declared: boolean } | undefined {
  if (s.type === 'any') return { shape: ANY, declared: false };
  const f = s.fields?.[key];
  if (f) return { shape: f, declared: true };
  if (s.additional) return { shape: s.additional, declared: false };
  if (s.preserveUnknown) return { shape: ANY, declared: false };
  return undefined;
}

export const OBJECT_META: Shape = obj({
  name: S,
  generateName: S,
  namespace: S,
  labels: strMap,
  annotations: strMap,
  finalizers: setList,
  ownerReferences: mapList(['uid'], obj(anyFields('apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'))),
  // system fields: stripped before field ownership is computed, kept on the object
  uid: S,
  resourceVersion: S,
  generation: S,
  creationTimestamp: S,
  deletionTimestamp: S,
  deletionGracePeriodSeconds: S,
  managedFields: atomicList(),
});

/** apiVersion, kind, metadata and the given top-level fields. */
export const topLevel = (fields: Record<string, Shape>, more: Partial<Shape> = {}): Shape => obj({ apiVersion: S, kind: S, metadata: OBJECT_META, ...fields }, more);

const CONTAINER_PORT = obj({ containerPort: S, protocol: { type: 'scalar', default: 'TCP' }, name: S, hostPort: S, hostIP: S });
const CONTAINER = obj({
  name: S,
  image: S,
  imagePullPolicy: S,
  command: atomicList(S),
  args: atomicList(S),
  workingDir: S,
  env: mapList(['name'], obj({ name: S, value: S, valueFrom: ANY })),
  envFrom: atomicList(),
  ports: mapList(['containerPort', 'protocol'], CONTAINER_PORT),
  volumeMounts: mapList(['mountPath'], obj(anyFields('name', 'mountPath', 'readOnly', 'subPath', 'subPathExpr', 'mountPropagation', 'recursiveReadOnly'))),
  ...anyFields('resources', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'securityContext', 'terminationMessagePath', 'terminationMessagePolicy', 'stdin', 'tty', 'restartPolicy', 'resizePolicy', 'volumeDevices'),
});
const POD_SPEC = obj({
  containers: mapList(['name'], CONTAINER),
  initContainers: mapList(['name'], CONTAINER),
  volumes: mapList(['name'], obj({ name: S }, { preserveUnknown: true })),
  imagePullSecrets: mapList(['name'], obj({ name: S })),
  nodeSelector: { ...strMap, atomic: true },
  tolerations: atomicList(),
  ...anyFields(
    'affinity', 'automountServiceAccountToken', 'dnsPolicy', 'dnsConfig', 'enableServiceLinks', 'hostNetwork', 'hostPID', 'hostIPC', 'hostname',
    'nodeName', 'priorityClassName', 'priority', 'restartPolicy', 'runtimeClassName', 'schedulerName', 'securityContext', 'serviceAccount',
    'serviceAccountName', 'subdomain', 'terminationGracePeriodSeconds', 'topologySpreadConstraints', 'shareProcessNamespace', 'hostAliases',
    'readinessGates', 'preemptionPolicy', 'overhead', 'os', 'activeDeadlineSeconds', 'ephemeralContainers', 'setHostnameAsFQDN', 'hostUsers',
    'schedulingGates', 'resourceClaims', 'resources',
  ),
});
const LABEL_SELECTOR: Shape = obj({ matchLabels: strMap, matchExpressions: atomicList() }, { atomic: true });

/** Schemas of the built-in kinds the double serves; kinds without one here are untyped below metadata. */
export const BUILTIN_SHAPES: Record<string, Shape> = {
  Namespace: topLevel({ spec: obj({ finalizers: atomicList(S) }), status: ANY }),
  ConfigMap: topLevel({ data: strMap, binaryData: strMap, immutable: S }),
  Secret: topLevel({ data: strMap, stringData: strMap, type: S, immutable: S }),
  Deployment: topLevel({
    spec: obj({
      replicas: S,
      selector: LABEL_SELECTOR,
      template: obj({ metadata: OBJECT_META, spec: POD_SPEC }),
      ...anyFields('strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'),
    }),
    status: ANY,
  }),
  Service: topLevel({
    spec: obj(
      { ports: mapList(['port', 'protocol'], obj({ port: S, protocol: { type: 'scalar', default: 'TCP' } }, { preserveUnknown: true })), selector: { ...strMap, atomic: true } },
      { preserveUnknown: true },
    ),
    status: ANY,
  }),
};

/** An untyped kind: metadata is typed, the rest kept as given (lists atomic). */
export const UNTYPED = topLevel({}, { preserveUnknown: true });

/** The shape of a structural openAPIV3Schema (a CRD version's schema). */
export function shapeFromOpenApi(s: Record<string, unknown> | undefined, top = true): Shape {
  if (!s) return ANY;
  if (s['x-kubernetes-int-or-string']) return S;
  if (s['x-kubernetes-embedded-resource']) {
    const inner = shapeFromOpenApi({ ...s, 'x-kubernetes-embedded-resource': false }, false);
    return { ...inner, fields: { apiVersion: S, kind: S, metadata: OBJECT_META, ...inner.fields } };
  }
  const type = s.type as string | undefined;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (type === 'array') {
    const lt = (s['x-kubernetes-list-type'] as Shape['listType']) ?? 'atomic';
    return { type: 'array', listType: lt, keys: s['x-kubernetes-list-map-keys'] as string[] | undefined, items: shapeFromOpenApi(s.items as Record<string, unknown>, false) };
  }
  if (type === 'object' || s.properties || s.additionalProperties) {
    const props = (s.properties ?? {}) as Record<string, Record<string, unknown>>;
    const fields = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, shapeFromOpenApi(v, false)]));
    const add = s.additionalProperties;
    const out: Shape = { type: 'object', fields, preserveUnknown: preserve || undefined, atomic: s['x-kubernetes-map-type'] === 'atomic' || undefined };
    if (isObj(add)) out.additional = shapeFromOpenApi(add, false);
    else if (add === true) out.additional = ANY;
    if (top) return { ...out, fields: { ...out.fields, apiVersion: S, kind: S, metadata: OBJECT_META } };
    return out;
  }
  if (preserve) return ANY;
  return S;
}

/**
 * Removes fields the shape does not declare (what the server prunes) and fills scalar defaults
 * the list-map keys need; returns the pruned paths as the server names them (`spec.foo`).
 */
export function prune(v: unknown, s: Shape, path = ''): string[] {
  const out: string[] = [];
  if (isObj(v) && s.type === 'object') {
    for (const k of Object.keys(v)) {
      const c = childShape(s, k);
      const p = path ? `${path}.${k}` : k;
      if (!c) {
        delete v[k];
        out.push(p);
      } else out.push(...prune(v[k], c.shape, p));
    }
    for (const [k, f] of Object.entries(s.fields ?? {})) if (f.default !== undefined && v[k] === undefined) v[k] = f.default;
  } else if (Array.isArray(v) && s.type === 'array' && s.items) {
    v.forEach((x, i) => out.push(...prune(x, s.items!, `${path}[${i}]`)));
  }
  return out;
}
