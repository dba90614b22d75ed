/**
 * `full` mode: the authoritative DHCP server of the boot network (RFC 2131 §4.3). Addresses come
 * from the range or, for machines[] with a MAC, their fixed address (with hostname); PXE/iPXE
 * clients also get boot information.
 *
 * Safety rules:
 *   - an address is acknowledged to a MAC only after the lease is durable in the LeaseStore;
 *   - an address held by an unexpired lease (or a pending offer) of another MAC is never offered
 *     or acknowledged; declined addresses rest for `declineHoldMs`;
 *   - replies addressed to a client (ACK to ciaddr, INFORM) go only to addresses in the served
 *     subnet; an INFORM from elsewhere is dropped as `off-subnet`.
 *
 * Memory per client is bounded (docs/netboot-dhcp.md "Bounds"): leases by the addresses they
 * hold; pending offers, declined addresses and the chain memory are RecentMaps, expired entries
 * dropped from the oldest end on each write, and a hard cap past which the oldest goes.
 */
import type { BootEvents } from '../../events.js';
import {
  bootPart,
  ChainMemory,
  emit,
  subnetOf,
  maxSizeOf,
  replyBase,
  type BootSettings,
  type DhcpReply,
  type DhcpRequest,
  type Handler,
  type Outcome,
  type Subnet,
} from '../handler.js';
import { Opt, ipBytes, ipListBytes, readIp, u32Bytes, ipToNum, parseIp } from '../options.js';
import type { Lease, LeaseChange, LeaseState, LeaseStore } from '../leases/lease.js';
import { RecentMap } from '../../../common/recent-map.js';
import { IpTexts } from '../text-cache.js';

export interface FullConfig {
  serverIp: number;
  netmask: number;
  range?: { first: number; last: number };
  router?: number;
  dns: number[];
  leaseTimeSec: number;
  reservations: Map<string, { ip: number; hostname?: string }>;
  boot: BootSettings;
  tftpServer: number;
  /** How long an offered address stays reserved for the client (default 60 s). */
  offerHoldMs?: number;
  /** How long a declined address is not handed out (default 10 min). */
  declineHoldMs?: number;
  /** Client UDP port replies go to (default 68; tests use others). */
  clientPort?: number;
  /** Our port, where replies to relay agents go (default 67). */
  serverPort?: number;
  /** Most pending offers kept (default 65,536; the oldest goes and its address is free again). */
  offerMemory?: number;
  /** Most declined addresses kept (default 65,536; the one closest to the end of its rest goes). */
  declineMemory?: number;
  /** Chain memory bounds (chainload): window and most MACs (defaults 120 s, 16,384). */
  chainWindowMs?: number;
  chainMemory?: number;
}

/** A lease as the handler holds it: the record, and its address as a number for the hot path. */
interface Held {
  lease: Lease;
  addr: number;
}

/** Lease time with its renewal (T1 = 1/2) and rebinding (T2 = 7/8) times, RFC 2131 §4.4.5. */
function leaseTimeOptions(sec: number): [number, Buffer][] {
  return [
    [Opt.LEASE_TIME, u32Bytes(sec)],
    [Opt.RENEWAL_TIME, u32Bytes(Math.floor(sec / 2))],
    [Opt.REBINDING_TIME, u32Bytes(Math.floor((sec * 7) / 8))],
  ];
}

function active(l: Lease, now: number): boolean {
  return l.state === 'bound' && l.expiresAt > now;
}

