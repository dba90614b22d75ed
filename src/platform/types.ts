/** Types shared by the platform stage: components, bundles, resolved plans and Kubernetes objects. */

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

/** Parts of a platform that a bundle variant may leave out. */
export type Trait = 'cni' | 'load-balancer' | 'storage' | 'virtualisation' | 'tenant-clusters' | 'dashboard' | 'flux';

/** A component as shipped in hearth's catalog: one Flux HelmRelease. */
export interface ComponentDef {
  name: string;
  namespace: string;
  /** Helm release name when it differs from the component name. */
  releaseName?: string;
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
}

/** A component after the spec has been applied: bundle defaults, overrides, disables. */
export interface ResolvedComponent extends Omit<ComponentDef, 'values' | 'traits' | 'skip'> {
  /** The values, function defaults evaluated and the spec's values merged in. */
  values: Values;
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
