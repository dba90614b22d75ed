/**
 * src/cli/optimizer.ts: V8 honours --no-turbofan / --turbofan set at run time. A child process
 * (with V8's natives syntax, to ask a function's optimization status) makes one function hot with
 * the optimizer held (it stays interpreted) and, as a control, another one after it is released
 * (it is optimized: so the loop is hot enough that the first one would have been).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ext = path.extname(fileURLToPath(import.meta.url));
const optimizerUrl = pathToFileURL(path.join(here, '..', '..', 'src', 'cli', `optimizer${ext}`)).href;

// V8's OptimizationStatus bit for "optimized by TurboFan" (src/runtime/runtime.h, V8 11).
const TURBOFANNED = 64;
/** Rounds of the hot loop before a function counts as not optimized (each round ends with a macrotask, for the background compile). */
const ROUNDS = 400;

const child = `
const held = (x) => { let s = x; for (let i = 0; i < 500; i++) s += i % 7; return s; };
const released = (x) => { let s = x; for (let i = 0; i < 500; i++) s += i % 7; return s; };
const turbofanned = (f) => (%GetOptimizationStatus(f) & ${TURBOFANNED}) !== 0;
async function heat(f) {
  for (let i = 0; i < ${ROUNDS} && !turbofanned(f); i++) {
    for (let j = 0; j < 100; j++) f(j);
    await new Promise((r) => setImmediate(r));
  }
  return turbofanned(f);
}
import(${JSON.stringify(optimizerUrl)}).then(async (m) => {
  m.holdOptimizer();
  const a = await heat(held);
  m.releaseOptimizer();
  const b = await heat(released);
  process.stdout.write(JSON.stringify({ held: a, released: b }));
});
`;

test('holdOptimizer keeps hot code interpreted; releaseOptimizer lets V8 optimize it again', (t) => {
  if (ext === '.ts') return t.skip('runs on the compiled tests (the child imports the module without tsx)');
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', child], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { held: false, released: true });
});
