/**
 * `proxy` mode (proxyDHCP, PXE 2.1 §2.2): runs beside the site's DHCP server, which hands out the
 * addresses. hearth answers only network-boot clients (PXEClient / HTTPClient / iPXE), only with
 * boot information (yiaddr 0), on port 67 (an OFFER to the broadcast DISCOVER) and on port 4011
 * (the boot-server REQUEST a PXE ROM or iPXE sends after it has its address; answered with an
 * ACK unicast to the client).
 *
 * Only clients on the served subnet are answered: a ciaddr (or, at port 4011, a source address)
 * outside it is dropped as `off-subnet`, so hearth never sends a reply to an address a forged
 * request names elsewhere (no reflection). The address → MAC memory is a RecentMap: newest
 * write wins, the least recently reported address goes past `ipMemory` entries.
 */
import type { BootEvents } from '../../events.js';
import { bootPart, ChainMemory, emit, maxSizeOf, replyBase, subnetOf, type BootSettings, type DhcpRequest, type Handler, type Outcome, type Subnet } from '../handler.js';
import { RecentMap } from '../../../common/recent-map.js';
import { isBootClient } from '../boot.js';
import { Opt, numToIp, parseIp, readIp } from '../options.js';

export interface ProxyConfig {
  serverIp: number;
  /** Mask of the served subnet: clients outside it get no reply. */
  netmask: number;
  boot: BootSettings;
  tftpServer: number;
  /** Client UDP port for broadcast replies (default 68; tests use others). */
  clientPort?: number;
  /** Our own port-67 port number (default 67; tests run on others); any other is the boot-server port. */
  serverPort?: number;
  /** Most client addresses remembered for macForIp (default 16,384; the least recently seen goes). */
  ipMemory?: number;
  /** Chain memory bounds (chainload): window and most MACs (defaults 120 s, 16,384). */
  chainWindowMs?: number;
  chainMemory?: number;
}

export class ProxyHandler implements Handler {
  private readonly chain: ChainMemory;
  private readonly clientPort: number;
  private readonly port67: number;
  private readonly subnet: Subnet;
  /** Addresses the clients reported (ciaddr), so TFTP/HTTP requests map to MACs. */
  private readonly ipToMac: RecentMap<number, string>;

  constructor(private readonly cfg: ProxyConfig, private readonly events: BootEvents) {
    this.clientPort = cfg.clientPort ?? 68;
    this.port67 = cfg.serverPort ?? 67;
    this.subnet = subnetOf(cfg.serverIp, cfg.netmask);
    this.ipToMac = new RecentMap(cfg.ipMemory ?? 16_384);
    this.chain = new ChainMemory(cfg.chainWindowMs, cfg.chainMemory);
  }

  /** Sizes of the per-client memory (bounded by `ipMemory` and `chainMemory`), for tests and the soak. */
  memory(): { addresses: number; chained: number } {
    return { addresses: this.ipToMac.size, chained: this.chain.size };
  }

  macForIp(ip: string): string | undefined {
    const n = parseIp(ip);
    return n === undefined ? undefined : this.ipToMac.get(n);
  }

  handle(req: DhcpRequest): Outcome {
    if (req.packet.giaddr !== 0) return { drop: 'relayed' };
    const ciaddr = req.packet.ciaddr;
    if (ciaddr !== 0 && !this.subnet.contains(ciaddr)) return { drop: 'off-subnet' };
    const boot4011 = req.localPort !== 67 && req.localPort !== this.port67;
    // Replies at the boot-server port are unicast to ciaddr or, without one, to the source address.
    if (req.localPort !== this.port67 && ciaddr === 0 && !this.subnet.contains(parseIp(req.srcIp) ?? 0)) return { drop: 'off-subnet' };
    if (boot4011) {
      if (req.type !== 'REQUEST' && req.type !== 'INFORM') return { drop: 'unexpected-message-type' };
      return this.answer(req, 'ACK');
    }
    if (req.type === 'DISCOVER') return this.answer(req, 'OFFER');
    if (req.type === 'REQUEST') {
      // The client's REQUEST to the site's DHCP server; some ROMs also request from the proxy.
      const sid = readIp(req.packet.options.get(Opt.SERVER_ID));
      if (sid !== this.cfg.serverIp) return { drop: 'not-for-us' };
      return this.answer(req, 'ACK');
    }
    return { drop: 'not-for-us' };
  }

  private answer(req: DhcpRequest, type: 'OFFER' | 'ACK'): Outcome {
    const boot = bootPart(req, this.cfg.boot, this.chain, this.cfg.tftpServer, true);
    if ('none' in boot.decision) {
      return { drop: isBootClient(boot.client) ? 'boot-not-allowed' : 'not-boot-client' };
    }
    const base = replyBase(req, this.cfg.serverIp, type);
    base.siaddr = boot.siaddr;
    base.file = boot.file;
    base.options.push(...boot.options);
    const ciaddr = req.packet.ciaddr;
    if (ciaddr !== 0) this.ipToMac.set(ciaddr, req.mac);
    const is4011 = req.localPort !== this.port67;
    // Port 4011 requests come from a configured client: answer it directly, on its source port.
    const ip = is4011 ? (ciaddr !== 0 ? numToIp(ciaddr) : req.srcIp) : '255.255.255.255';
    const port = is4011 ? req.srcPort : this.clientPort;
    if (type === 'OFFER') emit(this.events, 'dhcp-discover', req, {}, boot.client);
    else emit(this.events, 'dhcp-request', req, { ip: ciaddr ? numToIp(ciaddr) : undefined, detail: is4011 ? 'boot-server (4011)' : 'proxy' }, boot.client);
    emit(this.events, type === 'OFFER' ? 'dhcp-offer' : 'dhcp-ack', req, { ip: ciaddr ? numToIp(ciaddr) : undefined, detail: boot.decision.file }, boot.client);
    return { reply: { packet: base, type, ip, port, maxSize: maxSizeOf(req.packet) } };
  }
}
