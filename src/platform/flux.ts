/**
 * Flux's own install manifests (the install.yaml of a fluxcd/flux2 release): where to get them
 * and how hearth adapts them (Flux runs in hearth's Flux namespace).
 */
import { parseAllDocuments } from 'yaml';
import { InputError, OperationError } from '../common/errors.js';
import { readInputFile } from '../common/fs.js';
import { FLUX_NAMESPACE } from './bundles/catalog.js';
import type { KubeObject } from './types.js';

export function fluxInstallUrl(version: string): string {
  return `https://github.com/fluxcd/flux2/releases/download/${version}/install.yaml`;
}

/** The CRDs hearth needs, with the versions it writes. */
export const FLUX_CRDS = [
  { name: 'helmreleases.helm.toolkit.fluxcd.io', version: 'v2' },
  { name: 'helmrepositories.source.toolkit.fluxcd.io', version: 'v1' },
  { name: 'ocirepositories.source.toolkit.fluxcd.io', version: 'v1' },
] as const;

/** Parses a multi-document manifest; throws InputError naming the file on bad YAML. */
export function parseManifests(text: string, origin: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new InputError(`${origin}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const o = doc.toJS() as KubeObject | null;
    if (o === null) continue;
    if (typeof o !== 'object' || !o.apiVersion || !o.kind || !o.metadata?.name) {
      throw new InputError(`${origin}: a document without apiVersion, kind and metadata.name`);
    }
    out.push(o);
  }
  if (!out.some((o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === FLUX_CRDS[0].name)) {
    throw new InputError(`${origin}: does not look like Flux's install.yaml (no ${FLUX_CRDS[0].name} CRD)`);
  }
  return out;
}

/**
 * Flux installs into flux-system; hearth runs it in its own namespace, as `flux install
 * --namespace` does: the namespace is replaced wherever it appears (objects, subjects, the
 * events address of the controllers, instance labels).
 */
export function adaptFluxManifests(objects: KubeObject[], namespace = FLUX_NAMESPACE): KubeObject[] {
  const swap = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/\bflux-system\b/g, namespace);
    if (Array.isArray(v)) return v.map(swap);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
    return v;
  };
  return objects.map((o) => {
    if (o.kind === 'CustomResourceDefinition') return o; // CRDs carry schemas, not namespaces
    return swap(o) as KubeObject;
  });
}

/** Reads --flux-manifests FILE. */
export async function fluxManifestsFromFile(file: string): Promise<KubeObject[]> {
  return parseManifests(readInputFile(file, '--flux-manifests'), file);
}

/** Downloads the pinned release's install.yaml; one clear line when it cannot. */
export async function fluxManifestsFromRelease(version: string, timeoutMs = 20_000, url = fluxInstallUrl(version)): Promise<KubeObject[]> {
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer in ${Math.round(timeoutMs / 1000)}s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new OperationError(
      `cannot download Flux ${version} from ${url} (${why}); on an air-gapped site pass --flux-manifests FILE (that release's install.yaml)`,
    );
  }
  return parseManifests(text, url);
}
