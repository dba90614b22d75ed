import type { Spec } from '../spec/index.js';

/** One requested package, with the spec field it came from. */
export interface RequestedName {
  field: 'firmware' | 'extensions';
  index: number;
  name: string;
}

/**
 * The packages a spec asks for, in image order: firmware first in the given order, then
 * extensions (the order of the seed's profile). A name given twice is kept once, at its first place.
 */
export function requestedNames(spec: Spec): RequestedName[] {
  const seen = new Set<string>();
  const out: RequestedName[] = [];
  for (const field of ['firmware', 'extensions'] as const) {
    spec.image[field].forEach((name, index) => {
      if (seen.has(name)) return;
      seen.add(name);
      out.push({ field, index, name });
    });
  }
  return out;
}

/** `v1.13.9` -> [1, 13, 9] */
export function versionParts(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (!m) throw new Error(`not a version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** a >= b for major.minor */
export function atLeast(v: string, major: number, minor: number): boolean {
  const [a, b] = versionParts(v);
  return a > major || (a === major && b >= minor);
}
