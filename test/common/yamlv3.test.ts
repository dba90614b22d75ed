/**
 * Pins the shared yaml.v3 emulation on the scalars where emulations go wrong. Expected bytes
 * come from two places, named per case:
 * - "upstream": the marshal table in go.yaml.in/yaml/v3 encode_test.go (github.com/yaml/go-yaml,
 *   branch v3; the same table as gopkg.in/yaml.v3 v3.0.1), copied as data;
 * - "rule": what yaml.v3's own code decides, read from resolve.go (resolve, parseTimestamp with
 *   Go's time.Parse), encode.go (stringv, isOldBool, isBase60Float) and emitterc.go
 *   (yaml_emitter_analyze_scalar, select_scalar_style, write_block_scalar_hints).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { marshalYamlV3, marshalYamlV3Documents } from '../../src/common/yamlv3.js';

/** `a: <value>` the way yaml.Marshal(map[string]string{"a": value}) writes it. */
const value = (s: string) => marshalYamlV3({ a: s });

function pin(cases: [string, string][]): void {
  for (const [input, want] of cases) assert.equal(value(input), `a: ${want}\n`, JSON.stringify(input));
}

test('upstream: strings that read back as another type are double-quoted, others plain', () => {
  pin([
    ['hi', 'hi'],
    ['true', '"true"'],
    ['false', '"false"'],
    ['off', '"off"'],
    ['10', '"10"'],
    ['', '""'],
    ['1:1', '"1:1"'], // a YAML 1.1 base-60 number
    ['2015-02-24T18:19:39Z', '"2015-02-24T18:19:39Z"'],
    ['<foo>', '<foo>'],
    ['你好', '你好'],
    ['\x00', '"\\0"'],
  ]);
});

test('upstream: indicators force single quotes', () => {
  pin([
    ['-', "'-'"],
    ['b: c', "'b: c'"],
    ['Hello #comment', "'Hello #comment'"],
    ['你好 #comment', "'你好 #comment'"],
  ]);
  const long = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 ';
  assert.equal(value(long), `a: '${long}'\n`, 'no line wrapping; the trailing space forbids plain');
});

test('upstream: multi-line strings are literal blocks; layout of sequences and nested mappings', () => {
  assert.equal(value('\tB\n\tC\n'), 'a: |\n    \tB\n    \tC\n');
  assert.equal(marshalYamlV3({ v: ['A', 'B\nC'] }), 'v:\n    - A\n    - |-\n      B\n      C\n');
  assert.equal(marshalYamlV3({ v: ['A', 1, { B: [2, 3] }] }), 'v:\n    - A\n    - 1\n    - B:\n        - 2\n        - 3\n');
  assert.equal(marshalYamlV3({ a: { b: [{ c: 1, d: 2 }] } }), 'a:\n    b:\n        - c: 1\n          d: 2\n');
  assert.equal(marshalYamlV3({ v: null }), 'v: null\n');
  assert.equal(marshalYamlV3({}), '{}\n');
  assert.equal(marshalYamlV3Documents([{ a: 'b' }, { c: 'd' }]), 'a: b\n---\nc: d\n');
});

test('rule: timestamps are only what parseTimestamp accepts (four Go layouts, range-checked)', () => {
  pin([
    ['2024-01-01', '"2024-01-01"'],
    ['2024-1-2', '"2024-1-2"'],
    ['2024-01-01 10:00:00', '"2024-01-01 10:00:00"'],
    ['2024-01-01   10:00:00.5', '"2024-01-01   10:00:00.5"'], // a layout space matches a run of spaces
    ['2024-01-01T10:00:00Z', '"2024-01-01T10:00:00Z"'],
    ['2024-01-01t10:00:00+01:00', '"2024-01-01t10:00:00+01:00"'],
    ['2024-02-29', '"2024-02-29"'],
    // not timestamps, and not numbers either: plain
    ['2024-01-01 foo', '2024-01-01 foo'],
    ['2024-01-01T10:00:00', '2024-01-01T10:00:00'], // the T layouts require a zone
    ['2024-01-01 10:00:00Z', '2024-01-01 10:00:00Z'], // the space layout has no zone
    ['2001-12-14 21:59:43.10 -5', '2001-12-14 21:59:43.10 -5'], // resolve.go's own noted exception
    ['2024-13-01', '2024-13-01'],
    ['2023-02-29', '2023-02-29'],
    ['2024-01-01T24:00:00Z', '2024-01-01T24:00:00Z'],
  ]);
});

test('rule: YAML 1.1 booleans are strings to yaml.v3 but still quoted; other spellings are plain', () => {
  pin([
    ['yes', '"yes"'],
    ['no', '"no"'],
    ['on', '"on"'],
    ['Off', '"Off"'],
    ['y', '"y"'],
    ['N', '"N"'],
    ['True', '"True"'],
    ['yES', 'yES'],
    ['tRUE', 'tRUE'],
    ['oui', 'oui'],
  ]);
});

