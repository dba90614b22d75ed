#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/src/cli/main.js) into dist/cli/: the `hearth` binary. Node 20 has
 * no compile cache, and resolving and compiling ~150 small ES modules (hearth's own, zod's, yaml's)
 * was most of a short command's CPU time; one bundle per command, split where commands share code,
 * starts in a fraction of it. Each command's code stays a separate chunk loaded only when that
 * command runs (the dynamic import()s of src/cli/commands survive as chunk boundaries).
 *
 * Bundled: hearth's code and the small pure-JS packages every command needs (commander, yaml,
 * zod). Left as ordinary imports: everything else (the Kubernetes client, gRPC, X.509, ajv,
 * prom-client…), loaded from node_modules by the commands that use them, as before.
 */
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLED = new Set(['commander', 'yaml', 'zod']);

/** Leaves every package import external except the ones listed in BUNDLED. */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      return BUNDLED.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

/**
 * zod re-exports every one of its ~50 message locales (`z.locales`), ~370 KB of source that every
 * command would load, parse and keep; hearth speaks English only (zod's default, which zod imports
 * by itself). The index is replaced with one that offers `en` alone.
 */
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: path.join(path.dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(args.path), 'en.js'))};`,
      resolveDir: path.dirname(args.path),
    }));
  },
};

const outdir = path.join(ROOT, 'dist', 'cli');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { hearth: path.join(ROOT, 'dist', 'src', 'cli', 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [englishOnlyZod, externalPackages],
  // CommonJS packages inside the bundle (yaml, commander) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __hearthCreateRequire } from 'node:module';\nconst require = __hearthCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
});

// esbuild escapes non-ASCII characters in code (charset: ascii) but not in the comments it keeps.
// One such character (a § or — in a comment) makes V8 hold the whole chunk's source as a two-byte
// string: 2 MiB instead of 1 MiB of heap for the largest chunk, for as long as the process runs.
// Escaping them keeps every chunk one-byte; in comments the escape is just text.
for (const dir of [outdir, path.join(outdir, 'chunks')]) {
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.js')) continue;
    const file = path.join(dir, name);
    const text = readFileSync(file, 'utf8');
    if (/[^\x00-\x7f]/.test(text)) writeFileSync(file, text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  }
}
