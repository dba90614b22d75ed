/**
 * What the mode handlers (full/, proxy/) share: the request they are given, the outcome they
 * return, and the boot part of a reply.
 */
import type { BootEvent, BootEventKind, BootEvents } from '../events.js';
import { RecentMap } from '../../common/recent-map.js';
import { TextBytes } from './text-cache.js';
import { CHAIN_MARKER, chooseBoot, classify, type BootClient, type BootDecision } from './boot.js';
import { Opt, encodeSubOptions, ipBytes, MessageType, numToIp, PxeSub, type MessageTypeName } from './options.js';
import type { DhcpPacket, EncodeInput, OptionList } from './packet.js';

export interface DhcpRequest {
  packet: DhcpPacket;
  type: MessageTypeName;
  mac: string;
  srcIp: string;
  srcPort: number;
  /** Destination address of the datagram (255.255.255.255, the subnet broadcast, or ours): the handler, which knows the subnet, tells broadcast from unicast. */
  dstIp: string;
  /** 67, or 4011 for PXE boot-server requests (proxy mode). */
  localPort: number;
  now: number;
}

export interface DhcpReply {
  packet: EncodeInput;
  /** Message type name, for the sent-packets metric. */
  type: MessageTypeName;
  ip: string;
  port: number;
  /** The client's maximum message size (option 57), at least 576. */
  maxSize: number;
}

export interface Outcome {
  reply?: DhcpReply;
  /** Why nothing was done with the packet (the dropped-packets metric's reason). */
  drop?: string;
}

export interface Handler {
  handle(req: DhcpRequest): Outcome | Promise<Outcome>;
}

export interface BootSettings {
  httpBase: string;
  tftpServer: string;
  chainload: boolean;
  allowBoot?(mac: string): boolean;
}

/**
 * Remembers which MACs were just handed an iPXE binary, and in which DHCP session (xid). Used
 * where the chain marker cannot survive (UEFI iPXE does not import the ROM's DHCP reply): a
 * *new* session from that MAC shortly after is the chained iPXE. Retransmissions and the REQUEST
 * of the ROM's own session (same xid) still get the binary.
 *
 * Bounded: entries are kept in the order they were marked, those older than the window are
 * dropped from the oldest end on every mark (O(1) amortised), and past `cap` MACs the oldest
 * goes even inside the window (that client then gets the binary once more, as a ROM would).
 */
export class ChainMemory {
  private readonly at: RecentMap<string, { time: number; xid: number }>;
  constructor(
    private readonly windowMs = 120_000,
    cap = 16_384,
  ) {
    this.at = new RecentMap(cap);
  }
  get size(): number {
    return this.at.size;
  }
  mark(mac: string, xid: number, now: number): void {
    this.at.set(mac, { time: now, xid });
    this.at.pruneOldest((t) => now - t.time >= this.windowMs);
  }
  recent(mac: string, xid: number, now: number): boolean {
    const t = this.at.get(mac);
    return t !== undefined && t.xid !== xid && now - t.time < this.windowMs;
  }
}

/** The served IPv4 subnet: where replies addressed to a client may go (RFC 2131 §4.1: the client is on our link). */
export interface Subnet {
  network: number;
  broadcast: number;
  /** A host address of the subnet (not the network or broadcast address). */
  contains(ip: number): boolean;
}

export function subnetOf(serverIp: number, netmask: number): Subnet {
  const network = (serverIp & netmask) >>> 0;
  const broadcast = (network | (~netmask >>> 0)) >>> 0;
  return {
    network,
    broadcast,
    contains: (ip) => ((ip & netmask) >>> 0) === network && ip !== network && ip !== broadcast,
  };
}

export interface BootPart {
  client: BootClient;
  decision: BootDecision;
  siaddr: number;
  file?: string;
  options: OptionList;
}

/** Bytes of the option texts replies carry (boot file names, TFTP server, classes), shared by every server. */
const optionBytes = new TextBytes();

/**
 * The boot information for a reply: siaddr/file, option 66/67 when asked for or needed, option
 * 60 echo for HTTP boot, the chain marker, and option 97 echoed to PXE clients.
 */
