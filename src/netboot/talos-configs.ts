/**
 * The Talos configs netboot serves (issue 13 §1): rendered once at start from the spec and a secrets
 * bundle by the talos stage's own functions, so each one is byte for byte the nodes/<name>.yaml that
 * `hearth talos config` writes with the same spec and bundle.
 */
import { statSync } from 'node:fs';
import type { LoadedSpec } from '../spec/index.js';
import type { TalosInputs } from '../talos/stage.js';

/** Whether a server serves configs: the flag, else the spec, else "when it has the secrets". */
export function talosConfigEnabled(flag: boolean | undefined, spec: boolean | undefined, secretsFile: string | undefined): boolean {
  return flag ?? spec ?? secretsFile !== undefined;
}

/**
 * Every machine's config by machines[].name. `inputs` are the patches and networking the pipeline
 * derived (src/pipeline/prepare.ts); absent, they are derived here the same way.
 */
export async function renderServedConfigs(
  loaded: LoadedSpec,
  secretsFile: string,
  inputs?: TalosInputs,
): Promise<{ configs: Map<string, string>; warnings: string[] }> {
  const talos = await import('../talos/stage.js');
  const bundle = talos.readSecretsFile(secretsFile);
  const warnings: string[] = [];
  const mode = statSync(secretsFile).mode & 0o777;
  if (mode & 0o077) warnings.push(`${secretsFile} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
  const derived = inputs ?? (await import('../pipeline/prepare.js')).prepareLoaded(loaded).talos;
  const result = await talos.generateTalos(loaded, bundle, derived);
  const configs = new Map<string, string>();
  for (const a of talos.configArtifacts(result)) {
    const name = /^nodes\/(.+)\.yaml$/.exec(a.path)?.[1];
    if (name !== undefined) configs.set(name, typeof a.content === 'string' ? a.content : Buffer.from(a.content).toString('utf8'));
  }
  return { configs, warnings };
}
