#!/usr/bin/env node
/**
 * Builds the web dashboard (web/: Preact + TypeScript) into dist/dashboard/ with esbuild: one
 * minified script, one stylesheet, the page. The netboot HTTP server serves these files from
 * the package (src/netboot/http/dashboard.ts); nothing is loaded from elsewhere at run time.
 * Prints the sizes (raw and gzip), and fails the build past BUDGET bytes of gzip.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WEB = path.join(ROOT, 'web');
const OUT = path.join(ROOT, 'dist', 'dashboard');
/** The whole page (HTML, script, styles) gzipped must stay under this. */
const BUDGET = 40 * 1024;

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
await build({
  entryPoints: { dashboard: path.join(WEB, 'main.tsx'), 'dashboard-style': path.join(WEB, 'dashboard.css') },
  outdir: OUT,
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: path.join(WEB, 'tsconfig.json'),
  legalComments: 'none',
  logLevel: 'warning',
});
// esbuild names a CSS entry after its key; the page links /dashboard.css.
copyFileSync(path.join(OUT, 'dashboard-style.css'), path.join(OUT, 'dashboard.css'));
rmSync(path.join(OUT, 'dashboard-style.css'));
copyFileSync(path.join(WEB, 'index.html'), path.join(OUT, 'index.html'));

let total = 0;
const sizes = ['index.html', 'dashboard.js', 'dashboard.css'].map((f) => {
  const data = readFileSync(path.join(OUT, f));
  const gz = gzipSync(data, { level: 9 }).length;
  total += gz;
  return `${f} ${data.length} B (gzip ${gz} B)`;
});
process.stdout.write(`dashboard: ${sizes.join(', ')}; ${total} B gzip in all\n`);
if (total > BUDGET) {
  process.stderr.write(`dashboard: ${total} B gzip is over the budget of ${BUDGET} B\n`);
  process.exit(1);
}
