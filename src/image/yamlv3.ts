/**
 * A byte-exact re-implementation of how gopkg.in/yaml.v3 (`yaml.Marshal`, 4-space indent,
 * unicode on) writes the small structures hearth hashes: mappings of known key order, sequences
 * of strings, and strings. The Image Factory derives a schematic's ID from exactly these bytes,
 * so the quoting rules below follow yaml.v3's encoder (encode.go stringv) and emitter
 * (emitterc.go yaml_emitter_analyze_scalar / select_scalar_style):
 *
 * - a string that would read back as something else (null, bool, int, float, timestamp, a
 *   YAML 1.1 bool like "yes"/"on", a base-60 float) is double-quoted;
 * - otherwise it is plain, unless the emitter forbids plain there (leading/trailing space,
 *   indicators like "- " ": " " #", a leading "[{&*!|>'\"%@`", "---"), then single-quoted;
 * - strings with line breaks or control characters are double-quoted (hearth refuses line
 *   breaks in the fields it hashes: yaml.v3 would write a literal block).
 */

export type V3Value = string | number | boolean | V3Value[] | V3Map;
/** A mapping: entries in output order. Entries whose value is undefined are left out (omitempty). */
export type V3Map = { entries: [string, V3Value | undefined][] };

export function v3map(entries: [string, V3Value | undefined][]): V3Map {
  return { entries };
}

const INDENT = 4;

export function marshalV3(root: V3Map): string {
  const out: string[] = [];
  writeMap(root, 0, out, false);
  return out.join('');
}

function present(m: V3Map): [string, V3Value][] {
  return m.entries.filter((e): e is [string, V3Value] => e[1] !== undefined);
}

function isEmpty(v: V3Value): boolean {
  return (Array.isArray(v) && v.length === 0) || (isMap(v) && present(v).length === 0);
}

function isMap(v: V3Value): v is V3Map {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Writes a mapping whose first key continues the current line when `inline` (a sequence item). */
function writeMap(m: V3Map, indent: number, out: string[], inline: boolean): void {
  present(m).forEach(([k, v], i) => {
    const pad = inline && i === 0 ? '' : ' '.repeat(indent);
    out.push(`${pad}${scalar(k)}:`);
    writeValue(v, indent, out);
  });
}

function writeValue(v: V3Value, indent: number, out: string[]): void {
  if (isEmpty(v)) {
    out.push(Array.isArray(v) ? ' []\n' : ' {}\n');
  } else if (Array.isArray(v)) {
    out.push('\n');
    for (const item of v) {
      out.push(`${' '.repeat(indent + INDENT)}- `);
      if (isMap(item) && !isEmpty(item)) writeMap(item, indent + INDENT + 2, out, true);
      else if (Array.isArray(item)) throw new Error('nested sequences are not used in schematics');
      else out.push(`${scalarValue(item)}\n`);
    }
  } else if (isMap(v)) {
    out.push('\n');
    writeMap(v, indent + INDENT, out, false);
  } else {
    out.push(` ${scalarValue(v)}\n`);
  }
}

function scalarValue(v: V3Value): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isMap(v)) return '{}';
  return scalar(v as string);
}

const OLD_BOOL = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const BOOLS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
const SPECIAL_FLOATS = new Set(['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF', '.nan', '.NaN', '.NAN']);
const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_RE = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const TIMESTAMP_RE = /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{2}:\d{2}(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::\d{2})?))?)?$/;

/** Would yaml.v3 read this plain scalar back as something other than a string? */
function resolvesToNonString(s: string): boolean {
  if (NULLS.has(s) || BOOLS.has(s) || SPECIAL_FLOATS.has(s)) return true;
  const plain = s.replace(/_/g, '');
  if (/^[-+]?(0b[01]+|0o?[0-7]+|0x[0-9a-fA-F]+|[0-9]+)$/.test(plain)) return true; // strconv.ParseInt(.., 0, 64) family
  if (FLOAT_RE.test(plain)) return true;
  if (TIMESTAMP_RE.test(s)) return true;
  return false;
}

/** yaml.v3 is_printable: LF, ASCII 0x20-0x7E, U+00A0-U+D7FF, U+E000-U+FFFD except the BOM (no astral planes). */
function isPrintable(c: number): boolean {
  return c === 0xa || (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff);
}

/** yaml_emitter_analyze_scalar, reduced to what decides plain vs single vs double in block context. */
function analyze(s: string): { blockPlain: boolean; singleAllowed: boolean } {
  if (s === '') return { blockPlain: false, singleAllowed: true };
  let blockIndicators = false;
  let special = false;
  let lineBreaks = false;
  if (s.startsWith('---') || s.startsWith('...')) blockIndicators = true;
  const chars = [...s];
  const ws = (ch: string | undefined) => ch === undefined || ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
  chars.forEach((ch, i) => {
    const next = chars[i + 1];
    const followedByWs = ws(next);
    const precededByWs = i === 0 || ws(chars[i - 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ((ch === '?' || ch === ':') && followedByWs) blockIndicators = true;
      if (ch === '-' && followedByWs) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWs) blockIndicators = true;
      if (ch === '#' && precededByWs) blockIndicators = true;
    }
    if (!isPrintable(ch.codePointAt(0)!)) special = true;
    if (ch === '\n' || ch === '\r') lineBreaks = true;
  });
  const leadingSpace = s[0] === ' ' || s[0] === '\t';
  const trailingSpace = s[s.length - 1] === ' ' || s[s.length - 1] === '\t';
  let blockPlain = !(leadingSpace || trailingSpace || lineBreaks || blockIndicators || special);
  const singleAllowed = !special && !lineBreaks;
  if (special) blockPlain = false;
  return { blockPlain, singleAllowed };
}

/** A string scalar exactly as yaml.v3 writes it in block context. */
export function scalar(s: string): string {
  if (/[\n\r\u0085\u2028\u2029]/.test(s)) {
    throw new Error('line breaks are not supported in schematic values');
  }
  const canUsePlain = !resolvesToNonString(s) && !BASE60_RE.test(s) && !OLD_BOOL.has(s);
  if (canUsePlain) {
    const a = analyze(s);
    if (a.blockPlain) return s;
    if (a.singleAllowed) return `'${s.replace(/'/g, "''")}'`;
  }
  return doubleQuoted(s);
}

function doubleQuoted(s: string): string {
  const named: Record<number, string> = { 0x0: '0', 0x7: 'a', 0x8: 'b', 0x9: 't', 0xb: 'v', 0xc: 'f', 0x1b: 'e', 0x22: '"', 0x5c: '\\' };
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c !== 0x22 && c !== 0x5c && isPrintable(c)) out += ch;
    else if (named[c] !== undefined) out += `\\${named[c]}`;
    else out += c <= 0xff ? `\\x${hex(c, 2)}` : c <= 0xffff ? `\\u${hex(c, 4)}` : `\\U${hex(c, 8)}`;
  }
  return out + '"';
}

function hex(n: number, w: number): string {
  return n.toString(16).toUpperCase().padStart(w, '0');
}