export class FullHandler implements Handler {
  private readonly byMac = new Map<string, Held>();
  private readonly byIp = new Map<number, string>();
  private readonly offers: RecentMap<string, { ip: number; until: number }>;
  private readonly offeredIps = new Map<number, string>();
  private readonly declined: RecentMap<number, number>;
  private readonly reservedIps = new Map<number, string>();
  private readonly chain: ChainMemory;
  /** Dotted text of the addresses handed out, made once per address rather than per event. */
  private readonly ips = new IpTexts();
  private cursor = 0;
  /**
   * Every address of the range has a record in byIp, so the never-used scan finds nothing: skipped
   * until an address leaves byIp. Once a pool has gone round, the scan cost a heap number per
   * address on every DISCOVER (addresses above 2^30 are not small integers in V8).
   */
  private rangeUsed = false;
  private readonly subnet: Subnet;
  private readonly bcast: number;
  private readonly offerHoldMs: number;
  private readonly declineHoldMs: number;
  private readonly common: [number, Buffer][];
  /** Options 51, 58, 59 for the configured lease time, encoded once. */
  private readonly leaseTimes: [number, Buffer][];

  constructor(
    private readonly cfg: FullConfig,
    private readonly store: LeaseStore,
    private readonly events: BootEvents,
    private readonly onLeasesChanged: (active: number) => void = () => undefined,
  ) {
    this.subnet = subnetOf(cfg.serverIp, cfg.netmask);
    this.bcast = this.subnet.broadcast;
    this.offerHoldMs = cfg.offerHoldMs ?? 60_000;
    this.offers = new RecentMap(cfg.offerMemory ?? 65_536, (mac, o) => {
      if (this.offeredIps.get(o.ip) === mac) this.offeredIps.delete(o.ip);
    });
    this.declined = new RecentMap(cfg.declineMemory ?? 65_536);
    this.chain = new ChainMemory(cfg.chainWindowMs, cfg.chainMemory);
    this.declineHoldMs = cfg.declineHoldMs ?? 600_000;
    this.clientPort = cfg.clientPort ?? 68;
    this.serverPort = cfg.serverPort ?? 67;
    for (const [mac, r] of cfg.reservations) this.reservedIps.set(r.ip, mac);
    this.common = [[Opt.SUBNET_MASK, ipBytes(cfg.netmask)]];
    if (cfg.router !== undefined) this.common.push([Opt.ROUTER, ipBytes(cfg.router)]);
    if (cfg.dns.length) this.common.push([Opt.DNS, ipListBytes(cfg.dns)]);
    this.common.push([Opt.BROADCAST, ipBytes(this.bcast)]);
    this.leaseTimes = leaseTimeOptions(cfg.leaseTimeSec);
  }

  /** Restores the persisted leases (call before serving). */
  restore(state: LeaseState): void {
    for (const lease of state.leases) {
      let ip: number;
      try {
        ip = ipToNum(lease.ip);
      } catch {
        continue;
      }
      const holder = this.byIp.get(ip);
      if (holder && holder !== lease.mac) {
        // Cannot happen with a consistent store; keep the one that expires last.
        const other = this.byMac.get(holder)!;
        if (other.lease.expiresAt >= lease.expiresAt) continue;
        this.byMac.delete(holder);
      }
      this.byMac.set(lease.mac, { lease, addr: ip });
      this.byIp.set(ip, lease.mac);
    }
    for (const d of state.declines) {
      try {
        this.declined.set(ipToNum(d.ip), d.until);
      } catch {
        // ignore
      }
    }
    this.onLeasesChanged(this.activeCount(Date.now()));
  }

  /** The bound, unexpired leases. */
  leases(now = Date.now()): Lease[] {
    const out: Lease[] = [];
    for (const h of this.byMac.values()) if (active(h.lease, now)) out.push(h.lease);
    return out;
  }

  macForIp(ip: string): string | undefined {
    const n = parseIp(ip);
    return n === undefined ? undefined : (this.byIp.get(n) ?? this.offeredIps.get(n));
  }

  private gaugeTimer?: NodeJS.Timeout;

  /** Updates the active-leases gauge, at most every 250 ms (counting is O(leases)). */
  private leasesChanged(): void {
    if (this.gaugeTimer) return;
    this.gaugeTimer = setTimeout(() => {
      this.gaugeTimer = undefined;
      this.onLeasesChanged(this.activeCount(Date.now()));
    }, 250);
    this.gaugeTimer.unref();
  }

