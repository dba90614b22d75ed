/**
 * YAML the way talosctl writes machine configs (go.yaml.in/yaml v3 with a four-space indent):
 * block style, `---` between documents, no line folding, and yaml.v3's nesting inside list items
 * (children of a mapping that is a list item are indented four columns from the dash).
 * Scalars are quoted only when a plain scalar would read back as something else.
 */
import { parseAllDocuments, stringify } from 'yaml';
import type { Doc } from './generate.js';

const isMap = (v: unknown): v is Doc => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Strings yaml.v3's resolver would read as something else (so it double-quotes them). */
function resolvesToNonString(s: string): boolean {
  return (
    s === '' ||
    /^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE)$/.test(s) ||
    // YAML 1.1 booleans (yaml.v3's isOldBool)
    /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(s) ||
    // ints and floats, including 0x/0o/0b, underscores, .inf/.nan
    /^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$/.test(s) ||
    /^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$/.test(s) ||
    /^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$/.test(s) ||
    // YAML 1.1 sexagesimal numbers (isBase60Float), e.g. a MAC address made of digits only
    /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s) ||
    // timestamps
    /^\d{4}-\d\d?-\d\d?([Tt ].*)?$/.test(s)
  );
}

/**
 * A scalar as yaml.v3 writes it: double quotes for strings that would resolve to another type,
 * plain where a plain scalar is allowed, else single quotes (double quotes if it must escape).
 */
function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') return String(v);
  const s = String(v);
  if (resolvesToNonString(s)) return JSON.stringify(s);
  const std = stringify(s, { lineWidth: 0, minContentWidth: 0, doubleQuotedMinMultiLineLength: 1e9 }).replace(/\n$/, '');
  if (std === s) return s;
  // not allowed plain: single-quoted when printable, as libyaml's emitter picks
  if (/^[\x20-\x7e\u00a0-\uffff]*$/.test(s) && !/^\s|\s$/.test(s)) return `'${s.replace(/'/g, "''")}'`;
  return JSON.stringify(s);
}

function key(k: string): string {
  return scalar(k);
}

function block(s: string, indent: number): string {
  const chomp = s.endsWith('\n') ? '|' : '|-';
  const body = (s.endsWith('\n') ? s.slice(0, -1) : s).split('\n');
  const pad = ' '.repeat(indent);
  return `${chomp}\n${body.map((l) => (l === '' ? '' : pad + l)).join('\n')}\n`;
}

/** value after "key:" at column `col` (children at col+4). */
function afterKey(v: unknown, col: number): string {
  if (typeof v === 'string' && v.includes('\n')) return ' ' + block(v, col + 4);
  if (Array.isArray(v)) return v.length === 0 ? ' []\n' : '\n' + seq(v, col + 4);
  if (isMap(v)) return Object.keys(v).length === 0 ? ' {}\n' : '\n' + map(v, col + 4);
  return ` ${scalar(v)}\n`;
}

function map(m: Doc, col: number, firstPrefix?: string, childCol?: number): string {
  let out = '';
  let first = true;
  for (const [k, v] of Object.entries(m)) {
    const lead = first && firstPrefix !== undefined ? firstPrefix : ' '.repeat(col);
    first = false;
    out += `${lead}${key(k)}:${afterKey(v, childCol ?? col)}`;
  }
  return out;
}

function seq(list: unknown[], col: number): string {
  let out = '';
  const pad = ' '.repeat(col);
  for (const item of list) {
    if (isMap(item) && Object.keys(item).length > 0) {
      // keys at dash+2, their children at dash+4 (yaml.v3)
      out += map(item, col + 2, `${pad}- `, col);
    } else if (Array.isArray(item) && item.length > 0) {
      out += `${pad}-\n${seq(item, col + 4)}`;
    } else if (typeof item === 'string' && item.includes('\n')) {
      out += `${pad}- ${block(item, col + 4)}`;
    } else {
      out += `${pad}- ${Array.isArray(item) ? '[]' : isMap(item) ? '{}' : scalar(item)}\n`;
    }
  }
  return out;
}

export function docToYaml(d: Doc): string {
  return Object.keys(d).length === 0 ? '{}\n' : map(d, 0);
}

export function docsToYaml(docs: Doc[]): string {
  return docs.map(docToYaml).join('---\n');
}

/** Parses a (multi-document) config back into documents. */
export function yamlToDocs(text: string): Doc[] {
  return parseAllDocuments(text)
    .map((d) => ('toJS' in d ? (d.toJS() as Doc) : undefined))
    .filter((d): d is Doc => d !== null && d !== undefined);
}
