/**
 * The platform stage. (Being built: see its issue.)
 */
import type { Artifact } from '../common/artifacts.js';
import type { LoadedSpec, SpecIssue } from '../spec/index.js';

/** Checks of the spec that only this stage can make; each names its field. */
export function checkPlatform(_loaded: LoadedSpec): SpecIssue[] {
  return [];
}

/** What `hearth plan` writes into DIR/platform/. */
export async function planPlatform(_loaded: LoadedSpec): Promise<Artifact[]> {
  return [];
}