  private activeCount(now: number): number {
    let n = 0;
    for (const h of this.byMac.values()) if (active(h.lease, now)) n++;
    return n;
  }

  private inSubnet(ip: number): boolean {
    return this.subnet.contains(ip);
  }

  private inRange(ip: number): boolean {
    const r = this.cfg.range;
    return r !== undefined && ip >= r.first && ip <= r.last;
  }

  /** May `ip` be given to `mac` now? */
  private available(ip: number, mac: string, now: number): boolean {
    if (!this.inSubnet(ip) || ip === this.cfg.serverIp || ip === this.cfg.router) return false;
    const reservedFor = this.reservedIps.get(ip);
    if (reservedFor !== undefined && reservedFor !== mac) return false;
    const holder = this.byIp.get(ip);
    if (holder !== undefined && holder !== mac) {
      const h = this.byMac.get(holder);
      if (h && active(h.lease, now)) return false;
    }
    const offeredTo = this.offeredIps.get(ip);
    if (offeredTo !== undefined && offeredTo !== mac) {
      const o = this.offers.get(offeredTo);
      if (o && o.ip === ip && o.until > now) return false;
    }
    if (reservedFor === undefined) {
      const until = this.declined.get(ip);
      if (until !== undefined) {
        if (until > now) return false;
        this.declined.delete(ip);
      }
    }
    return true;
  }

  private forgetIp(ip: number): void {
    this.byIp.delete(ip);
    this.rangeUsed = false;
  }

  /** RFC 2131 §4.3.1 address selection for a DISCOVER. */
  private choose(mac: string, requested: number | undefined, now: number): number | undefined {
    const fixed = this.cfg.reservations.get(mac);
    if (fixed) return this.available(fixed.ip, mac, now) ? fixed.ip : undefined;
    const offer = this.offers.get(mac);
    if (offer && offer.until > now && this.available(offer.ip, mac, now)) return offer.ip;
    const held = this.byMac.get(mac);
    if (held && !held.lease.fixed && this.inRange(held.addr) && this.available(held.addr, mac, now)) return held.addr;
    if (requested !== undefined && this.inRange(requested) && this.available(requested, mac, now)) return requested;
    const r = this.cfg.range;
    if (!r) return undefined;
    const size = r.last - r.first + 1;
    // Never-used addresses first (round robin from a cursor) ...
    if (!this.rangeUsed) {
      let unused = false;
      for (let i = 0; i < size; i++) {
        const ip = r.first + ((this.cursor + i) % size);
        if (this.byIp.has(ip)) continue;
        unused = true;
        if (this.available(ip, mac, now)) {
          this.cursor = (this.cursor + i + 1) % size;
          return ip;
        }
      }
      this.rangeUsed = !unused;
    }
    // ... then the one whose lease ended longest ago. The cheap tests first: `available` looks the
    // address up in four maps, boxing it each time (an address is no small integer in V8), so it
    // runs only for a lease that would be the best so far (leases are mostly in expiry order).
    let best: Held | undefined;
    for (const h of this.byMac.values()) {
      if (h.lease.fixed || active(h.lease, now)) continue;
      if (best && h.lease.expiresAt >= best.lease.expiresAt) continue;
      if (!this.inRange(h.addr) || !this.available(h.addr, mac, now)) continue;
      best = h;
    }
    return best?.addr;
  }

  private offer(mac: string, ip: number, now: number): void {
    const prev = this.offers.set(mac, { ip, until: now + this.offerHoldMs });
    if (prev && this.offeredIps.get(prev.ip) === mac) this.offeredIps.delete(prev.ip);
    this.offeredIps.set(ip, mac);
    this.offers.pruneOldest((o) => o.until <= now);
  }