export function bootPart(req: DhcpRequest, boot: BootSettings, chain: ChainMemory, tftpServerNum: number, proxy: boolean): BootPart {
  const client = classify(req.packet.options);
  const allowed = boot.allowBoot ? boot.allowBoot(req.mac) : true;
  const decision: BootDecision = allowed ? chooseBoot(client, boot, chain.recent(req.mac, req.packet.xid, req.now)) : { none: 'boot not allowed for this machine' };
  const options: OptionList = [];
  if ('none' in decision) return { client, decision, siaddr: 0, options };
  if (decision.markChain) chain.mark(req.mac, req.packet.xid, req.now);
  const prl = req.packet.options.get(Opt.PARAM_REQUEST_LIST);
  const asked = (code: number) => prl !== undefined && prl.includes(code);
  let file: string | undefined = decision.file;
  if (decision.tftp && asked(Opt.TFTP_SERVER_NAME)) options.push([Opt.TFTP_SERVER_NAME, optionBytes.of(boot.tftpServer)]);
  const fileBytes = optionBytes.of(decision.file);
  const long = fileBytes.length > 127;
  if (long || asked(Opt.BOOTFILE_NAME)) options.push([Opt.BOOTFILE_NAME, fileBytes]);
  if (long) file = undefined;
  if (decision.vendorClass === 'HTTPClient') options.push([Opt.VENDOR_CLASS, optionBytes.of('HTTPClient')]);
  else if (proxy) {
    // A proxyDHCP reply must identify itself as PXE and, with discovery control bit 3, tell the
    // ROM to boot the file in this reply instead of running boot-server discovery (PXE 2.1 §2.2.6).
    options.push([Opt.VENDOR_CLASS, optionBytes.of('PXEClient')]);
    const sub: [number, Buffer][] = [[PxeSub.DISCOVERY_CONTROL, Buffer.from([8])]];
    const item = parseBootItem(req.packet.options.get(Opt.VENDOR_SPECIFIC));
    if (item) sub.push([PxeSub.BOOT_ITEM, item]); // echo the boot item of a boot-server request
    options.push([Opt.VENDOR_SPECIFIC, encodeSubOptions(sub)]);
  }
  if (decision.markChain) options.push([Opt.USER_CLASS, optionBytes.of(CHAIN_MARKER)]);
  const uuid = req.packet.options.get(Opt.CLIENT_UUID);
  if (uuid && (client.pxe || client.http)) options.push([Opt.CLIENT_UUID, uuid]);
  // next-server is set for URLs too: iPXE (up to 2019 at least) only takes a ProxyDHCP reply as
  // carrying PXE options when it has both siaddr and a boot file name; for HTTP it is unused.
  return { client, decision, siaddr: tftpServerNum, file, options };
}

function parseBootItem(v: Buffer | undefined): Buffer | undefined {
  if (!v) return undefined;
  let i = 0;
  while (i + 1 < v.length) {
    const code = v[i]!;
    if (code === 255) return undefined;
    if (code === 0) {
      i++;
      continue;
    }
    const len = v[i + 1]!;
    if (i + 2 + len > v.length) return undefined;
    if (code === PxeSub.BOOT_ITEM && len === 4) return v.subarray(i + 2, i + 6);
    i += 2 + len;
  }
  return undefined;
}

/**
 * Option values every reply of a server carries, encoded once instead of per packet. Shared and
 * never written to: the encoder copies option values into the datagram.
 */
const TYPE_BYTES = Object.fromEntries(Object.entries(MessageType).map(([name, code]) => [name, Buffer.from([code])])) as Record<MessageTypeName, Buffer>;
let serverIdCache: { id: number; bytes: Buffer } | undefined;

function serverIdBytes(id: number): Buffer {
  if (serverIdCache?.id !== id) serverIdCache = { id, bytes: ipBytes(id) };
  return serverIdCache.bytes;
}

/** Skeleton of a BOOTREPLY of `type` to `req`: message type and server identifier first. */
export function replyBase(req: DhcpRequest, serverId: number, type: MessageTypeName): Omit<EncodeInput, 'options'> & { options: OptionList } {
  const p = req.packet;
  return {
    op: 2,
    htype: p.htype,
    hlen: p.hlen,
    hops: 0,
    xid: p.xid,
    secs: 0,
    flags: p.flags,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: p.giaddr,
    chaddr: p.chaddr,
    options: [
      [Opt.MESSAGE_TYPE, TYPE_BYTES[type]],
      [Opt.SERVER_ID, serverIdBytes(serverId)],
    ],
  };
}

export function maxSizeOf(p: DhcpPacket): number {
  const v = p.options.get(Opt.MAX_MESSAGE_SIZE);
  const n = v && v.length === 2 ? v.readUInt16BE(0) : 576;
  // Never more than an Ethernet frame can carry without fragmentation.
  return Math.max(576, Math.min(n, 1500 - 28));
}

/** What a DHCP event carries beyond the request's MAC and time and the client's arch and UUID. */
export type DhcpEventExtra = Pick<BootEvent, 'ip' | 'hostname' | 'detail'>;
const NO_EXTRA: DhcpEventExtra = {};

/**
 * Reports a DHCP event. Runs for every packet (twice for most), so the event is one literal of one
 * shape (no spread of `extra`): cheaper to make, and the same hidden class for every consumer.
 */
export function emit(events: BootEvents, kind: BootEventKind, req: DhcpRequest, extra: DhcpEventExtra = NO_EXTRA, client?: BootClient): void {
  events.emit({ kind, at: req.now, mac: req.mac, arch: client?.archName, uuid: client?.uuid, ip: extra.ip, hostname: extra.hostname, detail: extra.detail });
}

export { numToIp };
