// A module-load tracer for test/cli/startup.test.ts: `node --import ./module-trace.mjs ...` with
// HEARTH_TRACE_MODULES=FILE appends the URL of every module the program imports to FILE, one a
// line. Plain JavaScript so it runs the same whether the tests are compiled or run with tsx.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

/** Loader hook (runs on the loader thread): record each resolved URL. */
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  const file = process.env.HEARTH_TRACE_MODULES;
  if (file) appendFileSync(file, `${result.url}\n`);
  return result;
}

// Imported with --import on the main thread: install this same file as the loader's hooks.
if (isMainThread) register(import.meta.url);
