/**
 * DHCP/BOOTP message codec (RFC 2131 §2 message format, RFC 2132 options, option overload
 * (option 52), RFC 3396 long/split options). Decoding never throws: malformed input yields a
 * `DecodeError` with a short reason that the server counts as the drop reason.
 */
import { Opt } from './options.js';

export const MAGIC_COOKIE = 0x63825363;
/** Fixed BOOTP header (236 bytes) + magic cookie. */
export const HEADER_LEN = 240;
/** BOOTP's minimum message; some PXE ROMs drop shorter replies. */
export const MIN_PACKET = 300;
/** What every DHCP client must accept (RFC 2131 §2). */
export const MIN_MAX_MESSAGE = 576;

/**
 * What `decode` accepts. RFC 2131 sets only a floor (576 bytes); real requests are 300–600 bytes
 * (PXE ROMs, iPXE, dhclient, udhcpc). 1,500 bytes is an Ethernet frame's payload and more than the
 * 1,472 a client can send in one unfragmented datagram (ISC dhcpd reads into 4,095 bytes; hearth's
 * hot-path encoder uses 1,500). Larger datagrams are refused before any work is spent on them, and
 * so are more option instances than a client sends (5–20, split long options included), which
 * bounds the work per packet whatever its shape.
 */
export interface DecodeLimits {
  maxBytes: number;
  maxOptions: number;
}
export const DECODE_LIMITS: DecodeLimits = { maxBytes: 1500, maxOptions: 255 };

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  /** IPv4 addresses as unsigned 32-bit numbers (0 = unset). */
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** 16 bytes, the first hlen are the hardware address. */
  chaddr: Buffer;
  sname: string;
  file: string;
  /** Option values by code; repeated instances are concatenated (RFC 3396). */
  options: Map<number, Buffer>;
}

export interface DecodeError {
  error: string;
}

export function isDecodeError(x: DhcpPacket | DecodeError): x is DecodeError {
  return (x as DecodeError).error !== undefined;
}

/**
 * Option instances by code, in wire order. Repeated instances (RFC 3396) are collected as parts
 * and joined once at the end, so decoding stays linear in the datagram's size.
 */
class OptionParts {
  private readonly parts = new Map<number, Buffer | Buffer[]>();
  private repeated = false;
  count = 0;
  add(code: number, value: Buffer): void {
    this.count++;
    const prev = this.parts.get(code);
    if (prev === undefined) this.parts.set(code, value);
    else if (Array.isArray(prev)) prev.push(value);
    else {
      this.parts.set(code, [prev, value]);
      this.repeated = true;
    }
  }
  get(code: number): Buffer | undefined {
    const p = this.parts.get(code);
    return Array.isArray(p) ? Buffer.concat(p) : p;
  }
  joined(): Map<number, Buffer> {
    // The usual packet has each option once: its map already is the answer.
    if (!this.repeated) return this.parts as Map<number, Buffer>;
    const out = new Map<number, Buffer>();
    for (const [code, p] of this.parts) out.set(code, Array.isArray(p) ? Buffer.concat(p) : p);
    return out;
  }
}

/** Parses an options area into `into`; returns an error reason or undefined. */
function parseOptions(buf: Buffer, start: number, end: number, into: OptionParts, allowNoEnd: boolean, maxOptions: number): string | undefined {
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === Opt.PAD) {
      i++;
      continue;
    }
    if (code === Opt.END) return undefined;
    if (i + 1 >= end) return 'truncated-option';
    const len = buf[i + 1]!;
    if (i + 2 + len > end) return 'truncated-option';
    if (into.count >= maxOptions) return 'too-many-options';
    into.add(code, buf.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return allowNoEnd ? undefined : 'missing-end';
}

function cString(buf: Buffer, start: number, len: number): string {
  if (buf[start] === 0) return ''; // the usual empty sname/file, without a copy
  const field = buf.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('latin1');
}

