import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkHeader, type Conversion } from '../../src/spec/apiversion.js';
import { formatIssue, loadSpec, parseSpec, SCHEMA_ID, SPEC_API_VERSION, SPEC_KIND, specJsonSchema, type LocatedIssue } from '../../src/spec/index.js';
import { ROOT, runHearth, tmpDir } from '../helpers/cli.js';

const HEADER = 'apiVersion: hearth.dev/v1alpha1\nkind: Cluster\n';
const BODY = `metadata:
  name: lab
cluster:
  endpoint: https://192.0.2.10:6443
`;
/** The bundle without storage: paas-full's LINSTOR needs the drbd extension this minimal image lacks. */
const HOSTED = 'platform:\n  bundle: paas-hosted\n';

function report(text: string): { issues: string[]; warnings: string[]; apiVersion?: string; kind?: string } {
  const r = parseSpec(text, 'hearth.yaml', '/tmp');
  return { issues: r.issues.map(formatIssue), warnings: r.warnings.map(formatIssue), apiVersion: r.loaded?.spec.apiVersion, kind: r.loaded?.spec.kind };
}

test('a file with apiVersion hearth.dev/v1alpha1 and kind Cluster loads without warnings', () => {
  assert.equal(SPEC_API_VERSION, 'hearth.dev/v1alpha1');
  assert.equal(SPEC_KIND, 'Cluster');
  assert.deepEqual(report(HEADER + BODY), { issues: [], warnings: [], apiVersion: 'hearth.dev/v1alpha1', kind: 'Cluster' });
  const example = readFileSync(path.join(ROOT, 'examples/hearth.yaml'), 'utf8');
  assert.match(example, /^apiVersion: hearth\.dev\/v1alpha1\b.*\nkind: Cluster\n/m, 'hearth init writes the header');
  assert.deepEqual(report(example).warnings, []);
});

test('a file without the header loads as the current version, with one warning', () => {
  assert.deepEqual(report(BODY), {
    issues: [],
    warnings: [
      'hearth.yaml:1:1 (root): no apiVersion and kind: read as hearth.dev/v1alpha1 Cluster; add "apiVersion: hearth.dev/v1alpha1" and "kind: Cluster" at the top',
    ],
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Cluster',
  });
});

test('a wrong apiVersion is a located error, reported with every other problem', () => {
  const r = report(`apiVersion: hearth.dev/v1alpha2\nkind: Cluster\n${BODY}  vip: 192.0.2.300\n`);
  assert.equal(r.issues[0], 'hearth.yaml:1:13 apiVersion: unknown apiVersion "hearth.dev/v1alpha2": this hearth reads hearth.dev/v1alpha1 (did you mean "hearth.dev/v1alpha1"?)');
  assert.equal(r.issues.length, 2);
  assert.match(r.issues[1]!, /^hearth\.yaml:7:\d+ cluster\.vip: /);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(report(`apiVersion: example.com/v1\nkind: Cluster\n${BODY}`).issues, [
    'hearth.yaml:1:13 apiVersion: unknown apiVersion "example.com/v1": this hearth reads hearth.dev/v1alpha1',
  ]);
  assert.deepEqual(report(`apiVersion: 1\nkind: Cluster\n${BODY}`).issues, ['hearth.yaml:1:13 apiVersion: unknown apiVersion 1: this hearth reads hearth.dev/v1alpha1']);
});

test('a wrong or missing kind, or a kind without apiVersion, is a located error', () => {
  assert.deepEqual(report(`apiVersion: hearth.dev/v1alpha1\nkind: Machine\n${BODY}`).issues, ['hearth.yaml:2:7 kind: must be Cluster, not "Machine"']);
  assert.deepEqual(report(`apiVersion: hearth.dev/v1alpha1\nkind: cluster\n${BODY}`).issues, ['hearth.yaml:2:7 kind: must be Cluster, not "cluster" (did you mean "Cluster"?)']);
  assert.deepEqual(report(`apiVersion: hearth.dev/v1alpha1\n${BODY}`).issues, ['hearth.yaml:1:1 kind: required field is missing (kind: Cluster)']);
  assert.deepEqual(report(`kind: Cluster\n${BODY}`).issues, ['hearth.yaml:1:1 apiVersion: required field is missing (apiVersion: hearth.dev/v1alpha1)']);
});

