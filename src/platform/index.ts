/**
 * The platform stage: the system components as Flux HelmReleases with dependencies.
 * bundles -> resolve (spec applied, graph checked; check.ts: its issues) -> render (pure; plan.ts:
 * the plan's files and waves) -> install / status (cluster, the Kubernetes client).
 */
export { checkPlatform } from './check.js';
export { formatProvenance, formatWaves, planData, planPlatform, type PlanData } from './plan.js';
export { nodeRequirements, type NodeNeeds, type NodeRequirements } from './node-needs.js';
export { resolvePlatform, waves, deepMerge, cycleIssues, type Resolution } from './resolve.js';
export { renderPlatform, allObjects, platformArtifacts, toYamlStream, type RenderedPlatform } from './render.js';
export { BUNDLES, bundleComponents, type BundleName } from './bundles/index.js';
export { CATALOG, DEFAULT_FLUX_VERSION, FLUX_NAMESPACE, SOURCES_NAMESPACE } from './bundles/catalog.js';
export type { ComponentDef, ResolvedComponent, KubeObject } from './types.js';
export { fluxManifestsFromFile, fluxManifestsFromRelease } from './flux.js';
export { expectedReleases, installPlatform } from './install.js';
export { clientFromKubeconfig, type KubeClient } from './kube/client.js';
export { releaseStatuses, STATUS_HEADERS, statusRow, waitingLines, type ExpectedRelease } from './status.js';
export { listReleases, followReleases, type FollowOptions } from './watch.js';
