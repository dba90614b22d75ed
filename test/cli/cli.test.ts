import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runHearth, tmpDir } from '../helpers/cli.js';
import { specJsonSchema } from '../../src/spec/index.js';

const EXAMPLE = path.join(ROOT, 'examples/hearth.yaml');
const tmp = () => tmpDir('cli');

test('--help on the program and every command, exit 0, usage on stdout', async () => {
  const top = await runHearth(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['init', 'validate', 'plan', 'image', 'netboot', 'talos', 'platform', 'schema']) {
    assert.match(top.stdout, new RegExp(`^  ${cmd}\\b`, 'm'), `${cmd} listed in --help`);
    const r = await runHearth([cmd, '--help']);
    assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: hearth /m);
  }
});

test('every command and subcommand has --help with at least one example', async () => {
  /** The names listed under "Commands:" in a --help text. */
  const commandsOf = (help: string) => {
    const section = help.split('\n\n').find((block) => block.startsWith('Commands:')) ?? '';
    return [...section.matchAll(/^  ([a-z]+)\b/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  };
  const paths: string[][] = [];
  for (const n of commandsOf((await runHearth(['--help'])).stdout)) {
    paths.push([n]);
    for (const sub of commandsOf((await runHearth([n, '--help'])).stdout)) paths.push([n, sub]);
  }
  assert.ok(paths.length >= 20, `found ${paths.length} commands`);
  for (const p of paths) {
    const r = await runHearth([...p, '--help']);
    assert.equal(r.code, 0, `${p.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, /^Examples?:$/m, `hearth ${p.join(' ')} --help has an example`);
  }
});

test('--version prints the package version', async () => {
  const r = await runHearth(['--version']);
  assert.equal(r.code, 0);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(r.stdout.trim(), pkg.version);
});

test('usage errors exit 2 with a one-line message and no stack trace', async () => {
  const r = await runHearth(['validate', '--no-such-flag']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /unknown option '--no-such-flag'/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  const u = await runHearth(['frobnicate']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown command 'frobnicate'/);
});

test('validate: "valid" on stdout for the example, exit 0', async () => {
  const r = await runHearth(['validate', '-f', EXAMPLE]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'valid\n');
});

test('validate: every problem as FILE:LINE:COL path: message on stderr, exit 2', async () => {
  const dir = tmp();
  const file = path.join(dir, 'hearth.yaml');
  const text = readFileSync(EXAMPLE, 'utf8')
    .replace('  extensions: [', '  extensionz: [')
    .replace('mac: 52:54:00:00:00:02', 'mac: 52:54:00:00:00:01');
  writeFileSync(file, text);
  const r = await runHearth(['validate', '-f', file]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines[0], `error: ${file}: 2 problems`);
  assert.match(lines[1]!, new RegExp(`^  ${file}:\\d+:3 image.extensionz: unknown field "extensionz" \\(did you mean "extensions"\\?\\)$`));
  assert.match(lines[2]!, new RegExp(`^  ${file}:\\d+:10 machines\\[1\\].mac: duplicate MAC address "52:54:00:00:00:01" \\(also machines\\[0\\]\\)$`));
});

test('validate: a missing spec file is a one-line input error', async () => {
  const r = await runHearth(['validate', '-f', '/nonexistent/hearth.yaml']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'error: cannot read spec /nonexistent/hearth.yaml: no such file (create one with `hearth init`)\n');
});

test('init writes the bundled example, which validates; refuses to overwrite without --force', async () => {
  const dir = tmp();
  const r = await runHearth(['init', dir]);
  assert.equal(r.code, 0, r.stderr);
  const written = readFileSync(path.join(dir, 'hearth.yaml'), 'utf8');
  assert.equal(written, readFileSync(EXAMPLE, 'utf8').replace(/^# yaml-language-server:.*\n/m, ''));
  const v = await runHearth(['validate', '-f', path.join(dir, 'hearth.yaml')]);
  assert.equal(v.code, 0, v.stderr);
  writeFileSync(path.join(dir, 'hearth.yaml'), 'mine\n');
  const again = await runHearth(['init', dir]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists \(use --force to replace it\)/);
  assert.equal(readFileSync(path.join(dir, 'hearth.yaml'), 'utf8'), 'mine\n');
  const forced = await runHearth(['init', dir, '--force']);
  assert.equal(forced.code, 0);
  assert.equal(readFileSync(path.join(dir, 'hearth.yaml'), 'utf8'), written);
});

test('the example is commented and has 3 control planes with a VIP and 2 workers', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  assert.ok((text.match(/#/g) ?? []).length > 10, 'commented');
  assert.equal((text.match(/role: controlplane/g) ?? []).length, 3);
  assert.equal((text.match(/role: worker/g) ?? []).length, 2);
  assert.match(text, /^\s+vip: /m);
  assert.match(text, /^\s+bond:/m);
  assert.match(text, /^\s+diskSelector:/m);
});

test('plan writes every stage directory and a summary; -o json lists the files', async () => {
  const out = path.join(tmp(), 'out');
  const r = await runHearth(['plan', '-f', EXAMPLE, '--out', out, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { stages: { stage: string; files: number }[]; files: string[] };
  assert.deepEqual(summary.stages.map((s) => s.stage), ['image', 'netboot', 'talos', 'platform']);
  for (const f of summary.files) assert.ok(existsSync(path.join(out, f)), `${f} written`);
  for (const s of summary.stages) {
    const dir = path.join(out, s.stage);
    if (s.files > 0) assert.ok(statSync(dir).isDirectory());
  }
  const text = await runHearth(['plan', '-f', EXAMPLE, '--out', out]);
  assert.equal(text.code, 0);
  assert.equal(text.stdout, '');
  assert.match(text.stderr, /^STAGE\s+FILES\s+DIRECTORY$/m);
});

test('plan: a bad -o is a usage error (exit 2) and writes nothing', async () => {
  const out = path.join(tmp(), 'out');
  const r = await runHearth(['plan', '-f', EXAMPLE, '--out', out, '-o', 'xml']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /argument 'xml' is invalid\. Allowed choices are text, json, yaml/);
  assert.equal(existsSync(out), false);
});

test('an output directory with a file in the way is one line and exit 2', async () => {
  const file = path.join(tmp(), 'a-file');
  writeFileSync(file, '');
  for (const args of [['plan', '-f', EXAMPLE, '--out', path.join(file, 'out')], ['init', file]]) {
    const r = await runHearth(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: cannot create directory .*a-file.*: a file is in the way\n$/);
  }
});

test('plan on an invalid spec writes nothing and exits 2', async () => {
  const dir = tmp();
  const file = path.join(dir, 'hearth.yaml');
  writeFileSync(file, readFileSync(EXAMPLE, 'utf8').replace('name: mycloud', 'name: My_Cloud'));
  const out = path.join(dir, 'out');
  const r = await runHearth(['plan', '-f', file, '--out', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /metadata\.name: must be a DNS label/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir), ['hearth.yaml']);
});

test('schema prints the JSON Schema, identical to the shipped schema/hearth.schema.json', async () => {
  const r = await runHearth(['schema']);
  assert.equal(r.code, 0);
  const printed = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(printed, specJsonSchema());
  const shipped = JSON.parse(readFileSync(path.join(ROOT, 'schema/hearth.schema.json'), 'utf8')) as unknown;
  assert.deepEqual(shipped, printed, 'schema/hearth.schema.json is stale: run `npm run schema`');
  const props = (printed.properties ?? {}) as Record<string, unknown>;
  for (const section of ['metadata', 'talos', 'image', 'cluster', 'netboot', 'machines', 'platform']) assert.ok(section in props, section);
});

test('NO_COLOR: no escape sequences even when colour is forced by a terminal setting', async () => {
  const r = await runHearth(['validate', '-f', '/nonexistent.yaml'], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
  assert.doesNotMatch(r.stderr, /\x1b\[/);
  const c = await runHearth(['validate', '-f', '/nonexistent.yaml'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
  assert.match(c.stderr, /\x1b\[31merror:/);
});