test('conversion hook: an older apiVersion is converted step by step before validation', () => {
  const conversions: Conversion[] = [
    { from: 'hearth.dev/v1alpha0', to: 'hearth.dev/v1alpha0b', convert: ({ clusterName, ...rest }) => ({ ...rest, metadata: { name: clusterName } }) },
    { from: 'hearth.dev/v1alpha0b', to: SPEC_API_VERSION, convert: (raw) => ({ ...raw, converted: true }) },
  ];
  const old = { apiVersion: 'hearth.dev/v1alpha0', kind: 'Cluster', clusterName: 'lab' };
  assert.deepEqual(checkHeader(old, conversions), {
    raw: { apiVersion: SPEC_API_VERSION, kind: 'Cluster', metadata: { name: 'lab' }, converted: true },
    issues: [],
    warnings: [],
  });
  const middle = checkHeader({ apiVersion: 'hearth.dev/v1alpha0b', kind: 'Cluster' }, conversions);
  assert.deepEqual(middle.raw, { apiVersion: SPEC_API_VERSION, kind: 'Cluster', converted: true }, 'starts at its own version');
  const unknown = checkHeader({ apiVersion: 'hearth.dev/v9', kind: 'Cluster' }, conversions);
  assert.deepEqual(unknown.issues.map((i) => i.message), ['unknown apiVersion "hearth.dev/v9": this hearth reads hearth.dev/v1alpha0, hearth.dev/v1alpha0b, hearth.dev/v1alpha1']);
  assert.deepEqual(checkHeader({ apiVersion: SPEC_API_VERSION, kind: 'Cluster', x: 1 }), { raw: { apiVersion: SPEC_API_VERSION, kind: 'Cluster', x: 1 }, issues: [], warnings: [] });
});

test('the JSON Schema names the header and has its $id on hearth.dev, per apiVersion', () => {
  const schema = specJsonSchema() as { $id: string; properties: Record<string, { const?: string }>; required: string[] };
  assert.equal(schema.$id, 'https://hearth.dev/schema/v1alpha1/hearth.schema.json');
  assert.equal(SCHEMA_ID, schema.$id);
  assert.equal(schema.properties.apiVersion?.const, 'hearth.dev/v1alpha1');
  assert.equal(schema.properties.kind?.const, 'Cluster');
  assert.deepEqual(schema.required.slice(0, 2), ['apiVersion', 'kind']);
});

test('loadSpec hands warnings to its sink (stderr by default), before any error', () => {
  const dir = tmpDir('apiversion');
  const file = path.join(dir, 'hearth.yaml');
  writeFileSync(file, BODY);
  const seen: LocatedIssue[] = [];
  assert.equal(loadSpec(file, (w) => seen.push(w)).spec.metadata.name, 'lab');
  assert.deepEqual(seen.map((w) => w.path), [[]]);
  writeFileSync(file, `${BODY}  vip: nope\n`);
  seen.length = 0;
  assert.throws(() => loadSpec(file, (w) => seen.push(w)), /1 problem/);
  assert.equal(seen.length, 1, 'the warning came out even though loading failed');
});

test('CLI: an old file warns on stderr in one line while stdout carries only the data', async () => {
  const dir = tmpDir('apiversion-cli');
  const file = path.join(dir, 'hearth.yaml');
  writeFileSync(file, BODY + HOSTED);
  const v = await runHearth(['validate', '-f', file]);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, 'valid\n');
  assert.equal(v.stderr, `warning: ${file}:1:1 (root): no apiVersion and kind: read as hearth.dev/v1alpha1 Cluster; add "apiVersion: hearth.dev/v1alpha1" and "kind: Cluster" at the top\n`);
  const s = await runHearth(['image', 'schematic', '-f', file, '-o', 'json']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal((JSON.parse(s.stdout) as { id: string }).id, '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba');
  assert.match(s.stderr, /^warning: .*no apiVersion and kind/m);
  writeFileSync(file, `apiVersion: hearth.dev/v2\nkind: Cluster\n${BODY}`);
  const bad = await runHearth(['validate', '-f', file]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:13 apiVersion: unknown apiVersion "hearth.dev/v2"`));
});