  /** Sizes of the per-client memory, for tests and the soak. */
  memory(): { leases: number; offers: number; declined: number; chained: number } {
    return { leases: this.byMac.size, offers: this.offers.size, declined: this.declined.size, chained: this.chain.size };
  }

  private dropOffer(mac: string): void {
    const o = this.offers.get(mac);
    if (!o) return;
    this.offers.delete(mac);
    if (this.offeredIps.get(o.ip) === mac) this.offeredIps.delete(o.ip);
  }

  handle(req: DhcpRequest): Outcome | Promise<Outcome> {
    // A relay agent on our own link (giaddr in the served subnet) is served like a direct client;
    // relays for other subnets are not: hearth has no pools for them.
    if (req.packet.giaddr !== 0 && !this.inSubnet(req.packet.giaddr)) return { drop: 'relayed' };
    switch (req.type) {
      case 'DISCOVER':
        return this.discover(req);
      case 'REQUEST':
        return this.request(req);
      case 'RELEASE':
        return this.release(req);
      case 'DECLINE':
        return this.decline(req);
      case 'INFORM':
        return this.inform(req);
      default:
        return { drop: 'unexpected-message-type' };
    }
  }

  private serverIdOk(req: DhcpRequest): boolean | undefined {
    const sid = readIp(req.packet.options.get(Opt.SERVER_ID));
    return sid === undefined ? undefined : sid === this.cfg.serverIp;
  }

  private reply(req: DhcpRequest, type: 'OFFER' | 'ACK' | 'NAK', yiaddr: number, leaseSec: number | undefined, hostname: string | undefined, message?: string): { reply: DhcpReply; file?: string; boot?: ReturnType<typeof bootPart> } {
    const base = replyBase(req, this.cfg.serverIp, type);
    if (type === 'NAK') {
      if (message) base.options.push([Opt.MESSAGE, Buffer.from(message)]);
      base.flags = (req.packet.flags | 0x8000) & 0xffff;
      // RFC 2131 §4.1: a NAK goes to the relay, else it is broadcast.
      const g = req.packet.giaddr;
      return { reply: { packet: base, type, ip: g ? this.ips.of(g) : '255.255.255.255', port: g ? this.serverPort : this.clientPort, maxSize: 576 } };
    }
    base.yiaddr = yiaddr;
    base.siaddr = this.cfg.tftpServer;
    if (leaseSec !== undefined) base.options.push(...(leaseSec === this.cfg.leaseTimeSec ? this.leaseTimes : leaseTimeOptions(leaseSec)));
    base.options.push(...this.common);
    if (hostname) base.options.push([Opt.HOSTNAME, Buffer.from(hostname)]);
    const boot = bootPart(req, this.cfg.boot, this.chain, this.cfg.tftpServer, false);
    if (!('none' in boot.decision)) {
      base.siaddr = boot.siaddr || this.cfg.tftpServer;
      base.file = boot.file;
      base.options.push(...boot.options);
    }
    const ciaddr = req.packet.ciaddr;
    const giaddr = req.packet.giaddr;
    // RFC 2131 §4.1: to the relay (server port) if there is one; to ciaddr when the client has
    // one on the served subnet; otherwise broadcast (we do not unicast to a not-yet-configured
    // client: that needs an ARP entry we would have to forge; nor to a ciaddr elsewhere, which
    // would make hearth a reflector).
    const ip = giaddr !== 0 ? this.ips.of(giaddr) : ciaddr !== 0 && type === 'ACK' && this.inSubnet(ciaddr) ? this.ips.of(ciaddr) : '255.255.255.255';
    return {
      reply: { packet: base, type, ip, port: giaddr !== 0 ? this.serverPort : this.clientPort, maxSize: maxSizeOf(req.packet) },
      file: 'none' in boot.decision ? undefined : boot.decision.file,
      boot,
    };
  }

  private readonly clientPort: number;
  private readonly serverPort: number;

