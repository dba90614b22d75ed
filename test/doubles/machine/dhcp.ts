/**
 * The DHCP part of a machine double: DISCOVER → OFFER → REQUEST → ACK as a PXE ROM running iPXE
 * does it, over UDP on loopback (sent to the server's address, answered by broadcast on lo to the
 * client port, where every machine double listens; replies are told apart by xid and MAC).
 * Bounded: a few tries with a timeout each.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { decode, encode, isDecodeError, type DhcpPacket } from '../../../src/netboot/dhcp/packet.js';
import { ipBytes, ipToNum, macBytes, MessageType, Opt, numToIp } from '../../../src/netboot/dhcp/options.js';

export interface DhcpClientOptions {
  mac: string;
  /** The DHCP server's address and port. */
  server: string;
  serverPort: number;
  /** The port replies come to (the test's stand-in for 68). */
  clientPort: number;
  tries?: number;
  timeoutMs?: number;
}

export interface DhcpLease {
  ip: string;
  serverId: string;
  /** The boot file name the server gave (iPXE's script URL). */
  file: string;
}

/** Options iPXE sends: PXE vendor class, BIOS arch, iPXE's user class. */
function pxe(type: keyof typeof MessageType, extra: [number, Buffer][] = []): [number, Buffer][] {
  return [
    [Opt.MESSAGE_TYPE, Buffer.from([MessageType[type]])],
    ...extra,
    [Opt.PARAM_REQUEST_LIST, Buffer.from([1, 3, 6, 43, 60, 66, 67])],
    [Opt.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00000:UNDI:002001')],
    [Opt.CLIENT_ARCH, Buffer.from([0, 0])],
    [Opt.USER_CLASS, Buffer.from('iPXE')],
  ];
}

export async function dhcpLease(o: DhcpClientOptions): Promise<DhcpLease> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(o.clientPort, '0.0.0.0', () => resolve());
  });
  const mac = macBytes(o.mac);
  const chaddr = Buffer.alloc(16);
  mac.copy(chaddr);
  const exchange = (type: keyof typeof MessageType, want: keyof typeof MessageType, extra: [number, Buffer][] = []): Promise<DhcpPacket | undefined> => {
    const xid = randomInt(1, 0x7fffffff);
    return new Promise((resolve) => {
      const timer = setTimeout(done, o.timeoutMs ?? 2000, undefined);
      function done(p: DhcpPacket | undefined): void {
        clearTimeout(timer);
        sock.off('message', onMessage);
        resolve(p);
      }
      function onMessage(buf: Buffer): void {
        const p = decode(buf);
        if (isDecodeError(p) || p.op !== 2 || p.xid !== xid || !p.chaddr.subarray(0, 6).equals(mac)) return;
        if (p.options.get(Opt.MESSAGE_TYPE)?.[0] === MessageType[want]) done(p);
        else if (p.options.get(Opt.MESSAGE_TYPE)?.[0] === MessageType.NAK) done(undefined);
      }
      sock.on('message', onMessage);
      sock.send(encode({ op: 1, xid, flags: 0x8000, ciaddr: 0, chaddr, options: pxe(type, extra) }, 1500), o.serverPort, o.server);
    });
  };
  try {
    for (let i = 0; i < (o.tries ?? 5); i++) {
      const offer = await exchange('DISCOVER', 'OFFER');
      if (!offer) continue;
      const serverId = offer.options.get(Opt.SERVER_ID);
      if (!serverId) continue;
      const ack = await exchange('REQUEST', 'ACK', [
        [Opt.REQUESTED_IP, ipBytes(offer.yiaddr)],
        [Opt.SERVER_ID, serverId],
      ]);
      if (ack) return { ip: numToIp(ack.yiaddr), serverId: numToIp(ipToNum([...serverId].join('.'))), file: ack.file || (ack.options.get(Opt.BOOTFILE_NAME)?.toString('latin1') ?? '') };
    }
    throw new Error(`machine ${o.mac}: no DHCP lease after ${o.tries ?? 5} tries`);
  } finally {
    sock.close();
  }
}
