/**
 * TFTP packets (RFC 1350), option extension (RFC 2347) and the options hearth honours:
 * blksize (RFC 2348), timeout and tsize (RFC 2349), windowsize (RFC 7440). Parsing never throws:
 * anything malformed comes back as `{ error }` so the server can count and drop it.
 */

export const OP = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 error codes (+ 8 from RFC 2347). */
export const ERR = {
  UNDEFINED: 0,
  NOT_FOUND: 1,
  ACCESS: 2,
  DISK_FULL: 3,
  ILLEGAL_OP: 4,
  UNKNOWN_TID: 5,
  EXISTS: 6,
  NO_USER: 7,
  OPTION_REFUSED: 8,
} as const;

export interface Request {
  op: 1 | 2;
  filename: string;
  mode: string;
  /** Options by lower-case name, values as sent. */
  options: Map<string, string>;
}

export type Parsed =
  | { kind: 'request'; req: Request }
  | { kind: 'ack'; block: number }
  | { kind: 'error'; code: number; message: string }
  | { kind: 'data'; block: number }
  | { kind: 'oack' }
  | { kind: 'invalid'; reason: string };

const MAX_STRING = 512;

/** Splits a request body into NUL-terminated strings; undefined when it isn't exactly that. */
function cStrings(buf: Buffer, start: number): string[] | undefined {
  const parts: string[] = [];
  let i = start;
  while (i < buf.length) {
    const end = buf.indexOf(0, i);
    if (end < 0) return undefined; // not NUL-terminated
    if (end - i > MAX_STRING) return undefined;
    parts.push(buf.toString('latin1', i, end));
    i = end + 1;
  }
  return parts;
}

export function parsePacket(buf: Buffer): Parsed {
  if (buf.length < 4) return { kind: 'invalid', reason: 'short' };
  const op = buf.readUInt16BE(0);
  switch (op) {
    case OP.RRQ:
    case OP.WRQ: {
      const parts = cStrings(buf, 2);
      if (!parts || parts.length < 2) return { kind: 'invalid', reason: 'malformed-request' };
      if (parts.length % 2 !== 0) return { kind: 'invalid', reason: 'malformed-options' };
      const [filename, mode] = parts as [string, string];
      if (filename.length === 0 || mode.length === 0) return { kind: 'invalid', reason: 'malformed-request' };
      const options = new Map<string, string>();
      for (let i = 2; i < parts.length; i += 2) {
        const name = parts[i]!.toLowerCase();
        if (name.length === 0 || options.has(name)) return { kind: 'invalid', reason: 'malformed-options' };
        options.set(name, parts[i + 1]!);
      }
      return { kind: 'request', req: { op, filename, mode: mode.toLowerCase(), options } };
    }
    case OP.ACK:
      if (buf.length !== 4) return { kind: 'invalid', reason: 'malformed-ack' };
      return { kind: 'ack', block: buf.readUInt16BE(2) };
    case OP.ERROR: {
      const end = buf.indexOf(0, 4);
      return { kind: 'error', code: buf.readUInt16BE(2), message: buf.toString('latin1', 4, end < 0 ? buf.length : end).slice(0, MAX_STRING) };
    }
    case OP.DATA:
      return { kind: 'data', block: buf.readUInt16BE(2) };
    case OP.OACK:
      return { kind: 'oack' };
    default:
      return { kind: 'invalid', reason: 'unknown-opcode' };
  }
}

export function errorPacket(code: number, message: string): Buffer {
  const msg = Buffer.from(message, 'latin1');
  const buf = Buffer.alloc(5 + msg.length);
  buf.writeUInt16BE(OP.ERROR, 0);
  buf.writeUInt16BE(code, 2);
  msg.copy(buf, 4);
  return buf;
}

export function oackPacket(options: [string, string][]): Buffer {
  const parts = [Buffer.from([0, OP.OACK])];
  for (const [k, v] of options) parts.push(Buffer.from(`${k}\0${v}\0`, 'latin1'));
  return Buffer.concat(parts);
}

export function dataHeader(block: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt16BE(OP.DATA, 0);
  h.writeUInt16BE(block & 0xffff, 2);
  return h;
}

export function ackPacket(block: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(OP.ACK, 0);
  b.writeUInt16BE(block & 0xffff, 2);
  return b;
}

export function rrqPacket(filename: string, mode = 'octet', options: Record<string, string | number> = {}): Buffer {
  let s = `${filename}\0${mode}\0`;
  for (const [k, v] of Object.entries(options)) s += `${k}\0${v}\0`;
  return Buffer.concat([Buffer.from([0, OP.RRQ]), Buffer.from(s, 'latin1')]);
}

/** Converts file bytes to netascii (RFC 764): LF -> CR LF, CR -> CR NUL. */
export function toNetascii(data: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 10 || data[i] === 13) extra++;
  if (extra === 0) return data;
  const out = Buffer.allocUnsafe(data.length + extra);
  let j = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === 10) {
      out[j++] = 13;
      out[j++] = 10;
    } else if (c === 13) {
      out[j++] = 13;
      out[j++] = 0;
    } else out[j++] = c;
  }
  return out;
}
