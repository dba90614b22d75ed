import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type SpecPath = ReadonlyArray<string | number>;

/** A problem found in the spec, by field path. Stages return these from their checks. */
export interface SpecIssue {
  path: SpecPath;
  message: string;
  /** Point at the key of the field rather than its value (unknown fields). */
  atKey?: boolean;
}

/** A SpecIssue with its place in the file. */
export interface LocatedIssue extends SpecIssue {
  file: string;
  line: number;
  col: number;
}

/** `machines[2].bond.mode` */
export function formatPath(path: SpecPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out === '' ? '(root)' : out;
}

export function formatIssue(i: LocatedIssue): string {
  return `${i.file}:${i.line}:${i.col} ${formatPath(i.path)}: ${i.message}`;
}

/**
 * Finds where a field path sits in the YAML source. A path that does not exist (a missing field)
 * resolves to its nearest existing parent.
 */
export function locate(doc: Document, lc: LineCounter, path: SpecPath, atKey = false): { line: number; col: number } {
  let node: Node | null | undefined = doc.contents as Node | null;
  let keyNode: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      keyNode = pair.key as Node;
      node = pair.value as Node | null;
      if (node == null) {
        node = keyNode; // `key:` with no value
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      keyNode = undefined;
      node = item;
    } else {
      break;
    }
  }
  // A whole mapping or list is best pointed at by its key (`machines:`), not its first item.
  const target = keyNode && (atKey || isMap(node) || isSeq(node)) ? keyNode : node;
  const offset = target?.range?.[0] ?? 0;
  const pos = lc.linePos(offset);
  return { line: pos.line, col: pos.col };
}
