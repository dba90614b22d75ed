/**
 * Server-side printing: the meta.k8s.io/v1 Table kubectl asks for (Accept ...;as=Table) with the
 * columns kube-apiserver prints for the built-in kinds, a CRD's additionalPrinterColumns (simple
 * JSONPath: fields, [n], [?(@.k=="v")]) for custom resources, else NAME and AGE; rows carry the
 * object's metadata (PartialObjectMetadata).
 */
import type { Registry } from './registry.js';
import { isObj, type Obj, type ResourceInfo } from './types.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
  cell: (o: Obj) => unknown;
}

export const wantsTable = (accept: string | undefined): boolean => /as=Table/.test(accept ?? '');

/** k8s.io/apimachinery's HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 192) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const age = (o: Obj) => (typeof o.metadata.creationTimestamp === 'string' ? humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp)) : '<unknown>');
const col = (name: string, cell: (o: Obj) => unknown, type = 'string', format = ''): Column => ({ name, type, format, description: name, priority: 0, cell });
const NAME = col('Name', (o) => o.metadata.name, 'string', 'name');
const AGE = col('Age', age);
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

const BUILTIN: Record<string, Column[]> = {
  Namespace: [NAME, col('Status', (o) => (o.status as { phase?: string } | undefined)?.phase ?? ''), AGE],
  ConfigMap: [NAME, col('Data', (o) => Object.keys((o.data as object) ?? {}).length + Object.keys((o.binaryData as object) ?? {}).length, 'integer'), AGE],
  Deployment: [
    NAME,
    col('Ready', (o) => `${num((o.status as Record<string, unknown>)?.readyReplicas)}/${num((o.spec as Record<string, unknown>)?.replicas)}`),
    col('Up-to-date', (o) => num((o.status as Record<string, unknown>)?.updatedReplicas), 'integer'),
    col('Available', (o) => num((o.status as Record<string, unknown>)?.availableReplicas), 'integer'),
    AGE,
  ],
  CustomResourceDefinition: [NAME, col('Created At', (o) => o.metadata.creationTimestamp, 'date')],
};

/** A JSONPath value as kubectl-style printer columns take it. */
export function jsonPath(o: unknown, path: string): unknown {
  const tokens = path.match(/\.[^.[]+|\[\?\(@\.[^=]+==["'][^"']*["']\)\]|\[\d+\]/g) ?? [];
  let cur: unknown[] = [o];
  for (const t of tokens) {
    const filter = /^\[\?\(@\.([^=]+)==["']([^"']*)["']\)\]$/.exec(t);
    if (filter) cur = cur.flatMap((v) => (Array.isArray(v) ? v.filter((x) => isObj(x) && String(x[filter[1]!]) === filter[2]) : []));
    else if (t.startsWith('[')) cur = cur.map((v) => (Array.isArray(v) ? v[Number(t.slice(1, -1))] : undefined));
    else cur = cur.map((v) => (isObj(v) ? v[t.slice(1)] : undefined));
  }
  return cur.find((v) => v !== undefined);
}

function columnsFor(res: ResourceInfo, registry: Registry): Column[] {
  if (!res.custom) return BUILTIN[res.kind] ?? [NAME, AGE];
  const printer = registry.printerColumns.get(`${res.group}/${res.version}/${res.kind}`) ?? [];
  if (printer.length === 0) return [NAME, AGE];
  return [
    NAME,
    ...printer.map((p) =>
      col(p.name, (o) => {
        const v = jsonPath(o, p.jsonPath);
        if (p.type === 'date' && typeof v === 'string') return humanDuration(Date.now() - Date.parse(v));
        return v ?? (p.type === 'string' ? '' : null);
      }, p.type === 'date' ? 'date' : p.type),
    ),
  ];
}

/** The Table of these objects (one row each). */
export function table(res: ResourceInfo, registry: Registry, objs: Obj[], resourceVersion?: string, more: Record<string, unknown> = {}): unknown {
  const cols = columnsFor(res, registry);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { ...(resourceVersion ? { resourceVersion } : {}), ...more },
    columnDefinitions: cols.map(({ cell: _cell, ...c }) => c),
    rows: objs.map((o) => ({ cells: cols.map((c) => c.cell(o)), object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata } })),
  };
}
