/**
 * The one re-implementation of how Go's yaml.v3 (`yaml.Marshal`, its default four-space indent,
 * unicode on, no line wrapping) writes plain data. Two things depend on it byte for byte: Image
 * Factory schematic IDs (sha256 of the marshalled schematic) and talosctl-compatible machine
 * configs. Rules, from yaml.v3's encode.go (stringv) and emitterc.go (analyze_scalar,
 * select_scalar_style, increase_indent, the block-scalar writers):
 *
 * - a string that would read back as another type is double-quoted (see yamlv3-resolve.ts);
 * - a string with a line feed is a literal block (`|`, `|-`, `|+`, an indentation digit when
 *   it starts with a space or break), unless the emitter forbids that (trailing space, a space
 *   before a break, control characters, or a mapping key): then double-quoted;
 * - otherwise plain, unless plain is not allowed in block context (leading/trailing space,
 *   indicators such as "- ", ": ", " #", a leading one of "#,[]{}&*!|>'\"%@`", "---", tabs):
 *   then single-quoted, or double-quoted when single quotes cannot carry it (tabs, control
 *   characters, characters outside the Basic Multilingual Plane);
 * - indentation: block children align to the next multiple of four; inside a sequence item
 *   the content starts right after "- "; empty collections are written `{}` and `[]`.
 *
 * Data model: plain objects (key order as inserted; keys whose value is undefined are left
 * out, like omitempty), arrays, strings, numbers (integers as Go ints, others as Go's
 * FormatFloat 'g'), bigints, booleans and null.
 */
import { mustQuote } from './yamlv3-resolve.js';

const INDENT = 4;
/** emitterc.go yaml_emitter_check_simple_key: longer keys need the "? " form. */
const MAX_SIMPLE_KEY_BYTES = 128;

type Context = 'root' | 'map' | 'seq';

/** One document, as `yaml.Marshal(value)` writes it. */
export function marshalYamlV3(value: unknown): string {
  if (isCollection(value) && !isEmpty(value)) return block(value, 0, false);
  return inlineValue(value, -1, 'root').slice(1);
}

/** Several documents, as a yaml.v3 Encoder writes them: separated by `---`. */
export function marshalYamlV3Documents(values: unknown[]): string {
  return values.map(marshalYamlV3).join('---\n');
}

/** A string as yaml.v3 writes it as a mapping value (literal blocks excepted: see marshal). */
export function yamlV3String(s: string): string {
  return stringScalar(s, 0, false);
}

function isCollection(v: unknown): v is unknown[] | Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function entries(m: Record<string, unknown>): [string, unknown][] {
  return Object.entries(m).filter(([, v]) => v !== undefined);
}

function isEmpty(v: unknown[] | Record<string, unknown>): boolean {
  return Array.isArray(v) ? v.length === 0 : entries(v).length === 0;
}

/**
 * emitterc.go yaml_emitter_increase_indent (compact_seq off): inside a sequence item the
 * content skips the "- "; everything else aligns to the next multiple of the indent.
 */
function deeper(indent: number, ctx: Context): number {
  if (indent < 0) return 0;
  return ctx === 'seq' ? indent + 2 : INDENT * Math.floor((indent + INDENT) / INDENT);
}

/** A non-empty mapping or sequence at `indent`; the first line continues the current one when `inline`. */
function block(v: unknown[] | Record<string, unknown>, indent: number, inline: boolean): string {
  const pad = ' '.repeat(indent);
  const lines = Array.isArray(v)
    ? v.map((item) => `-${inlineValue(item, indent, 'seq')}`)
    : entries(v).map(([k, item]) => `${key(k)}:${inlineValue(item, indent, 'map')}`);
  return lines.map((l, i) => (inline && i === 0 ? l : pad + l)).join('');
}

/** What follows "key:" or "-" (or starts a document): a leading space or line break, and a final newline. */
function inlineValue(v: unknown, indent: number, ctx: Context): string {
  if (isCollection(v)) {
    if (isEmpty(v)) return Array.isArray(v) ? ' []\n' : ' {}\n';
    return ctx === 'seq' ? ` ${block(v, deeper(indent, ctx), true)}` : `\n${block(v, deeper(indent, ctx), false)}`;
  }
  const scalarIndent = indent < 0 ? INDENT : deeper(indent, ctx);
  const text = typeof v === 'string' ? stringScalar(v, scalarIndent, false) : nonString(v);
  return text.endsWith('\n') ? ` ${text}` : ` ${text}\n`;
}

function nonString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return goNumber(v);
  throw new TypeError(`yaml.v3 emulation cannot write a ${typeof v}`);
}

