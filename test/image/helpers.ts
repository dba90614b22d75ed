import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES } from '../helpers/cli.js';
import { parseSpec, type LoadedSpec } from '../../src/spec/index.js';

/**
 * A minimal valid spec with an image section given as YAML lines (indented by two). Its platform is
 * the hosted bundle: the default paas-full's LINSTOR needs the drbd extension, which these images may lack.
 */
export function specText(image: string, talos = 'v1.13.9'): string {
  return `apiVersion: hearth.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
talos:
  version: ${talos}
image:
${image}
cluster:
  endpoint: https://192.0.2.10:6443
platform:
  bundle: paas-hosted
`;
}

export function load(image: string, talos = 'v1.13.9'): LoadedSpec {
  const { loaded, issues } = parseSpec(specText(image, talos), 'hearth.yaml', '/tmp');
  if (!loaded) throw new Error(`spec invalid: ${issues.map((i) => i.message).join('; ')}`);
  return loaded;
}

/**
 * The seed's installer profile, verbatim from the blog post hearth was started from
 * (test/fixtures/seed/installer-profile.yaml; provenance in test/fixtures/README.md).
 */
export const SEED_PROFILE = readFileSync(path.join(FIXTURES, 'seed/installer-profile.yaml'), 'utf8');

export const SEED_IMAGE = `  firmware: [amd-ucode, amdgpu-firmware, bnx2-bnx2x, i915-ucode, intel-ice-firmware, intel-ucode, qlogic-firmware]
  extensions: [drbd, zfs]
  source: imager`;
