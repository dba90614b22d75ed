/**
 * `proxy` mode (proxyDHCP, PXE 2.1 §2.2): runs beside the site's DHCP server, which hands out the
 * addresses. hearth answers only network-boot clients (PXEClient / HTTPClient / iPXE), only with
 * boot information (yiaddr 0), on port 67 (an OFFER to the broadcast DISCOVER) and on port 4011
 * (the boot-server REQUEST a PXE ROM or iPXE sends after it has its address; answered with an
 * ACK unicast to the client).
 */
import type { BootEvents } from '../../events.js';
import { bootPart, ChainMemory, emit, maxSizeOf, replyBase, type BootSettings, type DhcpRequest, type Handler, type Outcome } from '../handler.js';
import { isBootClient } from '../boot.js';
import { MessageType, Opt, numToIp, readIp } from '../options.js';

export interface ProxyConfig {
  serverIp: number;
  boot: BootSettings;
  tftpServer: number;
  /** Client UDP port for broadcast replies (default 68; tests use others). */
  clientPort?: number;
  /** Our own port-67 port number (default 67; tests run on others); any other is the boot-server port. */
  serverPort?: number;
}

export class ProxyHandler implements Handler {
  private readonly chain = new ChainMemory();
  private readonly clientPort: number;
  private readonly port67: number;
  /** Addresses the clients reported (ciaddr at port 4011), so TFTP/HTTP requests map to MACs. */
  private readonly ipToMac = new Map<string, string>();

  constructor(private readonly cfg: ProxyConfig, private readonly events: BootEvents) {
    this.clientPort = cfg.clientPort ?? 68;
    this.port67 = cfg.serverPort ?? 67;
  }

  macForIp(ip: string): string | undefined {
    return this.ipToMac.get(ip);
  }

  handle(req: DhcpRequest): Outcome {
    if (req.packet.giaddr !== 0) return { drop: 'relayed' };
    const boot4011 = req.localPort !== 67 && req.localPort !== this.port67;
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
    const base = replyBase(req, this.cfg.serverIp);
    base.options.unshift([Opt.MESSAGE_TYPE, Buffer.from([MessageType[type]])]);
    base.siaddr = boot.siaddr;
    base.file = boot.file;
    base.options.push(...boot.options);
    const ciaddr = req.packet.ciaddr;
    if (ciaddr !== 0) this.ipToMac.set(numToIp(ciaddr), req.mac);
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
