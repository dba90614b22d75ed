import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { docsToYaml, yamlToDocs } from '../../src/talos/index.js';

test('yaml: strings a YAML 1.1 reader would take for something else are double-quoted (as yaml.v3 does)', () => {
  const doc = { a: 'off', b: 'on', c: 'yes', d: '1.28', e: '128', f: '', g: 'true', h: '0x10', i: 'v1.28.0', j: 'stable', k: '>= 500GB', l: '10.244.0.0/16', m: 'a: b', star: '*', o: 'node.kubernetes.io/x', p: '52:54:00:00:00:04', q: '::/0', r: '2001:db8::1', s: '52:54:00:aa:00:04' };
  const text = docsToYaml([doc]);
  assert.match(text, /^a: "off"$/m);
  assert.match(text, /^b: "on"$/m);
  assert.match(text, /^c: "yes"$/m);
  assert.match(text, /^d: "1.28"$/m);
  assert.match(text, /^e: "128"$/m);
  assert.match(text, /^f: ""$/m);
  assert.match(text, /^g: "true"$/m);
  assert.match(text, /^i: v1.28.0$/m);
  assert.match(text, /^j: stable$/m);
  assert.match(text, /^l: 10.244.0.0\/16$/m);
  assert.match(text, /^p: "52:54:00:00:00:04"$/m, 'a YAML 1.1 sexagesimal number');
  assert.match(text, /^q: ::\/0$/m);
  assert.match(text, /^s: 52:54:00:aa:00:04$/m);
  assert.match(text, /^k: '>= 500GB'$/m, 'not plain: single quotes, as libyaml picks');
  assert.match(text, /^m: 'a: b'$/m);
  assert.match(text, /^star: '\*'$/m);
  assert.deepEqual(parse(text), doc);
  assert.deepEqual(parse(text, { version: '1.1' }), doc, 'a YAML 1.1 reader gets the same strings');
});

test('yaml: nesting inside list items, empty collections, multi-line strings, documents', () => {
  const docs = [
    { list: [{ a: 1, b: { c: [1, 2] } }, 'x', [], {}], empty: {}, none: [], text: 'line1\nline2\n', text2: 'no newline\nat end' },
    { kind: 'X', apiVersion: 'v1alpha1' },
  ];
  const text = docsToYaml(docs);
  assert.equal(
    text,
    'list:\n    - a: 1\n      b:\n        c:\n            - 1\n            - 2\n    - x\n    - []\n    - {}\nempty: {}\nnone: []\ntext: |\n    line1\n    line2\ntext2: |-\n    no newline\n    at end\n---\nkind: X\napiVersion: v1alpha1\n',
  );
  assert.deepEqual(yamlToDocs(text), docs);
});