export function decode(buf: Buffer, limits: DecodeLimits = DECODE_LIMITS): DhcpPacket | DecodeError {
  if (buf.length < HEADER_LEN) return { error: 'too-short' };
  if (buf.length > limits.maxBytes) return { error: 'too-long' };
  const op = buf[0]!;
  if (op !== 1 && op !== 2) return { error: 'bad-op' };
  const htype = buf[1]!;
  const hlen = buf[2]!;
  if (hlen > 16) return { error: 'bad-hlen' };
  if (buf.readUInt32BE(236) !== MAGIC_COOKIE) return { error: 'bad-magic' };
  const options = new OptionParts();
  // The main options area may simply run to the end of the datagram without an END option.
  const err = parseOptions(buf, HEADER_LEN, buf.length, options, true, limits.maxOptions);
  if (err) return { error: err };
  const overload = options.get(Opt.OVERLOAD);
  let fileHoldsOptions = false;
  let snameHoldsOptions = false;
  if (overload) {
    if (overload.length !== 1 || overload[0]! < 1 || overload[0]! > 3) return { error: 'bad-overload' };
    fileHoldsOptions = (overload[0]! & 1) !== 0;
    snameHoldsOptions = (overload[0]! & 2) !== 0;
    // RFC 2131 §4.1: options, then the file field, then sname.
    if (fileHoldsOptions) {
      const e = parseOptions(buf, 108, 236, options, false, limits.maxOptions);
      if (e) return { error: `overload-${e}` };
    }
    if (snameHoldsOptions) {
      const e = parseOptions(buf, 44, 108, options, false, limits.maxOptions);
      if (e) return { error: `overload-${e}` };
    }
  }
  return {
    op,
    htype,
    hlen,
    hops: buf[3]!,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: buf.readUInt32BE(12),
    yiaddr: buf.readUInt32BE(16),
    siaddr: buf.readUInt32BE(20),
    giaddr: buf.readUInt32BE(24),
    chaddr: buf.subarray(28, 44),
    sname: snameHoldsOptions ? '' : cString(buf, 44, 64),
    file: fileHoldsOptions ? '' : cString(buf, 108, 128),
    options: options.joined(),
  };
}

/** Option code → value, in the order they should appear. */
export type OptionList = [number, Buffer][];

/** Serialises options, splitting values over 255 bytes into several instances (RFC 3396). */
function optionBytes(list: OptionList): Buffer[] {
  const out: Buffer[] = [];
  for (const [code, value] of list) {
    if (value.length === 0) {
      out.push(Buffer.from([code, 0]));
      continue;
    }
    for (let i = 0; i < value.length; i += 255) {
      const chunk = value.subarray(i, i + 255);
      const b = Buffer.allocUnsafe(2 + chunk.length);
      b[0] = code;
      b[1] = chunk.length;
      chunk.copy(b, 2);
      out.push(b);
    }
  }
  return out;
}

export interface EncodeInput {
  op: number;
  htype?: number;
  hlen?: number;
  hops?: number;
  xid: number;
  secs?: number;
  flags?: number;
  ciaddr?: number;
  yiaddr?: number;
  siaddr?: number;
  giaddr?: number;
  chaddr: Buffer;
  sname?: string;
  file?: string;
  options: OptionList;
}

/**
 * Builds a message no larger than `maxSize` (≥ 576). When the options do not fit, the file and
 * sname fields carry the rest (option 52 overload) if they are unused; what still does not fit is
 * left out, last options first (message type and server id always come first).
 */
