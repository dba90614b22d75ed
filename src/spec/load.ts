import path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { InputError } from '../common/errors.js';
import { readInputFile } from '../common/fs.js';
import { checkHeader, type RawSpec } from './apiversion.js';
import { crossFieldChecks } from './checks.js';
import { formatIssue, formatPath, locate, type LocatedIssue, type SpecIssue, type SpecPath } from './issues.js';
import { specJsonSchema, specSchema, type Spec } from './schema.js';
import { didYouMean } from './suggest.js';
import { defaultKubernetesVersion } from './versions.js';

/** A validated spec together with where it came from, so later stages can point into the file. */
export interface LoadedSpec {
  spec: Spec;
  /** The file as given on the command line (used in messages). */
  file: string;
  /** Directory that relative paths in the spec (patches, assets) are resolved against. */
  baseDir: string;
  /** Turns stage issues into `FILE:LINE:COL path: message` records. */
  locate(issues: SpecIssue[]): LocatedIssue[];
}

export interface LoadResult {
  loaded?: LoadedSpec;
  issues: LocatedIssue[];
  /** Things that load but should change (a file without apiVersion and kind). */
  warnings: LocatedIssue[];
}

/** Parses and validates spec text. Never throws on bad input: every problem comes back as an issue. */
export function parseSpec(text: string, file: string, baseDir = path.dirname(path.resolve(file))): LoadResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const at = (issues: SpecIssue[]) => issues.map((i) => ({ ...i, file, ...locate(doc, lc, i.path, i.atKey) }));

  if (doc.errors.length > 0) {
    return {
      issues: doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return { file, line: pos.line, col: pos.col, path: [], message: `YAML: ${e.message.split('\n')[0]}` };
      }),
      warnings: [],
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (err) {
    return { issues: [{ file, line: 1, col: 1, path: [], message: `YAML: ${(err as Error).message}` }], warnings: [] };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { issues: at([{ path: [], message: 'the spec must be a mapping (apiVersion:, kind:, metadata:, cluster:, ...)' }]), warnings: [] };
  }

  const header = checkHeader(raw as RawSpec);
  const warnings = at(header.warnings);
  const result = specSchema.safeParse(header.raw);
  const issues: SpecIssue[] = [...header.issues];
  if (!result.success) issues.push(...result.error.issues.flatMap((i) => fromZod(i, header.raw)));
  issues.push(...crossFieldChecks(header.raw));
  if (issues.length > 0 || !result.success) {
    return { issues: sortIssues(at(dedupe(issues))), warnings };
  }
  const spec = result.data;
  spec.talos.kubernetesVersion ??= defaultKubernetesVersion(spec.talos.version);
  return { loaded: { spec, file, baseDir, locate: at }, issues: [], warnings };
}

/** Where loadSpec reports warnings unless told otherwise: one line each on stderr, never stdout. */
export function warnOnStderr(w: LocatedIssue): void {
  process.stderr.write(`warning: ${formatIssue(w)}\n`);
}

/**
 * Reads and validates a spec file; throws InputError listing every problem. Warnings go to
 * `onWarning` (stderr by default), before any error, so stdout keeps only a command's data.
 */
export function loadSpec(file: string, onWarning: (w: LocatedIssue) => void = warnOnStderr): LoadedSpec {
  const text = readInputFile(file, 'spec', ' (create one with `hearth init`)');
  const { loaded, issues, warnings } = parseSpec(text, file);
  warnings.forEach(onWarning);
  if (!loaded) throw specError(issues);
  return loaded;
}

export function specError(issues: LocatedIssue[]): InputError {
  const n = issues.length;
  return new InputError(`${issues[0]?.file ?? 'spec'}: ${n} problem${n === 1 ? '' : 's'}`, issues.map(formatIssue));
}

/** Throws if stage checks found anything: used after the stages looked at a loaded spec. */
export function assertNoIssues(loaded: LoadedSpec, issues: SpecIssue[]): void {
  if (issues.length > 0) throw specError(sortIssues(loaded.locate(dedupe(issues))));
}

