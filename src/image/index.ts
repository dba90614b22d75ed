/**
 * The image stage. (Being built: see its issue.)
 */
import type { Artifact } from '../common/artifacts.js';
import type { LoadedSpec, SpecIssue } from '../spec/index.js';

/** Checks of the spec that only this stage can make; each names its field. */
export function checkImage(_loaded: LoadedSpec): SpecIssue[] {
  return [];
}

/** What `hearth plan` writes into DIR/image/. */
export async function planImage(_loaded: LoadedSpec): Promise<Artifact[]> {
  return [];
}
