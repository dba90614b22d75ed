/**
 * hearth ships trimmed Talos schemas (src/talos/schemas) for run-time validation; the tests keep the
 * unmodified upstream files (test/fixtures/upstream/talos). The shipped ones must be exactly the
 * upstream ones without their documentation annotations, so the two copies cannot drift apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { TALOS_REF } from './helpers.js';

const ANNOTATIONS = new Set(['title', 'description', 'markdownDescription', 'x-intellij-html-description']);
/** Keywords whose members are names chosen by the schema author (a property may be called `title`). */
const NAME_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions']);

function withoutAnnotations(node: unknown, namesHere = false): unknown {
  if (Array.isArray(node)) return node.map((n) => withoutAnnotations(n));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (!namesHere && ANNOTATIONS.has(k) && typeof v === 'string') continue;
    out[k] = withoutAnnotations(v, !namesHere && NAME_MAPS.has(k));
  }
  return out;
}

const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as unknown;

for (const version of ['v1.6', 'v1.13']) {
  test(`the shipped ${version} schema is the upstream one minus its documentation annotations`, () => {
    const upstream = read(path.join(TALOS_REF, `${version}-config.schema.json`));
    const shipped = read(path.join(ROOT, `src/talos/schemas/${version}-config.schema.json`));
    assert.notDeepEqual(upstream, shipped, 'the fixture is the full upstream file, not the trimmed copy');
    assert.deepEqual(shipped, withoutAnnotations(upstream));
  });
}

test('annotation stripping keeps properties that happen to be named like annotations', () => {
  const schema = { title: 'T', properties: { title: { type: 'string', description: 'd' } }, $defs: { description: { enum: ['a'] } } };
  assert.deepEqual(withoutAnnotations(schema), { properties: { title: { type: 'string' } }, $defs: { description: { enum: ['a'] } } });
});
