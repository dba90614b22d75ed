/**
 * Seeded fuzz generators shared by the fuzz tests (dhcp-fuzz, tftp-fuzz) and the soak script
 * (bench/netboot/soak.ts). Not a test file itself. Everything is driven by one seeded PRNG so a
 * failure can be replayed from its seed.
 */
import { encode, type OptionList } from '../../src/netboot/dhcp/packet.js';
import { Opt } from '../../src/netboot/dhcp/options.js';
import { ackPacket, rrqPacket } from '../../src/netboot/tftp/packet.js';
import { mulberry32 } from '../helpers/prng.js';
import { clientPacket, pxeOptions } from './dhcp-lab.js';

/** The seeded PRNG the generators draw from. */
export const rng = mulberry32;

export type Rng = () => number;

/** An integer in [0, n). */
export const intOf = (r: Rng, n: number): number => Math.floor(r() * n);

/** `n` bytes from the PRNG. */
export function bytesOf(r: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let k = 0; k < n; k++) b[k] = intOf(r, 256);
  return b;
}

/**
 * One DHCP packet that is malformed or must be ignored, by construction: every one of them is to
 * be counted as dropped and answered by nobody.
 */
export function malformedDhcp(r: Rng): Buffer {
  const int = (n: number) => intOf(r, n);
  const mac = () => `52:54:00:${[int(256), int(256), int(256)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  const template = () => {
    const m = mac();
    const all = [
      clientPacket({ type: 'DISCOVER', mac: m, xid: int(2 ** 32) }),
      clientPacket({ type: 'DISCOVER', mac: m, xid: int(2 ** 32), options: pxeOptions([0, 7, 9, 11, 16][int(5)]!, { ipxe: r() < 0.5 }) }),
      clientPacket({ type: 'REQUEST', mac: m, requestedIp: '192.0.2.1' + String(int(100)).padStart(2, '0'), serverId: '192.0.2.1' }),
      clientPacket({ type: 'INFORM', mac: m, ciaddr: 0xc0000232 }),
    ];
    return Buffer.from(all[int(all.length)]!);
  };
  const withOptions = (options: OptionList) => {
    const chaddr = Buffer.alloc(16);
    chaddr.set([0x52, 0x54, 0, int(256), int(256), int(256)]);
    return encode({ op: 1, xid: int(2 ** 32), chaddr, options }, 1500);
  };
  const mutations: ((b: Buffer) => Buffer)[] = [
    (b) => ((b[0] = [0, 2, 3, 255][int(4)]!), b), // not a BOOTREQUEST
    (b) => {
      const i = 236 + int(4);
      b[i] = b[i]! ^ (1 + int(255));
      return b;
    }, // magic cookie
    (b) => ((b[2] = 17 + int(239)), b), // hlen
    (b) => ((b[1] = 2 + int(254)), b), // htype not Ethernet
    (b) => b.subarray(0, int(240)), // shorter than the fixed header
    (b) => {
      // an option running past the end of the datagram
      const end = b.indexOf(255, 240);
      const cut = Buffer.from(b.subarray(0, end + 3));
      cut[end] = 1 + int(250);
      cut[end + 1] = 3 + int(250);
      return cut;
    },
    () => withOptions([[Opt.HOSTNAME, Buffer.from('bootp')], [Opt.PARAM_REQUEST_LIST, Buffer.from([1, 3])]]), // no message type (BOOTP)
    () => withOptions([[Opt.MESSAGE_TYPE, Buffer.from([[0, 9, 10, 13, 200, 255][int(6)]!])]]), // unknown message type
    () => withOptions([[Opt.MESSAGE_TYPE, Buffer.from([1, 1])]]), // message type of the wrong length
    () => withOptions([[Opt.MESSAGE_TYPE, Buffer.from([1])], [Opt.OVERLOAD, Buffer.from([4 + int(252)])]]), // bad overload
    () => {
      const b = withOptions([[Opt.MESSAGE_TYPE, Buffer.from([1])], [Opt.OVERLOAD, Buffer.from([1 + int(3)])]]);
      b.fill(int(2) ? 1 : 0, 44, 236); // overloaded fields without END
      b[44] = b[108] = 200;
      b[45] = b[109] = 250; // and an option longer than the field
      return b;
    },
    (b) => ((b[28] = b[28]! | 1), b), // multicast client MAC
    (b) => (b.fill(0, 28, 34), b), // zero client MAC
    (b) => (b.writeUInt32BE(0xc6336401, 24), b), // relayed from another subnet (198.51.100.1)
    () => clientPacket({ type: 'REQUEST', mac: mac(), requestedIp: '192.0.2.120', serverId: '192.0.2.2' }), // for another server
    () => clientPacket({ type: ['OFFER', 'ACK', 'NAK'][int(3)] as 'OFFER', mac: mac() }), // server messages
    () => clientPacket({ type: 'RELEASE', mac: mac(), ciaddr: 0xc0000264, serverId: '192.0.2.1' }), // no such lease
  ];
  if (r() < 0.4) {
    // Random bytes; a valid magic cookie at 236 has odds of 2^-32, and we make sure it is not.
    const b = Buffer.alloc(int(700));
    for (let k = 0; k < b.length; k++) b[k] = int(256);
    if (b.length >= 240 && b.readUInt32BE(236) === 0x63825363) b[236] = 0;
    return b;
  }
  const b = mutations[int(mutations.length)]!(template());
  // Noise in fields the server does not validate (xid, secs, flags, addresses).
  for (let k = int(4); k > 0 && b.length > 28; k--) b[4 + int(20)] = int(256);
  return b;
}

/** `count` malformed DHCP packets from `seed` (see malformedDhcp). */
export function fuzzPackets(count: number, seed: number): Buffer[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => malformedDhcp(r));
}

/** TFTP packets to mutate: requests for files that do not exist, stray ACK/DATA/ERROR/OACK, a WRQ. */
export function tftpTemplates(r: Rng): Buffer[] {
  return [
    rrqPacket('no-such-file', 'octet'),
    rrqPacket('missing/vmlinuz.x', 'netascii', { blksize: 1468, tsize: 0 }),
    rrqPacket('nope.efi', 'octet', { windowsize: 8, timeout: 1 }),
    Buffer.concat([Buffer.from([0, 2]), Buffer.from('upload\0octet\0')]),
    ackPacket(1),
    Buffer.concat([Buffer.from([0, 3, 0, 1]), bytesOf(r, 512)]),
    Buffer.concat([Buffer.from([0, 5, 0, 1]), Buffer.from('boom\0')]),
    Buffer.from([0, 6, ...Buffer.from('blksize\x001024\x00')]),
    rrqPacket('../../etc/passwd', 'octet'),
    rrqPacket('/etc/shadow', 'mail'),
  ];
}

/**
 * 1 to 4 random edits of a TFTP packet: byte flip, truncation, appended junk, injected NUL,
 * repeated fields. Templates name no existing file, so no edit turns one into a real transfer
 * unless the served tree has a file of that mutated name.
 */
export function mutateTftp(t: Buffer, r: Rng): Buffer {
  let out = Buffer.from(t);
  const ops = 1 + intOf(r, 4);
  for (let i = 0; i < ops; i++) {
    const k = intOf(r, 5);
    if (k === 0 && out.length) out[intOf(r, out.length)] = intOf(r, 256); // byte flip
    else if (k === 1) out = out.subarray(0, intOf(r, out.length + 1)); // truncate
    else if (k === 2) out = Buffer.concat([out, bytesOf(r, intOf(r, 64))]); // append junk
    else if (k === 3 && out.length) out[intOf(r, out.length)] = 0; // inject NUL
    else if (k === 4 && out.length > 2) out = Buffer.concat([out, out.subarray(2)]); // repeat fields
  }
  return out;
}
