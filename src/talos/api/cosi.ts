/**
 * COSI resources as the Talos API returns them (`cosi.resource.State`): metadata plus a spec that
 * Talos also renders as YAML (`yaml_spec`), which hearth parses instead of decoding `proto_spec`.
 */
import { parseAllDocuments } from 'yaml';
import { TalosApiError } from './errors.js';

export interface CosiResource<S = Record<string, unknown>> {
  namespace: string;
  type: string;
  id: string;
  version: string;
  phase: string;
  labels: Record<string, string>;
  spec: S;
}

export type CosiEventType = 'created' | 'updated' | 'destroyed' | 'bootstrapped' | 'errored' | 'noop';

export interface CosiEvent<S = Record<string, unknown>> {
  type: CosiEventType;
  resource?: CosiResource<S>;
  old?: CosiResource<S>;
  error?: string;
}

/** Well-known resource kinds (namespace + type) hearth reads. */
export const RESOURCES = {
  machineStatus: { namespace: 'runtime', type: 'MachineStatuses.runtime.talos.dev' },
  disks: { namespace: 'runtime', type: 'Disks.block.talos.dev' },
  machineConfig: { namespace: 'config', type: 'MachineConfigs.config.talos.dev' },
  systemInformation: { namespace: 'hardware', type: 'SystemInformations.hardware.talos.dev' },
  processors: { namespace: 'hardware', type: 'Processors.hardware.talos.dev' },
  memoryModules: { namespace: 'hardware', type: 'MemoryModules.hardware.talos.dev' },
  links: { namespace: 'network', type: 'LinkStatuses.net.talos.dev' },
  addresses: { namespace: 'network', type: 'AddressStatuses.net.talos.dev' },
  hostname: { namespace: 'network', type: 'HostnameStatuses.net.talos.dev' },
} as const;

interface WireResource {
  metadata?: { namespace?: string; type?: string; id?: string; version?: string; phase?: string; labels?: Record<string, string> } | null;
  spec?: { yaml_spec?: string } | null;
}

export function parseResource<S = Record<string, unknown>>(node: string, r: WireResource | null | undefined): CosiResource<S> {
  const md = r?.metadata;
  if (!md) throw new TalosApiError(node, 'BAD_REPLY', 'a COSI resource without metadata');
  const docs = parseAllDocuments(r?.spec?.yaml_spec ?? '');
  const bad = docs.flatMap((d) => d.errors)[0];
  if (bad) throw new TalosApiError(node, 'BAD_REPLY', `resource ${md.type}/${md.id}: unreadable yaml_spec (${bad.message.split('\n')[0]})`);
  // one document is the usual spec; several (never seen from Talos so far) are kept as a list
  const values = docs.map((d) => d.toJS() as unknown);
  const spec = values.length === 0 ? {} : values.length === 1 ? (values[0] ?? {}) : values;
  return {
    namespace: md.namespace ?? '',
    type: md.type ?? '',
    id: md.id ?? '',
    version: md.version ?? '',
    phase: md.phase ?? '',
    labels: md.labels ?? {},
    spec: spec as S,
  };
}

export interface WireEvent {
  event_type?: string;
  resource?: WireResource | null;
  old?: WireResource | null;
  error?: string;
}

export function parseEvent<S>(node: string, e: WireEvent): CosiEvent<S> {
  const type = (e.event_type ?? 'CREATED').toLowerCase() as CosiEventType;
  const out: CosiEvent<S> = { type };
  if (e.resource?.metadata) out.resource = parseResource<S>(node, e.resource);
  if (e.old?.metadata) out.old = parseResource<S>(node, e.old);
  if (e.error) out.error = e.error;
  return out;
}
