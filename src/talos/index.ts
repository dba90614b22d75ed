/**
 * The talos stage. (Being built: see its issue.)
 */
import type { Artifact } from '../common/artifacts.js';
import type { LoadedSpec, SpecIssue } from '../spec/index.js';

/** Checks of the spec that only this stage can make; each names its field. */
export function checkTalos(_loaded: LoadedSpec): SpecIssue[] {
  return [];
}

/** What `hearth plan` writes into DIR/talos/. */
export async function planTalos(_loaded: LoadedSpec, _opts: { withSecrets: boolean; secretsFile?: string }): Promise<Artifact[]> {
  return [];
}