function sortIssues(list: LocatedIssue[]): LocatedIssue[] {
  return [...list].sort((a, b) => a.line - b.line || a.col - b.col);
}

function dedupe(list: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return list.filter((i) => {
    const k = `${formatPath(i.path)}\0${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

type ZodIssue = z.core.$ZodIssue;

/** Turns a zod issue into hearth's wording: short, and with a did-you-mean where one helps. */
function fromZod(issue: ZodIssue, raw: unknown): SpecIssue[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(path);
      return issue.keys.map((k) => ({
        path: [...path, k],
        atKey: true,
        message: `unknown field "${k}"${didYouMean(k, known)}`,
      }));
    }
    case 'invalid_type': {
      const got = valueAt(raw, path);
      if (got === undefined) return [{ path, message: 'required field is missing' }];
      if (issue.expected === 'string' && (typeof got === 'number' || typeof got === 'boolean')) {
        return [{ path, message: `must be a string, not ${describe(got)} (quote it: "${String(got)}")` }];
      }
      return [{ path, message: `must be ${article(issue.expected)}, not ${describe(got)}` }];
    }
    case 'invalid_value': {
      const got = valueAt(raw, path);
      if (got === undefined) return [{ path, message: 'required field is missing' }];
      const values = issue.values.map(String);
      return [{ path, message: `must be one of ${values.join(', ')}, not ${JSON.stringify(got)}${didYouMean(String(got), values)}` }];
    }
    case 'too_small':
      if (issue.origin === 'array') return [{ path, message: `needs at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}` }];
      if (issue.origin === 'string') return [{ path, message: 'must not be empty' }];
      return [{ path, message: `must be at least ${issue.minimum}` }];
    case 'too_big':
      if (issue.origin === 'string') return [{ path, message: `must be at most ${issue.maximum} characters` }];
      return [{ path, message: `must be at most ${issue.maximum}` }];
    case 'invalid_union':
      return [{ path, message: unionMessage(path) }];
    case 'invalid_format':
    case 'custom':
    default:
      return [{ path, message: issue.message }];
  }
}

function unionMessage(path: SpecPath): string {
  const last = path[path.length - 1];
  if (last === 'interface') return 'must be a link name like eth0, or a device selector (hardwareAddr, busPath, pciID, driver, physical)';
  if (path.includes('patches')) return 'must be a file path, inline YAML text, a patch object, or a list of RFC 6902 operations';
  return 'does not match any of the allowed forms';
}

function article(expected: string): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false', int: 'a whole number' };
  return names[expected] ?? expected;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(raw: unknown, path: SpecPath): unknown {
  let v: unknown = raw;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** The field names the JSON Schema allows at a path: the candidates for did-you-mean. */
function knownKeys(path: SpecPath): string[] {
  const root = specJsonSchema();
  let node: Record<string, unknown> | undefined = root;
  const resolve = (n: Record<string, unknown> | undefined): Record<string, unknown> | undefined => {
    if (n && typeof n.$ref === 'string') {
      const name = n.$ref.replace(/^#\/(\$defs|definitions)\//, '');
      const defs = (root.$defs ?? root.definitions) as Record<string, Record<string, unknown>> | undefined;
      return defs?.[name];
    }
    return n;
  };
  for (const seg of path) {
    node = resolve(node);
    if (!node) return [];
    if (typeof seg === 'number') node = node.items as Record<string, unknown> | undefined;
    else node = (node.properties as Record<string, Record<string, unknown>> | undefined)?.[seg];
    node = resolve(node);
    // A union (interface: name | selector): take the object branch.
    const anyOf = (node?.anyOf ?? node?.oneOf) as Record<string, unknown>[] | undefined;
    if (anyOf) node = anyOf.map(resolve).find((b) => b?.type === 'object') ?? node;
  }
  node = resolve(node);
  const anyOf = (node?.anyOf ?? node?.oneOf) as Record<string, unknown>[] | undefined;
  if (anyOf) node = anyOf.map(resolve).find((b) => b?.type === 'object') ?? node;
  return Object.keys((node?.properties as object | undefined) ?? {});
}
