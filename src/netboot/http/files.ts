/**
 * How a file is answered over HTTP, decided from the request headers and the file's stat alone:
 * ETag and If-None-Match (304), Range and If-Range (206, 416), HEAD. The bytes are streamed by
 * the server (stream.ts).
 */
import type { Stats } from 'node:fs';
import type { HttpRequest, HttpResponse } from './exchange.js';

/** Parses one `bytes=` range against a size. undefined: ignore (serve all); 'bad': 416. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'bad' | undefined {
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m) return undefined; // several ranges or another unit: RFC 9110 allows ignoring Range
  const [, a, b] = m;
  if (a === '' && b === '') return 'bad';
  let start: number;
  let end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) return 'bad';
  }
  if (start >= size) return 'bad';
  return { start, end };
}

/** A strong validator from the file's size, mtime and inode. */
export function etagOf(st: Stats): string {
  return `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}-${st.ino.toString(16)}"`;
}

/**
 * The response for `file` (whose stat is `st`) asked for as `name`; `kind` says what it is for
 * progress. `validators` are the ETag and Last-Modified of that stat when already known (cached).
 */
export function fileResponse(
  req: HttpRequest,
  file: string,
  st: Stats,
  name: string,
  kind: string,
  validators: { etag: string; lastModified: string } = { etag: etagOf(st), lastModified: st.mtime.toUTCString() },
): HttpResponse {
  const etag = validators.etag;
  const headers: Record<string, string | number> = {
    ETag: etag,
    'Last-Modified': validators.lastModified,
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
    'Cache-Control': 'no-cache',
  };
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) return { status: 304, headers };
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const range = req.headers.range;
  const ifRange = req.headers['if-range'];
  if (range && (!ifRange || ifRange === etag)) {
    const r = parseRange(range, st.size);
    if (r === 'bad') return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${st.size}` } };
    if (r) {
      ({ start, end } = r);
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
    }
  }
  const length = st.size === 0 ? 0 : end - start + 1;
  headers['Content-Length'] = length;
  return { status, headers, file: { path: file, st, start, end, length, name, kind } };
}