  /** Whether a request was broadcast: to 255.255.255.255 or to this subnet's broadcast address. */
  private arrivedBroadcast(req: DhcpRequest): boolean {
    return req.dstIp === '255.255.255.255' || ipToNum(req.dstIp) === this.bcast;
  }

  private discover(req: DhcpRequest): Outcome {
    const { mac, now } = req;
    const requested = readIp(req.packet.options.get(Opt.REQUESTED_IP));
    const ip = this.choose(mac, requested, now);
    const fixed = this.cfg.reservations.get(mac);
    if (ip === undefined) {
      emit(this.events, 'dhcp-discover', req, { detail: fixed ? 'fixed address in use by another client' : 'no free address' });
      return { drop: fixed ? 'fixed-address-in-use' : 'pool-exhausted' };
    }
    this.offer(mac, ip, now);
    const r = this.reply(req, 'OFFER', ip, this.cfg.leaseTimeSec, fixed?.hostname);
    const client = r.boot?.client;
    emit(this.events, 'dhcp-discover', req, {}, client);
    emit(this.events, 'dhcp-offer', req, { ip: this.ips.of(ip), hostname: fixed?.hostname, detail: r.file }, client);
    return { reply: r.reply };
  }

  private nak(req: DhcpRequest, why: string): Outcome {
    emit(this.events, 'dhcp-nak', req, { detail: why });
    return { reply: this.reply(req, 'NAK', 0, undefined, undefined, why).reply };
  }

  private async request(req: DhcpRequest): Promise<Outcome> {
    const { mac, now } = req;
    const p = req.packet;
    const requested = readIp(p.options.get(Opt.REQUESTED_IP));
    const sidOk = this.serverIdOk(req);
    const fixed = this.cfg.reservations.get(mac);
    let ip: number;
    let state: string;
    if (sidOk === false) {
      // SELECTING, and the client chose another server's offer.
      this.dropOffer(mac);
      return { drop: 'other-server' };
    }
    if (sidOk === true) {
      state = 'selecting';
      if (requested === undefined) return this.nak(req, 'no requested address');
      ip = requested;
    } else if (requested !== undefined && p.ciaddr === 0) {
      state = 'init-reboot';
      ip = requested;
      if (!this.inSubnet(ip)) return this.nak(req, 'address not on this network');
      const held = this.byMac.get(mac);
      if (!fixed && (!held || held.addr !== ip)) {
        if (!held) return { drop: 'unknown-client' }; // RFC 2131 §4.3.2: no record → stay silent
        return this.nak(req, 'not your address');
      }
    } else if (p.ciaddr !== 0) {
      state = this.arrivedBroadcast(req) ? 'rebinding' : 'renewing';
      ip = p.ciaddr;
      if (!this.inSubnet(ip)) return this.nak(req, 'address not on this network');
    } else {
      return { drop: 'bad-request' };
    }
    emit(this.events, 'dhcp-request', req, { ip: this.ips.of(ip), detail: state });
    if (fixed) {
      if (ip !== fixed.ip) return this.nak(req, `fixed address is ${this.ips.of(fixed.ip)}`);
      if (!this.available(ip, mac, now)) return this.nak(req, 'fixed address in use by another client');
    } else {
      const known = this.byMac.get(mac)?.addr === ip;
      if (!known && !this.inRange(ip)) return this.nak(req, 'address not in the range');
      if (!this.available(ip, mac, now)) return this.nak(req, 'address in use');
    }
    // Bind: memory first (so a concurrent request cannot take the address), disk, then ACK.
    const lease: Lease = { mac, ip: this.ips.of(ip), expiresAt: now + this.cfg.leaseTimeSec * 1000, fixed: fixed !== undefined, state: 'bound' };
    if (fixed?.hostname !== undefined) lease.hostname = fixed.hostname;
    const changes: LeaseChange[] = [];
    const prevHolder = this.byIp.get(ip);
    if (prevHolder !== undefined && prevHolder !== mac) {
      this.byMac.delete(prevHolder);
      changes.push({ kind: 'forget', mac: prevHolder });
    }
    const old = this.byMac.get(mac);
    if (old && old.addr !== ip && this.byIp.get(old.addr) === mac) this.forgetIp(old.addr);
    this.byMac.set(mac, { lease, addr: ip });
    this.byIp.set(ip, mac);
    this.dropOffer(mac);
    changes.push({ kind: 'lease', lease });
    try {
      await this.store.commit(changes);
    } catch (err) {
      emit(this.events, 'dhcp-nak', req, { ip: this.ips.of(ip), detail: `lease not stored: ${(err as Error).message}` });
      return { drop: 'store-error' };
    }
    this.leasesChanged();
    const r = this.reply(req, 'ACK', ip, this.cfg.leaseTimeSec, fixed?.hostname);
    emit(this.events, 'dhcp-ack', req, { ip: this.ips.of(ip), hostname: fixed?.hostname, detail: r.file }, r.boot?.client);
    return { reply: r.reply };
  }