export function encode(p: EncodeInput, maxSize = MIN_MAX_MESSAGE): Buffer {
  const size = Math.max(MIN_MAX_MESSAGE, Math.min(maxSize, 65535 - 28));
  const chunks = optionBytes(p.options);
  let mainLen = 0;
  for (const c of chunks) mainLen += c.length;
  const fileField = p.file ? Buffer.from(p.file, 'latin1') : undefined;
  const snameField = p.sname ? Buffer.from(p.sname, 'latin1') : undefined;
  if (fileField && fileField.length > 128) throw new Error('boot file name longer than 128 bytes');
  if (snameField && snameField.length > 64) throw new Error('server name longer than 64 bytes');

  // Room in the main area: total size - header - END (1 byte).
  let room = size - HEADER_LEN - 1;
  const main: Buffer[] = [];
  let fileOpts: Buffer[] | undefined;
  let snameOpts: Buffer[] | undefined;
  if (mainLen <= room) {
    main.push(...chunks);
  } else {
    room -= 3; // the overload option itself
    const fileRoom = fileField ? 0 : 127;
    const snameRoom = snameField ? 0 : 63;
    let used = 0;
    let fileUsed = 0;
    let snameUsed = 0;
    for (const c of chunks) {
      if (used + c.length <= room) {
        main.push(c);
        used += c.length;
      } else if (fileUsed + c.length <= fileRoom) {
        (fileOpts ??= []).push(c);
        fileUsed += c.length;
      } else if (snameUsed + c.length <= snameRoom) {
        (snameOpts ??= []).push(c);
        snameUsed += c.length;
      } // else: dropped, it does not fit the client's maximum message size
    }
    const flag = (fileOpts ? 1 : 0) | (snameOpts ? 2 : 0);
    if (flag) main.unshift(Buffer.from([Opt.OVERLOAD, 1, flag]));
  }
  let total = HEADER_LEN + 1;
  for (const c of main) total += c.length;
  const buf = Buffer.alloc(Math.max(MIN_PACKET, total));
  writeFixedFields(buf, p);
  if (snameOpts) {
    let o = 44;
    for (const c of snameOpts) o += c.copy(buf, o);
    buf[o] = Opt.END;
  } else if (snameField) snameField.copy(buf, 44);
  if (fileOpts) {
    let o = 108;
    for (const c of fileOpts) o += c.copy(buf, o);
    buf[o] = Opt.END;
  } else if (fileField) fileField.copy(buf, 108);
  buf.writeUInt32BE(MAGIC_COOKIE, 236);
  let o = HEADER_LEN;
  for (const c of main) o += c.copy(buf, o);
  buf[o] = Opt.END;
  return buf;
}

/** The fixed BOOTP fields before sname (RFC 2131 §2, figure 1). */
function writeFixedFields(buf: Buffer, p: EncodeInput): void {
  buf[0] = p.op;
  buf[1] = p.htype ?? 1;
  buf[2] = p.hlen ?? 6;
  buf[3] = p.hops ?? 0;
  buf.writeUInt32BE(p.xid >>> 0, 4);
  buf.writeUInt16BE(p.secs ?? 0, 8);
  buf.writeUInt16BE(p.flags ?? 0, 10);
  buf.writeUInt32BE((p.ciaddr ?? 0) >>> 0, 12);
  buf.writeUInt32BE((p.yiaddr ?? 0) >>> 0, 16);
  buf.writeUInt32BE((p.siaddr ?? 0) >>> 0, 20);
  buf.writeUInt32BE((p.giaddr ?? 0) >>> 0, 24);
  p.chaddr.copy(buf, 28, 0, Math.min(16, p.chaddr.length));
}

const scratch = Buffer.alloc(1500);

/**
 * `encode` for the hot path: writes into one shared buffer and returns a view of it, valid only
 * until the next call (the native send copies it synchronously). Falls back to `encode` when the
 * options need the overload fields.
 */
export function encodeTransient(p: EncodeInput, maxSize = MIN_MAX_MESSAGE): Buffer {
  const size = Math.max(MIN_MAX_MESSAGE, Math.min(maxSize, scratch.length));
  let total = HEADER_LEN + 1;
  for (const [, v] of p.options) total += v.length === 0 ? 2 : v.length + 2 * Math.ceil(v.length / 255);
  const fileLen = p.file ? Buffer.byteLength(p.file, 'latin1') : 0;
  const snameLen = p.sname ? Buffer.byteLength(p.sname, 'latin1') : 0;
  if (total > size || fileLen > 128 || snameLen > 64) return encode(p, maxSize);
  const len = Math.max(MIN_PACKET, total);
  const buf = scratch;
  buf.fill(0, 0, len);
  writeFixedFields(buf, p);
  if (p.sname) buf.write(p.sname, 44, 'latin1');
  if (p.file) buf.write(p.file, 108, 'latin1');
  buf.writeUInt32BE(MAGIC_COOKIE, 236);
  let o = HEADER_LEN;
  for (const [code, value] of p.options) {
    if (value.length === 0) {
      buf[o++] = code;
      buf[o++] = 0;
      continue;
    }
    for (let i = 0; i < value.length; i += 255) {
      const n = Math.min(255, value.length - i);
      buf[o++] = code;
      buf[o++] = n;
      o += value.copy(buf, o, i, i + n);
    }
  }
  buf[o] = Opt.END;
  return buf.subarray(0, len);
}
