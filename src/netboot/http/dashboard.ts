/**
 * The web dashboard's files (/, /dashboard.js, /dashboard.css), built from web/ by
 * scripts/build-web.mjs into dist/dashboard/ and served from the installed package. Read once, on
 * the first request; everything is local (the page loads nothing from elsewhere: see the CSP).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { text, type HttpResponse } from './exchange.js';

/** URL path -> file in the built dashboard and its type. */
export const DASHBOARD_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

/** Only this server's own files and its event stream; no inline code, no other origin. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * dist/dashboard from this module: dist/src/netboot/http/ when run from the compiled tree,
 * dist/cli/chunks/ when bundled into the CLI; both are below dist/.
 */
export function dashboardDir(from = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  // Up to and including the nearest directory named dist (never past it).
  for (let dir = from, i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'dashboard');
    if (existsSync(path.join(candidate, 'index.html')) && existsSync(path.join(candidate, 'dashboard.js'))) return candidate;
    const up = path.dirname(dir);
    if (path.basename(dir) === 'dist' || up === dir) break;
    dir = up;
  }
  return undefined;
}

/** A handler per dashboard path, reading the files from the directory `find` names (default: the package's) once. */
export function dashboardRoutes(find: () => string | undefined = dashboardDir): Map<string, () => HttpResponse> {
  const cache = new Map<string, string>();
  const routes = new Map<string, () => HttpResponse>();
  let dir: string | undefined;
  for (const [urlPath, { file, type }] of Object.entries(DASHBOARD_FILES)) {
    routes.set(urlPath, () => {
      dir ??= find();
      if (!dir) return text(503, 'the dashboard is not built (npm run build)\n');
      let body = cache.get(file);
      if (body === undefined) {
        body = readFileSync(path.join(dir, file), 'utf8');
        cache.set(file, body);
      }
      return text(200, body, type, { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
    });
  }
  return routes;
}