test('rule: null, numbers and their look-alikes', () => {
  pin([
    ['~', '"~"'],
    ['null', '"null"'],
    ['NULL', '"NULL"'],
    ['nULL', 'nULL'],
    ['0x1F', '"0x1F"'],
    ['0o17', '"0o17"'],
    ['0b101', '"0b101"'],
    ['-0b101', '"-0b101"'],
    ['017', '"017"'],
    ['08', '"08"'], // not octal, but a float to yamlStyleFloat
    ['1_000', '"1_000"'],
    ['1e3', '"1e3"'],
    ['1.', '"1."'],
    ['.5', '".5"'],
    ['+.5', '"+.5"'],
    ['.inf', '".inf"'],
    ['-.Inf', '"-.Inf"'],
    ['.nan', '".nan"'],
    ['.iNf', '.iNf'],
    ['1e400', '1e400'], // strconv.ParseFloat reports a range error: a string
    ['0x1FFFFFFFFFFFFFFFF', '0x1FFFFFFFFFFFFFFFF'], // beyond uint64 and not a float: a string
    ['+', '+'],
    ['1.2.3', '1.2.3'],
    ['v1.28.0', 'v1.28.0'],
    ['52:54:00:00:00:04', '"52:54:00:00:00:04"'], // base 60
    ['52:54:00:aa:00:04', '52:54:00:aa:00:04'],
  ]);
});

test('rule: spaces, ":" and "#" inside, indicators at the start', () => {
  pin([
    [' lead', "' lead'"],
    ['trail ', "'trail '"],
    ['a b', 'a b'],
    ['a:b', 'a:b'],
    ['a:', "'a:'"],
    [':a', ':a'],
    ['::/0', '::/0'],
    ['a#b', 'a#b'],
    ['#a', "'#a'"],
    ['- x', "'- x'"],
    ['-x', '-x'],
    ['---', "'---'"],
    ['*', "'*'"],
    ['{}', "'{}'"],
    ["it's", "it's"],
    ["'x: y'", "'''x: y'''"],
  ]);
});

test('rule: characters single quotes cannot carry are escaped in double quotes', () => {
  pin([
    ['a\tb', '"a\\tb"'],
    ['\u{1F600}', '"\\U0001F600"'],
    ['bom\uFEFF', '"bom\\uFEFF"'],
    ['bell\x07', '"bell\\a"'],
    ['cr\rlf', '"cr\\rlf"'],
    ['nbsp\u00A0x', 'nbsp\u00A0x'],
  ]);
});

test('rule: multi-line strings: chomping, indentation hint, and when a block is not allowed', () => {
  pin([
    ['a\nb', '|-\n    a\n    b'],
    ['a\nb\n', '|\n    a\n    b'],
    ['a\n\n', '|+\n    a\n'],
    [' a\nb', '|4-\n     a\n    b'],
    ['a\n\nb', '|-\n    a\n\n    b'],
    ['a \nb', '"a \\nb"'], // a space before a break
    ['a\nb ', '"a\\nb "'], // a trailing space
  ]);
});

test('keys: quoted like values; keys yaml.v3 would write in the "? " form are refused', () => {
  assert.equal(marshalYamlV3({ '': 1, true: 2, 'a: b': 3, plain: 4 }), '"": 1\n"true": 2\n\'a: b\': 3\nplain: 4\n');
  assert.throws(() => marshalYamlV3({ 'a\nb': 1 }), /simple keys/);
  assert.throws(() => marshalYamlV3({ ['k'.repeat(129)]: 1 }), /simple keys/);
});

test('numbers: Go ints, FormatFloat g for the rest, undefined entries left out', () => {
  assert.equal(marshalYamlV3({ i: 1000000, f: 1.5, big: 1234567.5, small: 0.00001, nan: NaN, inf: -Infinity, gone: undefined, b: false }), 'i: 1000000\nf: 1.5\nbig: 1.2345675e+06\nsmall: 1e-05\nnan: .nan\ninf: -.inf\nb: false\n');
});

test('every pinned string reads back as itself with a YAML 1.1 and a 1.2 reader', () => {
  const samples = ['2024-01-01 foo', '2024-01-01T10:00:00', 'yES', 'a:b', '-x', ':a', 'a\n\nb', 'a\n\n', '\tB\n\tC\n', ' a\nb', "'x: y'", 'a \nb', 'nbsp\u00A0x'];
  for (const s of samples) {
    const text = value(s);
    assert.equal(parse(text).a, s, `1.2: ${JSON.stringify(s)}`);
  }
  for (const s of ['yes', 'off', '1:1', '2024-01-01', '017', '0b101']) {
    assert.equal(parse(value(s), { version: '1.1' }).a, s, `1.1: ${JSON.stringify(s)}`);
  }
});
