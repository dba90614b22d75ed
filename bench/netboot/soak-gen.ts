/**
 * What the soak (bench/netboot/soak.ts) sends: seeded mixes of hostile and broken DHCP, TFTP and
 * HTTP traffic, one packet or request per call. Pure: no I/O, everything drawn from the PRNG.
 */
import { ackPacket, rrqPacket } from '../../src/netboot/tftp/packet.js';
import { clientPacket, pxeOptions, type ClientPacket } from '../../test/netboot/dhcp-lab.js';
import { bytesOf, intOf, malformedDhcp, mutateTftp, type Rng } from '../../test/netboot/fuzz.js';

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[intOf(r, xs.length)]!;

/** A DHCP datagram and what kind of hostility it is (for the report). */
export interface Datagram {
  kind: string;
  data: Buffer;
  broadcast: boolean;
}

export interface DhcpMix {
  /** Client MACs whose well-formed packets may be answered (bounds the leases the soak can take). */
  macs: readonly string[];
  /** Share of option floods (thousands of repeated option instances in one datagram). */
  floodShare: number;
}

/** The MACs of the soak's well-formed DHCP clients (52:54:00:5b:xx:xx). */
export function soakMacs(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `52:54:00:5b:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
}

const ip = (last: number) => (0xc0000200 | (last & 255)) >>> 0;
const dotted = (last: number) => `192.0.2.${last & 255}`;

/** A well-formed client message from one of the bounded MACs; the server may answer it. */
function validDhcp(r: Rng, macs: readonly string[]): Buffer {
  const mac = pick(r, macs);
  const xid = intOf(r, 2 ** 32);
  const kinds: (() => ClientPacket)[] = [
    () => ({ type: 'DISCOVER', mac, xid }),
    () => ({ type: 'DISCOVER', mac, xid, options: pxeOptions(pick(r, [0, 7, 9, 11, 16]), { ipxe: r() < 0.5, http: r() < 0.2 }) }),
    () => ({ type: 'REQUEST', mac, xid, requestedIp: dotted(10 + intOf(r, 230)), serverId: '192.0.2.1' }), // SELECTING
    () => ({ type: 'REQUEST', mac, xid, requestedIp: dotted(intOf(r, 256)) }), // INIT-REBOOT: ACK or NAK
    () => ({ type: 'REQUEST', mac, xid, ciaddr: ip(10 + intOf(r, 230)), flags: 0 }), // RENEWING
    () => ({ type: 'INFORM', mac, xid, ciaddr: ip(240 + intOf(r, 10)), flags: 0 }),
    () => ({ type: 'RELEASE', mac, xid, ciaddr: ip(10 + intOf(r, 230)), serverId: '192.0.2.1', flags: 0 }),
    () => ({ type: 'DECLINE', mac, xid, requestedIp: dotted(10 + intOf(r, 230)), serverId: '192.0.2.2' }), // for another server
  ];
  return clientPacket(pick(r, kinds)());
}

/** 1-4 edits of a well-formed packet, mostly in its options area. */
function mutateDhcp(b: Buffer, r: Rng): Buffer {
  let out = Buffer.from(b);
  for (let n = 1 + intOf(r, 4); n > 0; n--) {
    const k = intOf(r, 6);
    const at = 240 + intOf(r, Math.max(1, out.length - 240));
    if (k === 0 && at < out.length) out[at] = intOf(r, 256); // byte flip in the options
    else if (k === 1) out = Buffer.concat([out.subarray(0, at), Buffer.from([1 + intOf(r, 254), intOf(r, 256)]), bytesOf(r, intOf(r, 40)), out.subarray(at)]); // option inserted
    else if (k === 2) out = Buffer.concat([out.subarray(0, out.length - 1), out.subarray(240)]); // options repeated
    else if (k === 3) out = out.subarray(0, out.lastIndexOf(255) > 240 ? out.lastIndexOf(255) : out.length); // END removed
    else if (k === 4) {
      const i = intOf(r, 224);
      out[i < 28 ? i : i + 16] = intOf(r, 256); // header byte flip, chaddr kept (the MAC set stays bounded)
    }
    else out = Buffer.concat([out, bytesOf(r, intOf(r, 300))]); // junk after END
  }
  return out;
}

/** A well-formed header followed by `instances` copies of one small option (RFC 3396 joins). */
function optionFlood(r: Rng, macs: readonly string[]): Buffer {
  const head = clientPacket({ type: pick(r, ['DISCOVER', 'REQUEST'] as const), mac: pick(r, macs), xid: intOf(r, 2 ** 32) });
  const body = head.subarray(0, head.lastIndexOf(255) > 240 ? head.lastIndexOf(255) : head.length);
  const code = pick(r, [12, 43, 60, 77, 97, 224]);
  const len = 1 + intOf(r, 3);
  const room = 65_000 - body.length;
  const instances = Math.floor((room * (0.1 + 0.9 * r())) / (2 + len));
  const flood = Buffer.alloc(instances * (2 + len) + 1, 0x41);
  for (let i = 0; i < instances; i++) {
    flood[i * (2 + len)] = code;
    flood[i * (2 + len) + 1] = len;
  }
  flood[flood.length - 1] = 255;
  return Buffer.concat([body, flood]);
}

/** A datagram of 1,500 to 65,000 bytes: a well-formed packet padded with PAD or junk options. */
function oversized(r: Rng, macs: readonly string[]): Buffer {
  const b = validDhcp(r, macs);
  const size = 1500 + intOf(r, 63_500);
  const pad = r() < 0.5 ? Buffer.alloc(size - b.length) : bytesOf(r, size - b.length);
  return Buffer.concat([b.subarray(0, b.length - 1), pad, Buffer.from([255])]);
}

/** One soak DHCP datagram: malformed, well-formed, mutated, truncated, oversized or a flood. */
export function dhcpDatagram(r: Rng, mix: DhcpMix): Datagram {
  const x = r();
  const broadcast = r() < 0.5;
  if (x < mix.floodShare) return { kind: 'option-flood', data: optionFlood(r, mix.macs), broadcast };
  if (x < mix.floodShare + 0.02) return { kind: 'oversized', data: oversized(r, mix.macs), broadcast };
  if (x < 0.42) return { kind: 'malformed', data: malformedDhcp(r), broadcast };
  if (x < 0.64) return { kind: 'valid', data: validDhcp(r, mix.macs), broadcast };
  if (x < 0.88) return { kind: 'mutated', data: mutateDhcp(validDhcp(r, mix.macs), r), broadcast };
  const v = validDhcp(r, mix.macs);
  return { kind: 'truncated', data: v.subarray(0, intOf(r, v.length)), broadcast };
}

/** Where a TFTP packet goes: the request port, or a live transfer's port (from a foreign TID). */
export interface TftpPacket {
  kind: string;
  data: Buffer;
  to: 'main' | 'transfer';
}

const TRAVERSALS = [
  '../secret.txt', '../../../../etc/passwd', '/etc/passwd', 'sub/../../secret.txt', '..\\secret.txt', '..\\..\\etc\\passwd',
  './../secret.txt', 'sub/./../../secret.txt', '%2e%2e/secret.txt', '..%2fsecret.txt', 'escape', 'escape/../vmlinuz',
  'vmlinuz/../../secret.txt', '....//secret.txt', 'C:\\Windows\\win.ini', '\\\\host\\share', '~/secret.txt', '/proc/self/environ',
];
const BAD_OPTIONS: Record<string, string>[] = [
  { blksize: '0' }, { blksize: '7' }, { blksize: '65465' }, { blksize: '99999999999999999999' }, { blksize: 'abc' }, { blksize: '-1' },
  { timeout: '0' }, { timeout: '256' }, { timeout: '-5' }, { timeout: '1e9' }, { tsize: 'x' }, { tsize: '-1' }, { tsize: '1'.repeat(400) },
  { windowsize: '0' }, { windowsize: '65536' }, { windowsize: '' }, { ['x'.repeat(300)]: '1' }, { multicast: '' }, { BLKSIZE: '1468', blksize: '512' },
];

/** An RRQ's mode: mostly valid, some not. */
const modeOf = (r: Rng) => pick(r, ['octet', 'octet', 'netascii', 'OCTET', 'mail', 'binary', '', 'x'.repeat(100)]);

function badOptionRrq(r: Rng, file: string): Buffer {
  const opts: Record<string, string> = {};
  for (let n = 1 + intOf(r, 3); n > 0; n--) Object.assign(opts, pick(r, BAD_OPTIONS));
  const raw = rrqPacket(file, modeOf(r), opts);
  // Sometimes an option name without its value, or no final NUL.
  if (r() < 0.2) return raw.subarray(0, raw.length - 1 - intOf(r, 3));
  return raw;
}

/** One soak TFTP packet. `present` is a small file that exists (its transfers get cancelled). */
export function tftpPacket(r: Rng, templates: Buffer[], present: string): TftpPacket {
  const x = r();
  if (x < 0.2) {
    const b = bytesOf(r, intOf(r, 600));
    if (b.length >= 2 && r() < 0.5) b.writeUInt16BE(intOf(r, 12), 0); // a random opcode, known or not
    return { kind: 'random', data: b, to: 'main' };
  }
  if (x < 0.45) return { kind: 'mutated', data: mutateTftp(pick(r, templates), r), to: 'main' };
  if (x < 0.6) {
    const name = r() < 0.7 ? pick(r, TRAVERSALS) : `missing-${intOf(r, 1e9)}${pick(r, ['', '.efi', '/x', '\u00e9'])}`;
    return { kind: 'traversal-or-missing', data: rrqPacket(name, modeOf(r)), to: 'main' };
  }
  if (x < 0.7) return { kind: 'bad-options', data: badOptionRrq(r, `missing-${intOf(r, 1000)}`), to: 'main' };
  if (x < 0.75) return { kind: 'bad-options-present', data: badOptionRrq(r, present), to: 'main' };
  if (x < 0.85) {
    const op = pick(r, [3, 4, 5, 6]);
    const body = op === 3 ? bytesOf(r, intOf(r, 516)) : op === 5 ? Buffer.from(`${'e'.repeat(intOf(r, 40))}\0`) : bytesOf(r, intOf(r, 8));
    return { kind: 'stray-on-request-port', data: Buffer.concat([Buffer.from([0, op, intOf(r, 256), intOf(r, 256)]), body]), to: 'main' };
  }
  if (x < 0.95) {
    const data = pick(r, [ackPacket(intOf(r, 65536)), Buffer.from([0, 5, 0, intOf(r, 9), 0x78, 0]), Buffer.from([0, 3, 0, 1, ...bytesOf(r, 8)]), bytesOf(r, intOf(r, 40))]);
    return { kind: 'unknown-tid', data, to: 'transfer' };
  }
  return { kind: 'wrq', data: Buffer.concat([Buffer.from([0, 2]), Buffer.from(`${pick(r, ['upload', 'vmlinuz', '../x'])}\0octet\0`)]), to: 'main' };
}

/** One malformed HTTP exchange: bytes to write, and whether to half-close after them. */
export interface HttpAttempt {
  kind: string;
  /** Request messages in it (a pipelined write counts each). */
  requests: number;
  data: Buffer;
  halfClose: boolean;
}

const RANGES = [
  'bytes=5-2', 'bytes=-0', 'bytes=99999999999-', 'bytes=0-99999999999999999999999999', 'bytes=abc', 'bytes=0-1,2-3', 'bytes=--1', 'items=0-1',
  'bytes=-99999999999999', 'bytes=1e3-2e3', 'bytes=0x10-0x20', 'bytes= 1 - 2 ', 'bytes=4096-', 'bytes=-4097', 'bytes=0-0', 'bytes=',
];
const PATHS = [
  '/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/assets/%2E%2E%2Fsecret.txt', '/assets/..%2fsecret.txt', '/assets/..%5csecret.txt',
  '/assets/%252e%252e/secret.txt', '/assets/%c0%ae%c0%ae/secret.txt', '/assets/sub/../../secret.txt', '/%2e%2e/secret.txt', '/assets/escape',
  '/assets/....//secret.txt', '/assets/..;/secret.txt', '/assets/%00', '/assets/small.bin%00.txt', '/%zz', '/assets/%', '/%E0%A4%A', '/assets/%ff%fe',
  '//etc/passwd', '/assets//etc/passwd', '/assets/%2fetc%2fpasswd', '/ipxe.efi/../../secret.txt', '/undionly.kpxe%2f..%2f..%2fsecret.txt',
  '../secret.txt', 'http://192.0.2.1:8080/assets/../secret.txt', '*', '/ipxe?mac=%zz', '/ipxe?mac=' + 'f'.repeat(5000), '/assets/' + 'a/'.repeat(2000),
];
const METHODS = ['PUT', 'DELETE', 'POST', 'TRACE', 'OPTIONS', 'PATCH', 'CONNECT', 'G@T', 'get', 'M'.repeat(1000), 'PRI', 'GET\0', 'BREW'];

const req = (method: string, target: string, headers: string[], body = '') =>
  `${method} ${target} HTTP/1.1\r\nHost: 192.0.2.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n${body}`;

/** A pipelined request that is not the last: keep-alive, no Connection: close. */
const keep = (method: string, target: string) => `${method} ${target} HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n`;

/** One malformed HTTP attempt. `small` is an asset path that exists (e.g. /assets/small.bin). */
export function httpAttempt(r: Rng, small: string): HttpAttempt {
  const x = r();
  const one = (kind: string, s: string, halfClose = false): HttpAttempt => ({ kind, requests: 1, data: Buffer.from(s, 'latin1'), halfClose });
  if (x < 0.2) {
    const hs = [`Range: ${pick(r, RANGES)}`];
    if (r() < 0.3) hs.push(`If-Range: ${pick(r, ['"nope"', 'Mon, 01 Jan 1990 00:00:00 GMT', 'x'.repeat(200)])}`);
    if (r() < 0.1) hs[0] = `Range: bytes=${Array.from({ length: 500 + intOf(r, 1500) }, (_, i) => `${i}-${i}`).join(',')}`;
    return one('bad-range', req(pick(r, ['GET', 'HEAD']), small, hs));
  }
  if (x < 0.4) return one('traversal', req(pick(r, ['GET', 'HEAD']), pick(r, PATHS), []));
  if (x < 0.5) {
    const k = intOf(r, 3);
    const size = 8192 + intOf(r, 90_000);
    if (k === 0) return one('huge-header', req('GET', '/healthz', [`X-Big: ${'b'.repeat(size)}`]));
    if (k === 1) return one('many-headers', req('GET', '/healthz', Array.from({ length: 200 + intOf(r, 3000) }, (_, i) => `X-H${i}: ${i}`)));
    return one('huge-url', req('GET', `/assets/${'u'.repeat(size)}`, []));
  }
  if (x < 0.65) {
    const n = 2 + intOf(r, 8);
    const parts: string[] = [];
    for (let i = 0; i < n - 1; i++) {
      parts.push(pick(r, [keep('GET', '/healthz'), keep('GET', small), keep('HEAD', pick(r, PATHS)), keep(pick(r, METHODS), '/'), bytesOf(r, intOf(r, 200)).toString('latin1'), '\r\n\r\n', 'GET / HTTP/1.1\r\n']));
    }
    parts.push(req('GET', '/healthz', []));
    return { kind: 'pipelined-garbage', requests: n, data: Buffer.from(parts.join(''), 'latin1'), halfClose: false };
  }
  if (x < 0.8) {
    const m = pick(r, METHODS);
    const k = intOf(r, 4);
    if (k === 0) return one('bad-method', `GET /\r\n\r\n`); // HTTP/0.9
    if (k === 1) return one('bad-method', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    if (k === 2) return one('bad-method', `GET / HTTP/${pick(r, ['9.9', '1.2', '0.9', 'x', '1.1.1'])}\r\nHost: 192.0.2.1\r\nConnection: close\r\n\r\n`);
    return one('bad-method', req(m, m === 'CONNECT' ? '192.0.2.1:443' : '/assets/small.bin', m === 'POST' || m === 'PUT' ? ['Content-Length: 5'] : [], m === 'POST' || m === 'PUT' ? 'hello' : ''));
  }
  if (x < 0.9) {
    const framings = [
      () => one('bad-framing', req('GET', '/healthz', ['Content-Length: 5', 'Transfer-Encoding: chunked'], '0\r\n\r\n')),
      () => one('bad-framing', req('POST', '/healthz', ['Content-Length: -1'])),
      () => one('bad-framing', req('POST', '/healthz', ['Transfer-Encoding: chunked'], 'zz\r\nhello\r\n0\r\n\r\n')),
      () => one('bad-framing', req('POST', '/healthz', ['Content-Length: 99999999'], 'short'), true),
      () => one('bad-framing', req('GET', '/healthz', ['X-Fold: a', ' folded'])),
      () => one('bad-framing', 'GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n'),
      () => one('bad-framing', req('GET', '/healthz', ['X-Nul: a\0b'])),
      () => one('bad-framing', 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'),
      () => one('bad-framing', req('GET', '/healthz', ['Host: 198.51.100.7'])),
      () => one('bad-framing', req('GET', '/healthz', ['Bad Header: 1'])),
      () => one('bad-framing', req('GET', '/healthz', ['Content-Length: 1', 'Content-Length: 2'], 'ab')),
      () => one('bad-framing', `GET /healthz HTTP/1.1\r\nHost: x\r\n`, true), // headers never finished
    ];
    return pick(r, framings)();
  }
  return { kind: 'random-bytes', requests: 1, data: bytesOf(r, 1 + intOf(r, 2000)), halfClose: r() < 0.5 };
}
