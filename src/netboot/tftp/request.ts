/**
 * The TFTP protocol decisions, without sockets or files: which requests are served or refused
 * (and with which error packet), the option negotiation of RFC 2347 (blksize RFC 2348, timeout and
 * tsize RFC 2349, windowsize RFC 7440), and which block an ACK acknowledges in a window.
 */
import type { JailRefusal } from '../jail.js';
import { ERR, OP, parsePacket, type Request } from './packet.js';

/** An ERROR reply and the drop reason it is counted under. */
export interface Refusal {
  code: number;
  message: string;
  reason: string;
}

/** What to do with a datagram on the request port. */
export type Screened = { drop: string } | { refuse: Refusal } | { serve: Request };

/** Sorts a datagram on the request port: a readable request, a refused one, or one to drop. */
export function screenRequest(msg: Buffer): Screened {
  const p = parsePacket(msg);
  if (p.kind === 'invalid') return { drop: p.reason };
  // ACK/DATA/ERROR/OACK on the request port belong to no transfer.
  if (p.kind !== 'request') return { drop: `stray-${p.kind}` };
  const req = p.req;
  if (req.op === OP.WRQ) return { refuse: { code: ERR.ACCESS, message: 'this server is read-only', reason: 'write-refused' } };
  if (req.mode !== 'octet' && req.mode !== 'netascii') {
    return { refuse: { code: ERR.ILLEGAL_OP, message: `transfer mode ${req.mode} is not supported`, reason: 'bad-mode' } };
  }
  return { serve: req };
}

/** The ERROR packet for a request the slot table turned away (slots.ts). */
export function slotRefusal(why: 'client-limit' | 'busy'): Refusal {
  return why === 'busy'
    ? { code: ERR.UNDEFINED, message: 'server busy, try again', reason: why }
    : { code: ERR.UNDEFINED, message: 'too many transfers from this address, try again', reason: why };
}

/** The name a client asked for as the jail takes it (PXE clients may use DOS separators). */
export function requestedName(filename: string): string {
  return filename.replace(/\\/g, '/');
}

/** The ERROR packet for a name the jail refused. */
export function jailRefusal(why: JailRefusal): Refusal {
  switch (why) {
    case 'not-found':
      return { code: ERR.NOT_FOUND, message: 'file not found', reason: why };
    case 'not-a-file':
      return { code: ERR.NOT_FOUND, message: 'not a file', reason: why };
    case 'absolute-path':
      return { code: ERR.ACCESS, message: 'absolute paths are not served', reason: why };
    default:
      return { code: ERR.ACCESS, message: 'access violation', reason: why };
  }
}

export interface NegotiationLimits {
  /** Retransmission timeout when the client asks for none, ms. */
  timeoutMs: number;
  maxBlksize: number;
  maxWindow: number;
}

export interface Negotiated {
  blksize: number;
  window: number;
  timeoutMs: number;
  /** Options to acknowledge in an OACK, in the client's order; empty: no OACK, data at once. */
  accepted: [string, string][];
}

/**
 * Answers the options we support (RFC 2347) and ignores the rest; values out of their RFC range
 * are ignored too, and blksize/windowsize are capped to our limits. `size` is the transfer size
 * reported for tsize.
 */
export function negotiate(options: ReadonlyMap<string, string>, size: number, limits: NegotiationLimits): Negotiated {
  const out: Negotiated = { blksize: 512, window: 1, timeoutMs: limits.timeoutMs, accepted: [] };
  for (const [name, value] of options) {
    const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    if (name === 'blksize' && n >= 8) {
      out.blksize = Math.min(n, limits.maxBlksize);
      out.accepted.push(['blksize', String(out.blksize)]);
    } else if (name === 'tsize' && n >= 0) {
      out.accepted.push(['tsize', String(size)]);
    } else if (name === 'timeout' && n >= 1 && n <= 255) {
      out.timeoutMs = n * 1000;
      out.accepted.push(['timeout', String(n)]);
    } else if (name === 'windowsize' && n >= 1 && n <= 65535) {
      out.window = Math.min(n, limits.maxWindow);
      out.accepted.push(['windowsize', String(out.window)]);
    }
  }
  return out;
}

/** Number of the final block of a `size`-byte transfer (a full last block is followed by an empty one). */
export function lastBlockOf(size: number, blksize: number): number {
  return Math.floor(size / blksize) + 1;
}

/**
 * The absolute block a 16-bit (wrapping) ACK number acknowledges, when it is one of the blocks in
 * flight (`base` .. `base + window - 1`, not past `lastBlock`); undefined for a duplicate or old
 * ACK, which must be ignored (answering those is the sorcerer's apprentice bug).
 */
export function ackedBlock(ack: number, base: number, window: number, lastBlock: number): number | undefined {
  const inFlight = Math.min(window, lastBlock - base + 1);
  const delta = (ack - (base & 0xffff) + 0x10000) & 0xffff;
  return delta < inFlight ? base + delta : undefined;
}