  private async release(req: DhcpRequest): Promise<Outcome> {
    if (this.serverIdOk(req) === false) return { drop: 'other-server' };
    const held = this.byMac.get(req.mac);
    if (!held || held.addr !== req.packet.ciaddr || held.lease.state !== 'bound') return { drop: 'unknown-lease' };
    // A new record (never mutated in place: the store may still hold the old one).
    const lease: Lease = { ...held.lease, state: 'released', expiresAt: req.now };
    this.byMac.set(req.mac, { lease, addr: held.addr });
    emit(this.events, 'dhcp-release', req, { ip: lease.ip });
    try {
      await this.store.commit([{ kind: 'lease', lease }]);
    } catch {
      return { drop: 'store-error' };
    }
    this.leasesChanged();
    return {};
  }

  private async decline(req: DhcpRequest): Promise<Outcome> {
    if (this.serverIdOk(req) === false) return { drop: 'other-server' };
    const ip = readIp(req.packet.options.get(Opt.REQUESTED_IP));
    const held = this.byMac.get(req.mac);
    if (ip === undefined || !held || held.addr !== ip) return { drop: 'unknown-lease' };
    // Another host answers on this address: take it out of use for a while.
    const until = req.now + this.declineHoldMs;
    this.byMac.delete(req.mac);
    if (this.byIp.get(ip) === req.mac) this.forgetIp(ip);
    this.declined.set(ip, until);
    this.declined.pruneOldest((u) => u <= req.now);
    emit(this.events, 'dhcp-decline', req, { ip: this.ips.of(ip), detail: held.lease.fixed ? 'fixed address in use by another host' : 'address in use by another host' });
    try {
      await this.store.commit([
        { kind: 'forget', mac: req.mac },
        { kind: 'decline', decline: { ip: this.ips.of(ip), until, mac: req.mac } },
      ]);
    } catch {
      return { drop: 'store-error' };
    }
    this.leasesChanged();
    return {};
  }

  private inform(req: DhcpRequest): Outcome {
    const ciaddr = req.packet.ciaddr || (req.srcIp !== '0.0.0.0' ? ipToNum(req.srcIp) : 0);
    if (ciaddr === 0) return { drop: 'bad-inform' };
    // The ACK goes straight to ciaddr (RFC 2131 §4.3.5): only to a host of the served subnet.
    if (!this.inSubnet(ciaddr)) return { drop: 'off-subnet' };
    const r = this.reply(req, 'ACK', 0, undefined, undefined);
    r.reply.packet.yiaddr = 0;
    r.reply.packet.ciaddr = ciaddr;
    r.reply.ip = this.ips.of(ciaddr);
    emit(this.events, 'dhcp-inform', req, { ip: this.ips.of(ciaddr), detail: r.file }, r.boot?.client);
    return { reply: r.reply };
  }
}
