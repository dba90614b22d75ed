/**
 * The bundles hearth ships (after Cozystack's paas-full / distro-full / paas-hosted / distro-hosted):
 * each is the catalog minus the parts of a platform its variant leaves out.
 */
import type { Trait } from '../types.js';
import { CATALOG } from './catalog.js';

export type BundleName = 'paas-full' | 'distro-full' | 'paas-hosted' | 'distro-hosted';

export interface Bundle {
  name: BundleName;
  description: string;
  /** Parts left out. */
  without: Trait[];
}

/** A hosted cluster already has a CNI, load balancers and storage. */
const HOSTED: Trait[] = ['cni', 'load-balancer', 'storage'];
/** A distribution is the cluster without the cloud on top: no VMs, no tenant clusters, no dashboard. */
const DISTRO: Trait[] = ['virtualisation', 'tenant-clusters', 'dashboard'];

export const BUNDLES: Record<BundleName, Bundle> = {
  'paas-full': { name: 'paas-full', description: 'the whole platform on bare metal', without: [] },
  'distro-full': { name: 'distro-full', description: 'Kubernetes distribution on bare metal: no virtualisation, tenant clusters or dashboard', without: DISTRO },
  'paas-hosted': { name: 'paas-hosted', description: 'the platform on a hosted cluster: no CNI, load balancer or storage', without: HOSTED },
  'distro-hosted': { name: 'distro-hosted', description: 'the distribution on a hosted cluster', without: [...DISTRO, ...HOSTED] },
};

/** Names of the catalog components in a bundle, in catalog order. */
export function bundleComponents(name: BundleName): string[] {
  const without = new Set(BUNDLES[name].without);
  return CATALOG.filter((c) => !c.traits.some((t) => without.has(t))).map((c) => c.name);
}


