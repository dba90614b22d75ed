/**
 * The suite runs from a fresh clone with nothing beside it: no test names a path outside the
 * repository, and `npm test` preloads the guard that fails any test process reading outside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, tmpDir } from '../helpers/cli.js';

/** Every TypeScript file under test/, relative to the repository root. */
function testSources(dir = path.join(ROOT, 'test')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : testSources(p);
    return e.name.endsWith('.ts') ? [path.relative(ROOT, p)] : [];
  });
}

/** Source patterns that reach beside or above the checkout. */
const OUTSIDE = [
  { what: 'a path to the shared folder beside the checkout', re: /\.\.\/shared\b/ },
  { what: 'a shared/reference or shared/seed path', re: /\bshared\/(?:reference|seed)\b/ },
  { what: 'an absolute /work/ path', re: /['"`]\/work\// },
  { what: 'a path above the repository root', re: /\b(?:resolve|join)\(\s*ROOT\s*,\s*['"`]\.\.(?:['"`/])/ },
  { what: 'a path from the home directory', re: /\bos\.homedir\(\)|['"`]~\// },
];

test('no test source names a path outside the repository', () => {
  const self = path.relative(ROOT, path.join(ROOT, 'test/suite/self-contained.test.ts'));
  const files = testSources();
  assert.ok(files.length > 20, `found the test sources (${files.length})`);
  const found: string[] = [];
  for (const f of files.filter((x) => x !== self)) {
    readFileSync(path.join(ROOT, f), 'utf8').split('\n').forEach((line, i) => {
      for (const { what, re } of OUTSIDE) if (re.test(line)) found.push(`${f}:${i + 1}: ${what}`);
    });
  }
  assert.deepEqual(found, []);
});

test('the scan patterns catch the forms that used to reach the shared folder beside the checkout', () => {
  const up = ['..', 'shared'].join('/'); // spelled apart so that this file is not a hit of its own scan
  const bad = [
    `export const REFERENCE = path.resolve(ROOT, '${up}/reference');`,
    `const dir = path.resolve(ROOT, '${up}/seed');`,
    "readFileSync('/work/shared/reference/README.md')",
    "path.join(ROOT, '..', 'data')",
  ];
  for (const line of bad) assert.ok(OUTSIDE.some(({ re }) => re.test(line)), line);
  assert.ok(!OUTSIDE.some(({ re }) => re.test("path.join(ROOT, 'test/fixtures/upstream')")));
});

const GUARD = path.join(ROOT, 'dist/test/helpers/fs-guard.js');

test('npm test runs every test file once, alone in its process, with the read guard preloaded, QEMU files alone and last', async () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.test, 'npm run build && node test/run-suite.mjs');
  const runner = (await import(pathToFileURL(path.join(ROOT, 'test/run-suite.mjs')).href)) as {
    GUARD: string;
    testFiles: () => string[];
    groups: (files?: string[]) => { concurrent: string[]; serial: string[] };
    nodeTestArgs: (files: string[], jobs: number, extra?: string[]) => string[];
    fileArgs: (file: string, extra?: string[], testMs?: number) => string[];
  };
  assert.equal(runner.GUARD, path.join(ROOT, 'dist/test/helpers/fs-guard.js'));
  const files = runner.testFiles();
  assert.ok(files.includes('suite/self-contained.test.js') && files.includes('talos/golden.test.js'), files.join(' '));
  assert.ok(files.every((f) => f.endsWith('.test.js')), 'helpers are not run as tests');
  const { concurrent, serial } = runner.groups(files);
  assert.deepEqual([...concurrent, ...serial].sort(), files);
  assert.deepEqual(runner.groups(['a/x.test.js', 'netboot/qemu.test.js', 'netboot/dhcp-qemu.test.js', 'cli/cli.test.js']), {
    concurrent: ['cli/cli.test.js', 'a/x.test.js'],
    serial: ['netboot/dhcp-qemu.test.js', 'netboot/qemu.test.js'],
  });
  const argv = runner.nodeTestArgs(['a/x.test.js'], 1);
  assert.deepEqual(argv.slice(0, 4), ['--import', runner.GUARD, '--test', '--test-concurrency=1']);
  assert.equal(argv.at(-1), path.join(ROOT, 'dist/test/a/x.test.js'));
  // Each file runs alone, with a per-test timeout and an exit after its last test, so that one stuck file fails by name.
  const one = runner.fileArgs('a/x.test.js', ['--test-reporter=spec'], 60_000);
  assert.deepEqual(one, ['--import', runner.GUARD, '--test', '--test-concurrency=1', '--test-timeout=60000', '--test-force-exit', '--test-reporter=spec', path.join(ROOT, 'dist/test/a/x.test.js')]);
});

test('the read guard fails a process that reads beside the checkout, and passes one that reads the fixtures', () => {
  const dir = tmpDir('guard');
  const probe = (name: string, body: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, `import fs from 'node:fs';\nimport { readFile } from 'node:fs/promises';\n${body}\n`);
    return spawnSync(process.execPath, ['--import', GUARD, file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  };
  // The shared folder beside the checkout; a checkout inside the temporary directory (whose files tests may
  // read) has its siblings there too, so a fixed path outside every allowed root stands in for it.
  const sibling = path.resolve(ROOT, '..', 'shared', 'reference');
  const beside = path.relative(os.tmpdir(), sibling).startsWith('..') ? sibling : '/hearth-guard-probe/shared/reference';
  const sync = probe('sync.mjs', `fs.existsSync(${JSON.stringify(beside)});`);
  assert.equal(sync.status, 1, sync.stderr);
  assert.equal(sync.stderr, `this test read outside the repository (copy what it needs into test/fixtures): ${beside}\n`);
  const promised = probe('promise.mjs', `await readFile(${JSON.stringify(beside + '/README.md')}).catch(() => {});`);
  assert.equal(promised.status, 1, promised.stderr);
  assert.match(promised.stderr, /read outside the repository/);
  const fixtures = probe('fixtures.mjs', [
    `for (const d of ['test/fixtures/upstream/talos', 'test/fixtures/upstream/flux', 'test/fixtures/seed'])`,
    `  for (const f of fs.readdirSync(d, { recursive: true })) if (f.endsWith('.yaml') || f.endsWith('.json')) fs.readFileSync(d + '/' + f);`,
    `fs.readFileSync('package.json'); fs.existsSync('/dev/null');`,
  ].join('\n'));
  assert.equal(fixtures.status, 0, fixtures.stderr);
  assert.equal(fixtures.stderr, '');
});
