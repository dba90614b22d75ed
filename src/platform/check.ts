import type { LoadedSpec, SpecIssue } from '../spec/index.js';
import { resolvePlatform, type Resolution } from './resolve.js';

/**
 * Checks of the spec that only this stage can make (unknown components, duplicates, dependency
 * cycles); each names its field. Cheap to load: no Kubernetes client. `resolution` is the
 * platform as already resolved (resolved here when not given).
 */
export function checkPlatform(loaded: LoadedSpec, resolution: Resolution = resolvePlatform(loaded.spec)): SpecIssue[] {
  return resolution.issues;
}
