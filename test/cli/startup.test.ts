/**
 * Start-up stays cheap: `hearth --help`, `hearth <stage> --help` and `hearth validate` must not load
 * the Kubernetes client, the gRPC stack, the X.509 library, the Talos schema validator or the code
 * of commands they do not run (src/cli/context.ts: each command's code is imported when it runs).
 * Every module the CLI imports is recorded by a loader hook (module-trace.mjs). The module-level
 * checks run the unbundled build (one file per module); the package-level ones run the `hearth`
 * binary itself (the bundle, scripts/bundle.mjs), whose chunks follow the same import() boundaries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { hearthArgv, ROOT, runHearth, tmpDir } from '../helpers/cli.js';

const EXAMPLE = path.join(ROOT, 'examples/hearth.yaml');
const HEAVY = ['@kubernetes/client-node', '@grpc/grpc-js', '@peculiar/x509', 'ajv'];

/** Runs hearth and returns its exit code and the URL of every module it imported. */
async function traced(args: string[], entry: 'bundle' | 'modules' = 'modules'): Promise<{ code: number | null; stderr: string; modules: string[] }> {
  const file = path.join(tmpDir('trace'), 'modules.txt');
  const hook = pathToFileURL(path.join(ROOT, 'test/cli/module-trace.mjs')).href;
  const r = await runHearth(args, {
    env: { HEARTH_TRACE_MODULES: file, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${hook}`.trim() },
    entry,
  });
  const modules = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  return { code: r.code, stderr: r.stderr, modules };
}

const packages = (modules: string[]) => new Set(modules.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.slice(1) ?? []));
const ours = (modules: string[], dir: string) => modules.filter((u) => u.includes(`/src/${dir}/`));

test('the tracer sees the heavy packages when a command does load them', async () => {
  const plan = await traced(['plan', '-f', EXAMPLE, '--out', path.join(tmpDir('trace-plan'), 'out')]);
  assert.equal(plan.code, 0, plan.stderr);
  for (const p of ['@peculiar/x509', 'ajv']) assert.ok(packages(plan.modules).has(p), `plan loads ${p}`);
  const status = await traced(['platform', 'status', '-f', EXAMPLE, '--kubeconfig', path.join(tmpDir('trace-kube'), 'missing')]);
  assert.equal(status.code, 2, status.stderr);
  assert.ok(packages(status.modules).has('@kubernetes/client-node'), 'platform status loads the Kubernetes client');
});

for (const args of [['--help'], ['image', '--help'], ['netboot', '--help'], ['talos', 'config', '--help'], ['platform', 'install', '--help']]) {
  test(`hearth ${args.join(' ')} loads only the command tree`, async () => {
    const r = await traced(args);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.modules.some((u) => u.endsWith('/src/cli/main.js') || u.endsWith('/src/cli/main.ts')), 'the tracer saw the CLI');
    const loaded = [...packages(r.modules)];
    assert.deepEqual(loaded, ['commander'], `only commander among the packages; saw ${loaded.join(', ')}`);
    assert.deepEqual(ours(r.modules, 'cli/actions'), [], 'no command code');
  });
}

test('hearth validate loads the spec and the checks, not the renderers or clients', async () => {
  const r = await traced(['validate', '-f', EXAMPLE]);
  assert.equal(r.code, 0, r.stderr);
  const loaded = packages(r.modules);
  for (const p of HEAVY) assert.ok(!loaded.has(p), `validate loads ${p}`);
  for (const m of ['talos/pki', 'talos/schema', 'talos/render', 'platform/kube/client', 'netboot/server', 'image/build/index']) {
    assert.ok(!r.modules.some((u) => u.includes(`/src/${m}.`)), `validate loads src/${m}`);
  }
  assert.deepEqual(ours(r.modules, 'cli/actions').map((u) => path.basename(u).replace(/\.[jt]s$/, '')), ['validate']);
});

test('hearth netboot serve gates on the spec and its own stage, not the other stages (unless it serves Talos configs)', async () => {
  // A netboot problem stops serve before it binds anything: located, exit code 2.
  const spec = path.join(tmpDir('trace-serve'), 'hearth.yaml');
  writeFileSync(spec, readFileSync(EXAMPLE, 'utf8').replace('  kernel: vmlinuz', '  kernel: ../vmlinuz'));
  const serve = ['netboot', 'serve', '-f', spec, '--dhcp', 'off', '--http-port', '0', '--tftp-port', '0'];
  const others = ['image/check', 'talos/check', 'platform/check', 'platform/resolve', 'pipeline/prepare.'];
  const lean = await traced(serve);
  assert.equal(lean.code, 2, lean.stderr);
  assert.match(lean.stderr, /hearth\.yaml:\d+:\d+ netboot\.kernel: must be a plain path/);
  for (const m of others) assert.ok(!lean.modules.some((u) => u.includes(`/src/${m}`)), `serve loads src/${m}`);
  // Serving configs (--secrets) renders them from every stage's checked inputs: the full gate, same error.
  const full = await traced([...serve, '--secrets', path.join(path.dirname(spec), 'secrets.yaml')]);
  assert.equal(full.code, 2, full.stderr);
  assert.match(full.stderr, /hearth\.yaml:\d+:\d+ netboot\.kernel: must be a plain path/);
  for (const m of others) assert.ok(full.modules.some((u) => u.includes(`/src/${m}`)), `serve --secrets loads src/${m}`);
});

/** The command chunks of the bundle a run loaded (dist/cli/chunks/<action>-<hash>.js; shared chunks are `chunk-…`). */
const commandChunks = (modules: string[]) =>
  modules.flatMap((u) => /\/dist\/cli\/chunks\/([a-z-]+)-[A-Z0-9]+\.js$/.exec(u)?.slice(1) ?? []).filter((n) => n !== 'chunk');

test('the hearth binary (the bundle) loads no package and no command code for --help, and only validate for validate', async (t) => {
  if (!hearthArgv([]).some((a) => a.endsWith(path.join('dist', 'cli', 'hearth.js')))) return t.skip('runs on the built bundle (npm run build)');
  const help = await traced(['--help'], 'bundle');
  assert.equal(help.code, 0, help.stderr);
  assert.ok(help.modules.some((u) => u.endsWith('/dist/cli/hearth.js')), 'the tracer saw the binary');
  assert.deepEqual([...packages(help.modules)], [], 'commander is inside the bundle; nothing else loads');
  assert.deepEqual(commandChunks(help.modules), []);
  const validate = await traced(['validate', '-f', EXAMPLE], 'bundle');
  assert.equal(validate.code, 0, validate.stderr);
  for (const p of HEAVY) assert.ok(!packages(validate.modules).has(p), `validate loads ${p}`);
  assert.deepEqual(commandChunks(validate.modules), ['validate']);
  const plan = await traced(['plan', '-f', EXAMPLE, '--out', path.join(tmpDir('trace-bundle-plan'), 'out')], 'bundle');
  assert.equal(plan.code, 0, plan.stderr);
  assert.ok(packages(plan.modules).has('@peculiar/x509'), 'the tracer sees a package the bundle leaves outside');
  assert.deepEqual(commandChunks(plan.modules), ['plan']);
});

test('the bundle carries zod with its English messages only (scripts/bundle.mjs drops the other locales)', (t) => {
  const dir = path.join(ROOT, 'dist', 'cli');
  if (!existsSync(path.join(dir, 'hearth.js'))) return t.skip('runs on the built bundle (npm run build)');
  const text = [dir, path.join(dir, 'chunks')]
    .flatMap((d) => readdirSync(d).filter((n) => n.endsWith('.js')).map((n) => readFileSync(path.join(d, n), 'utf8')))
    .join('\n');
  assert.ok(text.includes('Invalid input: expected'), "zod's English messages are in the bundle");
  // German and French, however the bundle escapes their non-ASCII letters.
  for (const foreign of [/Ung(?:\u00fc|\\x[Ff][Cc]|\\u00[Ff][Cc])ltige Eingabe/, /Entr(?:\u00e9|\\x[Ee]9|\\u00[Ee]9)e invalide/]) {
    assert.ok(!foreign.test(text), `the bundle holds another locale's messages (${foreign})`);
  }
});
