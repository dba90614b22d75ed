/**
 * The spec stage: hearth.yaml in, a validated and defaulted Spec out.
 * Every later stage takes a Spec (or a LoadedSpec when it needs to point into the file).
 */
export { loadSpec, parseSpec, specError, assertNoIssues, warnOnStderr, type LoadedSpec, type LoadResult } from './load.js';
export { specSchema, specJsonSchema, SCHEMA_ID } from './schema.js';
export { SPEC_API_VERSION, SPEC_KIND, readableVersions, type Conversion } from './apiversion.js';
export type { Spec, SpecInput, Machine, ImageSpec, ClusterSpec, NetbootSpec, PlatformSpec, Patch } from './schema.js';
export { formatIssue, formatPath, type SpecIssue, type LocatedIssue, type SpecPath } from './issues.js';
export { TALOS_RELEASES, DEFAULT_TALOS_VERSION, defaultKubernetesVersion, talosRelease, majorMinor } from './versions.js';
export { DEFAULT_KERNEL_ARGS } from './sections/netboot.js';
export { isDuration, parseDuration } from './sections/common.js';
export * as net from './net.js';
export { closest, didYouMean } from './suggest.js';
