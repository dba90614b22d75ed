/**
 * hearth.yaml's type header, Kubernetes-style (as Talos and Omni documents carry one):
 *
 *   apiVersion: hearth.dev/v1alpha1
 *   kind: Cluster
 *
 * The group is hearth.dev, the name hearth already uses for its Kubernetes labels
 * (hearth.dev/component). The loader checks the header before the rest, then converts an older
 * version step by step to the current one, so the format can change without breaking files.
 * Files written before the header existed still load, as the current version, with a warning.
 */
import type { SpecIssue } from './issues.js';
import { didYouMean } from './suggest.js';

export const SPEC_API_GROUP = 'hearth.dev';
export const SPEC_VERSION = 'v1alpha1';
export const SPEC_API_VERSION = `${SPEC_API_GROUP}/${SPEC_VERSION}`;
export const SPEC_KIND = 'Cluster';

export type RawSpec = Record<string, unknown>;

/** Rewrites a document of apiVersion `from` into apiVersion `to` (the next one). */
export interface Conversion {
  from: string;
  to: string;
  convert(raw: RawSpec): RawSpec;
}

/**
 * Conversions, oldest first; the last `to` is SPEC_API_VERSION. Empty while v1alpha1 is the only
 * version. Introducing v1alpha2: bump SPEC_API_VERSION, change the schema, and append
 * `{ from: 'hearth.dev/v1alpha1', to: 'hearth.dev/v1alpha2', convert }`.
 */
export const CONVERSIONS: readonly Conversion[] = [];

/** Every apiVersion this hearth reads, oldest first. */
export function readableVersions(conversions: readonly Conversion[] = CONVERSIONS): string[] {
  return [...conversions.map((c) => c.from), SPEC_API_VERSION];
}

export interface HeaderCheck {
  /** The document at the current apiVersion (converted if it was older), ready for the schema. */
  raw: RawSpec;
  issues: SpecIssue[];
  warnings: SpecIssue[];
}

/**
 * Checks apiVersion and kind and converts to the current version. A wrong header is reported
 * like any other field (and the rest is still validated as the current version, so one run
 * lists every problem); a missing header is a warning.
 */
export function checkHeader(raw: RawSpec, conversions: readonly Conversion[] = CONVERSIONS): HeaderCheck {
  const { apiVersion, kind } = raw;
  const current = { ...raw, apiVersion: SPEC_API_VERSION, kind: SPEC_KIND };
  if (apiVersion === undefined && kind === undefined) {
    const message = `no apiVersion and kind: read as ${SPEC_API_VERSION} ${SPEC_KIND}; add "apiVersion: ${SPEC_API_VERSION}" and "kind: ${SPEC_KIND}" at the top`;
    return { raw: current, issues: [], warnings: [{ path: [], message }] };
  }
  const known = readableVersions(conversions);
  const issues: SpecIssue[] = [];
  if (apiVersion === undefined) {
    issues.push({ path: ['apiVersion'], message: `required field is missing (apiVersion: ${SPEC_API_VERSION})` });
  } else if (typeof apiVersion !== 'string' || !known.includes(apiVersion)) {
    const got = typeof apiVersion === 'string' ? JSON.stringify(apiVersion) : String(apiVersion);
    const hint = typeof apiVersion === 'string' ? didYouMean(apiVersion, known) : '';
    issues.push({ path: ['apiVersion'], message: `unknown apiVersion ${got}: this hearth reads ${known.join(', ')}${hint}` });
  }
  if (kind === undefined) {
    issues.push({ path: ['kind'], message: `required field is missing (kind: ${SPEC_KIND})` });
  } else if (kind !== SPEC_KIND) {
    const got = typeof kind === 'string' ? JSON.stringify(kind) : String(kind);
    issues.push({ path: ['kind'], message: `must be ${SPEC_KIND}, not ${got}${typeof kind === 'string' ? didYouMean(kind, [SPEC_KIND]) : ''}` });
  }
  if (issues.length > 0) return { raw: current, issues, warnings: [] };
  return { raw: convert(raw, apiVersion as string, conversions), issues: [], warnings: [] };
}

/** Applies the conversions from `version` on, in order. */
function convert(raw: RawSpec, version: string, conversions: readonly Conversion[]): RawSpec {
  let out = raw;
  let at = version;
  for (const step of conversions) {
    if (step.from !== at) continue;
    out = { ...step.convert(out), apiVersion: step.to };
    at = step.to;
  }
  return out;
}
