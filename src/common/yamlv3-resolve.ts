/**
 * When Go's yaml.v3 encoder must quote a string: exactly when the same text, written plain,
 * would resolve to a non-string tag on the way back in (resolve.go `resolve`), or when a
 * YAML 1.1 reader would take it for a sexagesimal number or a y/yes/on/off boolean
 * (encode.go `stringv`: `rtag == strTag && !(isBase60Float(s) || isOldBool(s))`).
 *
 * The resolver's order matters and is kept: the first character picks the candidates
 * (sign or digit: timestamp, int, float; one of "yYnNtTfFoO~": the fixed names; ".": a float),
 * so "True" is a bool but "tRUE" a string, and "1_000" an int because underscores are
 * dropped before the number parsers run. Timestamps are only the four layouts yaml.v3 tries
 * with Go's time.Parse, with its range checks: "2024-01-01" and "2024-01-01 10:00:00" are
 * timestamps, "2024-01-01T10:00:00" (no zone), "2024-01-01 foo" and "2024-13-01" are strings.
 */

/** resolve.go resolveMap: the fixed spellings of null, bool, .inf and .nan. */
const FIXED = new Set([
  '', '~', 'null', 'Null', 'NULL',
  'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
  '.nan', '.NaN', '.NAN',
  '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF',
]);

/** encode.go isOldBool: YAML 1.1 booleans yaml.v3 reads as strings but still quotes. */
const OLD_BOOLS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

/** encode.go base60float. */
const BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** resolve.go yamlStyleFloat, tried on the text with underscores removed. */
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** What strconv.ParseFloat accepts after a leading "." (no underscores without a base prefix). */
const DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;

/** True when yaml.v3 writes `s` double-quoted instead of plain. */
export function mustQuote(s: string): boolean {
  return resolvesToNonString(s) || BASE60.test(s) || OLD_BOOLS.has(s);
}

function resolvesToNonString(s: string): boolean {
  const first = s[0];
  if (first === undefined) return true; // the empty string is null
  const signOrDigit = first === '+' || first === '-' || (first >= '0' && first <= '9');
  if (!signOrDigit && !'yYnNtTfFoO~.'.includes(first)) return false;
  if (FIXED.has(s)) return true;
  if (first === '.') return DOT_FLOAT.test(s) && Number.isFinite(Number(s));
  if (!signOrDigit) return false;
  if (isTimestamp(s)) return true;
  const plain = s.replace(/_/g, '');
  return isGoInt(plain) || (YAML_FLOAT.test(plain) && Number.isFinite(Number(plain)));
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** strconv.ParseInt(s, 0, 64), falling back to ParseUint(s, 0, 64) as resolve.go does. */
function isGoInt(s: string): boolean {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]+|[0-9]+)$/.exec(s);
  if (!m) return false;
  const [, sign, body = ''] = m;
  if (body.length > 1 && body[0] === '0' && /[0-9]/.test(body[1] ?? '')) {
    if (!/^0[0-7]+$/.test(body)) return false; // a leading 0 means octal
  }
  const literal = /^0[0-7]/.test(body) ? `0o${body.slice(1)}` : body.toLowerCase();
  const magnitude = BigInt(literal);
  if (sign === '-') return -magnitude >= INT64_MIN;
  if (sign === '+') return magnitude <= INT64_MAX;
  return magnitude <= UINT64_MAX;
}

/**
 * resolve.go parseTimestamp: Go's time.Parse with "2006-1-2T15:4:5.999999999Z07:00" (also
 * with a lower-case t), "2006-1-2 15:4:5.999999999" and "2006-1-2". Go takes one- or two-digit
 * fields, a fraction after "." or ",", one or more spaces for the layout's space, a zone of
 * "Z" or ±hh:mm, and rejects out-of-range fields (month 13, February 30, hour 24).
 */
function isTimestamp(s: string): boolean {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?(Z|[-+]\d\d:\d\d))|(?: +(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?))?$/.exec(s);
  if (!m) return false;
  const [year, month, day] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(month, year)) return false;
  const [h, min, sec] = (m[4] !== undefined ? [m[4], m[5], m[6]] : [m[8], m[9], m[10]]).map((x) => Number(x ?? 0)) as [number, number, number];
  if (h > 23 || min > 59 || sec > 59) return false;
  const zone = m[7];
  if (zone && zone !== 'Z' && (Number(zone.slice(1, 3)) > 24 || Number(zone.slice(4, 6)) > 60)) return false;
  return true;
}

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
