/**
 * The flow between the stages, first step: hearth.yaml is loaded once, the files it points at (Talos
 * patches) are read once and the platform is resolved once; every stage's checks run on that, and
 * what later stages need from earlier ones is passed on from here — today the platform's CNI and
 * kube-proxy choice, which the Talos configs follow.
 *
 * Cheap to load (the spec and each stage's check module, no renderer, PKI or Kubernetes client):
 * `hearth validate` is this module and nothing else. Rendering all stages is ./plan.ts.
 */
import { checkImage } from '../image/check.js';
import { checkNetboot } from '../netboot/check.js';
import { checkPlatform } from '../platform/check.js';
import { resolvePlatform, type Resolution } from '../platform/resolve.js';
import { assertNoIssues, loadSpec, type LoadedSpec } from '../spec/index.js';
import { checkTalos, loadPatches } from '../talos/check.js';
import type { ClusterNetworking, TalosInputs } from '../talos/index.js';

/** A checked spec and what the stages derive from it, each made once. */
export interface Prepared {
  loaded: LoadedSpec;
  /** The platform with the spec applied (components, waves, warnings). */
  platform: Resolution;
  /** What the talos stage takes besides the spec: the patches as read, the platform's networking and node needs. */
  talos: Required<TalosInputs>;
}

/**
 * How the platform shapes the cluster's networking, for the Talos configs: a platform that installs
 * its own CNI needs Talos to deploy none (cluster.network.cni.name: none), and Cilium with
 * kubeProxyReplacement needs Talos to skip kube-proxy (cluster.proxy.disabled).
 */
export function clusterNetworking(platform: Resolution): ClusterNetworking {
  const cni = platform.components.filter((c) => c.traits?.includes('cni'));
  const kpr = cni.find((c) => c.name === 'cilium')?.values.kubeProxyReplacement;
  return { cniNone: cni.length > 0, kubeProxyDisabled: kpr === true || kpr === 'true' };
}

/**
 * Loads the spec at `file` and runs every stage's checks: the gate before anything is written or
 * run. Throws InputError listing every problem at its FILE:LINE:COL.
 */
export function prepare(file: string): Prepared {
  return prepareLoaded(loadSpec(file));
}

/** The same checks on a spec already parsed (e.g. text about to be written: `hearth machines add`). */
export function prepareLoaded(loaded: LoadedSpec): Prepared {
  const patches = loadPatches(loaded);
  const platform = resolvePlatform(loaded.spec);
  assertNoIssues(loaded, [...checkImage(loaded), ...checkNetboot(loaded), ...checkTalos(loaded, patches), ...checkPlatform(loaded, platform)]);
  return { loaded, platform, talos: { patches, networking: clusterNetworking(platform), node: platform.node } };
}
