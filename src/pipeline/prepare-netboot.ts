/**
 * The gate of `hearth netboot serve`, before it binds anything: the spec (schema and cross-field
 * checks, as every command) and the netboot stage's own checks, each problem at its FILE:LINE:COL.
 *
 * The other stages' checks (image, Talos patches, platform) are not the netboot stage's business,
 * and loading and running them cost ~40 ms of a start that must answer DHCP within 0.3 s (issue
 * 11). They run only when the server serves Talos configs, which are made from them: then this is
 * ./prepare.ts's full gate, loaded on demand.
 */
import { checkNetboot } from '../netboot/check.js';
import { talosConfigEnabled } from '../netboot/talos-configs.js';
import { assertNoIssues, loadSpec, type LoadedSpec } from '../spec/index.js';
import type { TalosInputs } from '../talos/index.js';

/** A spec that `netboot serve` may serve from. */
export interface PreparedNetboot {
  /** The checked spec. */
  readonly loaded: LoadedSpec;
  /** What the Talos configs are rendered with (patches, the platform's networking): set only when configs are served. */
  readonly talos?: Required<TalosInputs>;
}

/**
 * Loads the spec at `file` and checks it for serving. `secretsFile` (--secrets) is what decides,
 * with netboot.talosConfig, whether Talos configs are served (netboot/talos-configs.ts); when they
 * are, every stage's checks run too. Throws InputError listing every problem.
 */
export async function prepareNetboot(file: string, secretsFile?: string): Promise<PreparedNetboot> {
  const loaded = loadSpec(file);
  if (!talosConfigEnabled(undefined, loaded.spec.netboot.talosConfig, secretsFile)) {
    assertNoIssues(loaded, checkNetboot(loaded));
    return { loaded };
  }
  const { prepareLoaded } = await import('./prepare.js');
  return { loaded, talos: prepareLoaded(loaded).talos };
}
