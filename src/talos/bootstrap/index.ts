/**
 * `hearth bootstrap` as a library: from nodes in Talos maintenance mode to a healthy cluster. Loads
 * the Talos API client (gRPC); import it only where a command talks to nodes.
 */
export { bootstrapCluster, type BootstrapEvent, type BootstrapOptions, type BootstrapSummary, type MachineSummary } from './engine.js';
export { preflight, minorVersion, type Candidate, type PreflightResult } from './preflight.js';
export { diskMatches, sizeMatcher, type DiskSelector } from './disks.js';
export { realClock, type Clock } from './clock.js';
export { NodeLostError, InterruptedError, HealthTimeoutError } from './errors.js';
export { kubeAccess, type KubeAccess } from './kube.js';
