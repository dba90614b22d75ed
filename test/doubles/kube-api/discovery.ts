/**
 * What clients read before they act: /version, discovery (aggregated apidiscovery.k8s.io/v2 for
 * clients that ask for it, as kubectl does; else legacy /api, /apis, /api/v1, /apis/GROUP/VERSION), and OpenAPI v3 (the root index of group-versions
 * and one document per group-version whose PATCH paths declare the fieldValidation parameter, which
 * is how kubectl decides to validate on the server) plus a JSON /openapi/v2.
 */
import type { ResourceInfo } from './types.js';

export const VERSION = { major: '1', minor: '33', gitVersion: 'v1.33.0', gitCommit: 'hearth-kube-double', gitTreeState: 'clean', buildDate: '2025-04-23T00:00:00Z', goVersion: 'go1.24.2', compiler: 'gc', platform: 'linux/amd64' };

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const groupsOf = (rs: ResourceInfo[]) => [...new Set(rs.filter((r) => r.group).map((r) => r.group))];
const versionsOf = (rs: ResourceInfo[], g: string) => [...new Set(rs.filter((r) => r.group === g).map((r) => r.version))];


/** Legacy (unaggregated) discovery documents; null for an unknown group-version, undefined for other paths. */
export function discovery(path: string, served: ResourceInfo[]): unknown | null | undefined {
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] };
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groupsOf(served).map((g) => {
        const versions = versionsOf(served, g).map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
        return { name: g, versions, preferredVersion: versions[0] };
      }),
    };
  }
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/?$/.exec(path);
  if (!m) {
    const g = /^\/apis\/([^/]+)\/?$/.exec(path);
    if (!g) return undefined;
    const versions = versionsOf(served, g[1]!).map((v) => ({ groupVersion: `${g[1]}/${v}`, version: v }));
    return versions.length ? { kind: 'APIGroup', apiVersion: 'v1', name: g[1], versions, preferredVersion: versions[0] } : null;
  }
  const group = m[1] ? '' : m[2]!;
  const version = m[1] ?? m[3]!;
  const list = served.filter((r) => r.group === group && r.version === version);
  if (list.length === 0) return null;
  const resources = list.flatMap((r) => {
    const main = { name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: r.verbs ?? VERBS, ...(r.shortNames ? { shortNames: r.shortNames } : {}) };
    const st = { name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] };
    return r.statusSubresource ? [main, st] : [main];
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

export const AGGREGATED_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** The client takes aggregated discovery (apidiscovery.k8s.io/v2), as kubectl does. */
export const wantsAggregated = (accept: string): boolean => /g=apidiscovery\.k8s\.io;v=v2;as=APIGroupDiscoveryList/.test(accept);

/** Aggregated discovery of /api (the core group) or /apis (the named groups) in one document. */
export function aggregated(path: '/api' | '/apis', served: ResourceInfo[]): unknown {
  const groups = path === '/api' ? [''] : groupsOf(served);
  const items = groups.map((g) => ({
    metadata: g ? { name: g, creationTimestamp: null } : { creationTimestamp: null },
    versions: versionsOf(served, g).map((version) => ({
      version,
      freshness: 'Current',
      resources: served
        .filter((r) => r.group === g && r.version === version)
        .map((r) => {
          const responseKind = { group: r.group, version: r.version, kind: r.kind };
          return {
            resource: r.plural,
            responseKind,
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.kind.toLowerCase(),
            verbs: r.verbs ?? VERBS,
            ...(r.shortNames ? { shortNames: r.shortNames } : {}),
            ...(r.statusSubresource ? { subresources: [{ subresource: 'status', responseKind, verbs: ['get', 'patch', 'update'] }] } : {}),
          };
        }),
    })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

const gvPath = (r: { group: string; version: string }) => (r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`);

/** /openapi/v3: where each group-version's document is. */
export function openapiV3Root(served: ResourceInfo[], hash: string): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const r of served) paths[gvPath(r)] = { serverRelativeURL: `/openapi/v3/${gvPath(r)}?hash=${hash}` };
  return { paths };
}

// the write operations' query parameters: kubectl validates on the server when PATCH declares fieldValidation
const QUERY = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string' }, uniqueItems: true }));

function definitionName(r: ResourceInfo): string {
  return `${r.group ? r.group.split('.').reverse().join('.') : 'io.k8s.api.core'}.${r.version}.${r.kind}`;
}

/** One group-version's OpenAPI v3 document; undefined when nothing is served there. */
export function openapiV3Doc(path: string, served: ResourceInfo[], crdSchemas: Map<string, unknown>): unknown | undefined {
  const rs = served.filter((r) => `/openapi/v3/${gvPath(r)}` === path);
  if (rs.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const r of rs) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const base = `/${gvPath(r)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}/{name}`;
    const ref = { $ref: `#/components/schemas/${definitionName(r)}` };
    const op = (action: string) => ({
      operationId: `${action}${r.kind}`,
      parameters: action === 'get' ? [] : QUERY,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      responses: { '200': { content: { 'application/json': { schema: ref } } } },
    });
    paths[base] = { parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], get: op('get'), put: op('put'), patch: op('patch'), delete: op('delete') };
    const schema = (crdSchemas.get(`${r.group}/${r.version}/${r.kind}`) ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) as Record<string, unknown>;
    schemas[definitionName(r)] = { ...schema, 'x-kubernetes-group-version-kind': [gvk] };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: VERSION.gitVersion }, paths, components: { schemas } };
}

/** /openapi/v2 as JSON (definitions of the served kinds). */
export function openapiV2(served: ResourceInfo[]): unknown {
  const definitions = Object.fromEntries(served.map((r) => [definitionName(r), { type: 'object', 'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }] }]));
  return { swagger: '2.0', info: { title: 'Kubernetes', version: VERSION.gitVersion }, paths: {}, definitions };
}
