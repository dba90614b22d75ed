import type { LoadedSpec, SpecIssue } from '../spec/index.js';
import { resolvePlatform, type Resolution } from './resolve.js';

/**
 * Checks of the spec that only this stage can make (unknown components, duplicates, dependency
 * cycles, system extensions the enabled components need and the image lacks); each names its
 * field. Cheap to load: no Kubernetes client. `resolution` is the platform as already resolved
 * (resolved here when not given).
 */
export function checkPlatform(loaded: LoadedSpec, resolution: Resolution = resolvePlatform(loaded.spec)): SpecIssue[] {
  return [...resolution.issues, ...extensionIssues(loaded, resolution)];
}

/** One issue per extension a component needs that image.extensions does not list. */
export function extensionIssues(loaded: LoadedSpec, resolution: Resolution): SpecIssue[] {
  const have = new Set(loaded.spec.image.extensions);
  const issues: SpecIssue[] = [];
  for (const x of resolution.node.extensions) {
    if (have.has(x.name)) continue;
    const users = x.for.join(', ');
    issues.push({
      path: ['image', 'extensions'],
      message: `${users} ${x.for.length > 1 ? 'need' : 'needs'} the Talos system extension ${x.name}: add it to image.extensions, or list ${users} in platform.disable`,
    });
  }
  return issues;
}
