/**
 * Pure renderers: resolved components in, Kubernetes objects out (Namespaces, Flux sources,
 * HelmReleases), and those objects as files. No I/O.
 */
import { stringify } from 'yaml';
import type { Artifact } from '../common/artifacts.js';
import { SOURCES_NAMESPACE } from './bundles/catalog.js';
import type { KubeObject, ResolvedComponent } from './types.js';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'hearth' } as const;
export const COMPONENT_LABEL = 'hearth.dev/component';
export const HELMRELEASE_API = 'helm.toolkit.fluxcd.io/v2';
export const SOURCE_API = 'source.toolkit.fluxcd.io/v1';
/** How many times Flux retries a failed install or upgrade before it gives up (and hearth reports failure). */
export const REMEDIATION_RETRIES = 3;

export interface RenderedPlatform {
  namespaces: KubeObject[];
  sources: KubeObject[];
  releases: KubeObject[];
  /** Flux must run on the host network: the platform brings the CNI, so none exists when Flux starts. */
  fluxOnHostNetwork?: boolean;
}

/** A DNS-label name for a HelmRepository from its URL: helm.cilium.io -> helm-cilium-io. */
export function repositoryName(url: string): string {
  const u = new URL(url);
  const slug = `${u.hostname}${u.pathname}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return slug.length <= 63 ? slug : slug.slice(0, 63).replace(/-+$/, '');
}

function isOci(url: string): boolean {
  return url.startsWith('oci://');
}

export function renderPlatform(components: ResolvedComponent[]): RenderedPlatform {
  const byName = new Map(components.map((c) => [c.name, c]));

  const nsPrivileged = new Map<string, boolean>();
  nsPrivileged.set(SOURCES_NAMESPACE, false);
  for (const c of components) nsPrivileged.set(c.namespace, (nsPrivileged.get(c.namespace) ?? false) || c.privileged);
  const namespaces: KubeObject[] = [...nsPrivileged.keys()].sort().map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        ...MANAGED_BY,
        ...(nsPrivileged.get(name) ? { 'pod-security.kubernetes.io/enforce': 'privileged' } : {}),
      },
    },
  }));

  const sources = new Map<string, KubeObject>();
  const releases: KubeObject[] = [];
  for (const c of components) {
    let chartSpec: Record<string, unknown>;
    if (isOci(c.chart.repository)) {
      // One OCIRepository per chart: the artifact is the chart itself.
      const name = `${c.namespace}-${c.name}`.slice(0, 63).replace(/-+$/, '');
      sources.set(`oci:${name}`, {
        apiVersion: SOURCE_API,
        kind: 'OCIRepository',
        metadata: { name, namespace: SOURCES_NAMESPACE, labels: { ...MANAGED_BY, [COMPONENT_LABEL]: c.name } },
        spec: {
          interval: '10m',
          url: `${c.chart.repository.replace(/\/+$/, '')}/${c.chart.name}`,
          ref: { tag: c.chart.version },
          layerSelector: { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', operation: 'copy' },
        },
      });
      chartSpec = { chartRef: { kind: 'OCIRepository', name, namespace: SOURCES_NAMESPACE } };
    } else {
      const name = repositoryName(c.chart.repository);
      if (!sources.has(`helm:${name}`)) {
        sources.set(`helm:${name}`, {
          apiVersion: SOURCE_API,
          kind: 'HelmRepository',
          metadata: { name, namespace: SOURCES_NAMESPACE, labels: { ...MANAGED_BY } },
          spec: { interval: '1h', url: c.chart.repository },
        });
      }
      chartSpec = {
        chart: {
          spec: {
            chart: c.chart.name,
            version: c.chart.version,
            sourceRef: { kind: 'HelmRepository', name, namespace: SOURCES_NAMESPACE },
            interval: '1h',
          },
        },
      };
    }
    releases.push({
      apiVersion: HELMRELEASE_API,
      kind: 'HelmRelease',
      metadata: {
        name: c.name,
        namespace: c.namespace,
        labels: { ...MANAGED_BY, [COMPONENT_LABEL]: c.name },
      },
      spec: {
        ...(c.releaseName ? { releaseName: c.releaseName } : {}),
        interval: '10m',
        timeout: '10m',
        ...chartSpec,
        install: { crds: 'CreateReplace', remediation: { retries: REMEDIATION_RETRIES } },
        upgrade: { crds: 'CreateReplace', cleanupOnFail: true, remediation: { retries: REMEDIATION_RETRIES, remediateLastFailure: true } },
        ...(c.dependsOn.length > 0
          ? { dependsOn: c.dependsOn.map((d) => ({ name: d, namespace: byName.get(d)?.namespace ?? c.namespace })) }
          : {}),
        ...(c.postRenderers && c.postRenderers.length > 0 ? { postRenderers: c.postRenderers } : {}),
        ...(Object.keys(c.values).length > 0 ? { values: c.values } : {}),
      },
    });
  }
  return {
    namespaces,
    sources: [...sources.values()].sort(byKindName),
    releases,
    fluxOnHostNetwork: components.some((c) => c.traits?.includes('cni') ?? false),
  };
}

function byKindName(a: KubeObject, b: KubeObject): number {
  return a.kind.localeCompare(b.kind) || a.metadata.name.localeCompare(b.metadata.name);
}

/** Objects in apply order: namespaces, then sources, then releases. */
export function allObjects(r: RenderedPlatform): KubeObject[] {
  return [...r.namespaces, ...r.sources, ...r.releases];
}

export function toYamlStream(objects: KubeObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}

/** The files `hearth platform render --out DIR` and `hearth plan` write. */
export function platformArtifacts(r: RenderedPlatform): Artifact[] {
  return [
    { path: '00-namespaces.yaml', content: toYamlStream(r.namespaces), description: 'Namespaces' },
    { path: '10-sources.yaml', content: toYamlStream(r.sources), description: 'Flux HelmRepositories and OCIRepositories' },
    { path: '20-helmreleases.yaml', content: toYamlStream(r.releases), description: 'Flux HelmReleases' },
  ];
}
