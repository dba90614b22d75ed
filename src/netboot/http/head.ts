/**
 * The head of an HTTP/1.1 request (RFC 9112 §2.2, §3, §5), parsed for the server's own front
 * (front.ts): GET or HEAD of an origin-form target, no body, each header field once, every byte one
 * a strict parser accepts. Anything else — another method, a body, an obs-fold, a bare LF, a
 * duplicate field, a head over the size limit — is `other`, and the connection goes to node:http,
 * which answers it (400, 405, 431 ...) as it always has. Pure.
 */

export interface RequestHead {
  /** GET or HEAD. */
  readonly method: 'GET' | 'HEAD';
  /** The origin-form target as sent (`/path?query`, still percent-encoded). */
  readonly target: string;
  /** Header fields by lower-case name (each sent once). */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether the connection stays open after the response: HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with `keep-alive`. */
  readonly keepAlive: boolean;
  /** Bytes of the head, its closing empty line included. */
  readonly size: number;
}

/** A head, or `incomplete` (wait for more bytes), or `other` (not for the front: hand the connection over). */
export type HeadParse = RequestHead | 'incomplete' | 'other';

const CRLF2 = Buffer.from('\r\n\r\n');
const REQUEST_LINE = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.([01])$/;
/** field-name ":" OWS field-value OWS, the name a token (RFC 9110 §5.1, §5.5, §5.6.2). */
const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;
/** A field value's bytes: visible, space, tab, obs-text; no other control (RFC 9110 §5.5). */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Fields that mean a body or a protocol change: such a request is node:http's. */
const NOT_OURS: ReadonlySet<string> = new Set(['transfer-encoding', 'upgrade', 'expect']);

/** Whether `buf` can still become `GET ` or `HEAD ` (a request that cannot is handed over at once). */
function maybeOurs(buf: Buffer): boolean {
  const n = Math.min(buf.length, 5);
  const start = buf.toString('latin1', 0, n);
  return 'GET '.startsWith(start.slice(0, 4)) || 'HEAD '.startsWith(start);
}

/** Whether `buf` has a LF not preceded by CR. */
function hasBareLf(buf: Buffer): boolean {
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) if (i === 0 || buf[i - 1] !== 0x0d) return true;
  return false;
}

/** Parses the request head at the start of `buf`; a head longer than `maxBytes` is `other`. */
export function parseHead(buf: Buffer, maxBytes: number): HeadParse {
  if (!maybeOurs(buf)) return 'other';
  const end = buf.indexOf(CRLF2);
  // A line ended by a bare LF never makes a CRLF CRLF: node:http answers it rather than wait.
  if (end < 0) return buf.length > maxBytes || hasBareLf(buf) ? 'other' : 'incomplete';
  const size = end + 4;
  if (size > maxBytes) return 'other';
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const first = REQUEST_LINE.exec(lines[0]!);
  if (!first) return 'other';
  const [, method, target, minor] = first;
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const m = FIELD.exec(lines[i]!);
    if (!m || !VALUE.test(m[2]!)) return 'other';
    const name = m[1]!.toLowerCase();
    if (name in headers || NOT_OURS.has(name)) return 'other';
    if (name === 'content-length' && m[2] !== '0') return 'other';
    headers[name] = m[2]!;
  }
  // HTTP/1.1 requires Host (RFC 9112 §3.2); node:http answers its absence with 400.
  if (minor === '1' && headers.host === undefined) return 'other';
  const tokens = (headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim());
  const keepAlive = minor === '1' ? !tokens.includes('close') : tokens.includes('keep-alive');
  return { method: method as 'GET' | 'HEAD', target: target!, headers, keepAlive, size };
}