/** Integers as strconv.FormatInt; other numbers as strconv.FormatFloat(f, 'g', -1, 64) with yaml.v3's .inf/.nan. */
function goNumber(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (!Number.isFinite(n)) return n > 0 ? '.inf' : '-.inf';
  if (Number.isInteger(n)) return BigInt(n).toString();
  const [mantissa = '', exp = '0'] = n.toExponential().split('e');
  const e = Number(exp);
  if (e >= -4 && e < 6) return String(n);
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

function key(k: string): string {
  const a = analyze(k);
  if (a.lineBreaks || Buffer.byteLength(k) > MAX_SIMPLE_KEY_BYTES) {
    throw new TypeError(`yaml.v3 emulation writes only simple keys, not ${JSON.stringify(k.slice(0, 40))}`);
  }
  return stringScalar(k, 0, true);
}

/** encode.go stringv + emitterc.go select_scalar_style, in block context. */
function stringScalar(s: string, indent: number, simpleKey: boolean): string {
  const a = analyze(s);
  if (s.includes('\n')) {
    if (a.blockAllowed && !simpleKey) return literal(s, indent);
    return doubleQuoted(s);
  }
  if (mustQuote(s)) return doubleQuoted(s);
  if (a.blockPlainAllowed) return s;
  if (a.singleQuotedAllowed) return singleQuoted(s, indent);
  return doubleQuoted(s);
}

/** emitterc.go write_single_quoted_scalar: quotes doubled; after U+2028/U+2029 the text continues indented. */
function singleQuoted(s: string, indent: number): string {
  const body = s.replace(/'/g, "''").replace(/([\u2028\u2029]+)(?=[^\u2028\u2029])/g, `$1${' '.repeat(indent)}`);
  return `'${body}'`;
}

const isBreak = (c: string | undefined) => c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isBlank = (c: string | undefined) => c === ' ' || c === '\t';

/** yaml.v3 is_printable: LF, ASCII 0x20-0x7E, U+00A0-U+D7FF, U+E000-U+FFFD except the BOM; nothing astral. */
function isPrintable(c: number): boolean {
  return c === 0x0a || (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff);
}

interface Analysis {
  lineBreaks: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

/** emitterc.go yaml_emitter_analyze_scalar, block context only. */
function analyze(s: string): Analysis {
  if (s === '') return { lineBreaks: false, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: false };
  const chars = [...s];
  let indicators = s.startsWith('---') || s.startsWith('...');
  let lineBreaks = false;
  let tabs = false;
  let special = false;
  let spaceBreak = false;
  let breakSpace = false;
  let precededByWs = true;
  chars.forEach((ch, i) => {
    const followedByWs = i + 1 >= chars.length || isBlank(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) indicators = true;
      if ((ch === '?' || ch === ':' || ch === '-') && followedByWs) indicators = true;
    } else if ((ch === ':' && followedByWs) || (ch === '#' && precededByWs)) {
      indicators = true;
    }
    if (ch === '\t') tabs = true;
    else if (!isPrintable(ch.codePointAt(0)!)) special = true;
    const prev = chars[i - 1];
    if (ch === ' ' && isBreak(prev)) breakSpace = true;
    if (isBreak(ch)) {
      lineBreaks = true;
      if (prev === ' ') spaceBreak = true;
    }
    precededByWs = isBlank(ch) || isBreak(ch) || ch === '\0';
  });
  const first = chars[0];
  const last = chars[chars.length - 1];
  const edgeSpace = first === ' ' || last === ' ' || isBreak(first) || isBreak(last);
  const noPlain = edgeSpace || breakSpace || spaceBreak || tabs || special || lineBreaks || indicators;
  return {
    lineBreaks,
    blockPlainAllowed: !noPlain,
    singleQuotedAllowed: !(breakSpace || spaceBreak || tabs || special),
    blockAllowed: !(last === ' ' || spaceBreak || special),
  };
}

/** emitterc.go write_literal_scalar with write_block_scalar_hints; `indent` is where content lines start. */
function literal(s: string, indent: number): string {
  const chars = [...s];
  const indentHint = chars[0] === ' ' || isBreak(chars[0]) ? String(INDENT) : '';
  const last = chars[chars.length - 1];
  const beforeLast = chars[chars.length - 2];
  const chomp = !isBreak(last) ? '-' : chars.length === 1 || isBreak(beforeLast) ? '+' : '';
  let out = `|${indentHint}${chomp}\n`;
  let atLineStart = true;
  for (const ch of chars) {
    if (isBreak(ch)) {
      out += ch;
      atLineStart = true;
    } else {
      if (atLineStart) out += ' '.repeat(indent);
      out += ch;
      atLineStart = false;
    }
  }
  return atLineStart ? out : `${out}\n`;
}

const ESCAPES: Record<number, string> = {
  0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0b: 'v', 0x0c: 'f', 0x0d: 'r',
  0x1b: 'e', 0x22: '"', 0x5c: '\\', 0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P',
};

/** emitterc.go write_double_quoted_scalar (no folding: yaml.v3 does not wrap lines). */
function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const escape = !isPrintable(c) || c === 0xfeff || isBreak(ch) || c === 0x22 || c === 0x5c;
    if (!escape) out += ch;
    else if (ESCAPES[c] !== undefined) out += `\\${ESCAPES[c]}`;
    else out += c <= 0xff ? `\\x${hex(c, 2)}` : c <= 0xffff ? `\\u${hex(c, 4)}` : `\\U${hex(c, 8)}`;
  }
  return `${out}"`;
}

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, '0');
}
