/** Types shared by the platform stage: components, bundles, resolved plans and Kubernetes objects. */
import type { NodeNeeds } from './node-needs.js';

export type { NodeNeeds } from './node-needs.js';

export type Values = Record<string, unknown>;

/** Where a Helm chart comes from: a HelmRepository URL (https://…) or an OCI repository (oci://…). */
export interface ChartSource {
  repository: string;
  name: string;
  version: string;
}

/** What a component's values and extra objects may depend on (taken from the spec). */
export interface RenderContext {
  /** Pod CIDRs (cluster.podSubnets). */
  podSubnets: string[];
  /** Service CIDRs (cluster.serviceSubnets). */
  serviceSubnets: string[];
  /** MetalLB pool (platform.loadBalancer.addresses). */
  loadBalancerAddresses: string[];
  /** The platform brings its own load balancer (MetalLB in the bundle, not disabled). */
  platformLoadBalancer: boolean;
  /** The IngressClass the platform's ingress controller serves, when the platform has one. */
  ingressClass?: string;
  /** The pinned Flux version (platform.flux.version or the default). */
  fluxVersion: string;
  /**
   * Flux runs on the host network (before the CNI exists): true when the platform installs the
   * CNI itself (a bundle with cilium/kubeovn that the spec does not disable).
   */
  fluxOnHostNetwork: boolean;
}

/** A Flux HelmRelease post-renderer (spec.postRenderers[]): kustomize patches applied to the chart's output. */
export interface PostRenderer {
  kustomize: { patches: { target: Record<string, string>; patch: string }[] };
}

/**
 * Where one fact about a component (its chart version, a value key) was checked: an upstream file
 * at a ref. `hearth platform plan` shows these.
 */
export interface Provenance {
  /** What was checked there: `chart version`, `values MASTER_NODES_LABEL`, … */
  readonly checks: string;
  /** The GitHub repository (owner/name), or the site for documentation pages. */
  readonly repo: string;
  /** The file (or page) inside it. */
  readonly path: string;
  /** The tag, branch or commit it was read at. */
  readonly ref: string;
  /** `weak`: the file does not pin this exact version; the note says what was and was not found. */
  readonly weak?: string;
}

/** CRDs a component installs, and CRDs whose objects its chart renders (so it must come after their installer). */
export interface CrdUse {
  /** CRD names (plural.group) the component's chart installs. */
  readonly provides?: readonly string[];
  /** CRD names whose objects the chart renders with the catalog's values. */
  readonly uses?: readonly string[];
}

/** Parts of a platform that a bundle variant may leave out. */
export type Trait = 'cni' | 'load-balancer' | 'storage' | 'virtualisation' | 'tenant-clusters' | 'dashboard' | 'flux';

/** A component as shipped in hearth's catalog: one Flux HelmRelease. */
export interface ComponentDef {
  name: string;
  namespace: string;
  /** Helm release name when it differs from the component name. */
  releaseName?: string;
  /** The component this one only serves (a helper release): left out whenever that one is. */
  partOf?: string;
  /** A values key the chart puts its objects' namespace in; set to the release namespace. */
  namespaceValue?: string;
  /** Needs the namespace's Pod Security level "privileged" (host network, host paths, capabilities). */
  privileged: boolean;
  chart: ChartSource;
  dependsOn: string[];
  /** Default values (a function when they come from the spec). */
  values: Values | ((ctx: RenderContext) => Values);
  /** Which parts of a platform this component is (bundles drop components by trait). */
  traits: Trait[];
  /** Where the chart and the default settings come from. */
  source: string;
  /** Left out (with a note) when this returns a reason. */
  skip?: (ctx: RenderContext) => string | undefined;
  /** Post-renderers for the HelmRelease (e.g. to drop an object the chart renders and another release owns). */
  postRenderers?: PostRenderer[];
  /** What the component needs from every node (kernel modules, CRI settings, sysctls, extensions, firewall). */
  node?: NodeNeeds | ((ctx: RenderContext) => NodeNeeds);
  /** CRDs it installs and uses. */
  crds?: CrdUse;
}

/** A component after the spec has been applied: bundle defaults, overrides, disables. */
export interface ResolvedComponent extends Omit<ComponentDef, 'values' | 'traits' | 'skip' | 'node'> {
  /** The values, function defaults evaluated and the spec's values merged in. */
  values: Values;
  /** The node needs, evaluated for the spec. */
  node?: NodeNeeds;
  /** The upstream files its chart version and value keys were checked against (bundle components). */
  provenance?: readonly Provenance[];
  /** The catalog's traits (empty for components the spec adds). */
  traits?: Trait[];
  /** From the bundle, a bundle component overridden by the spec, or added by the spec. */
  origin: 'bundle' | 'override' | 'spec';
  /** Index in platform.components when the spec names it. */
  specIndex?: number;
}

/** A Kubernetes object as rendered or read back. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
