/**
 * Small bounded caches of the text and byte forms the DHCP fast path would otherwise make for every
 * packet: a client's MAC text (each exchange is several packets from one MAC), an address's dotted
 * text (an exchange names its address four or five times), an option value's bytes (the boot file
 * name, the TFTP server). Each is a RecentMap: a hit allocates nothing, and past its cap the entry
 * stored longest ago goes. Cached values are shared: never written to (the encoder copies option
 * values into the datagram).
 */
import { RecentMap } from '../../common/recent-map.js';
import { macText, numToIp } from './options.js';

/** `aa:bb:cc:dd:ee:ff` of an Ethernet address (the first 6 bytes of chaddr), remembered for the `cap` most recent. */
export class MacTexts {
  private readonly known: RecentMap<number, string>;
  constructor(cap = 4096) {
    this.known = new RecentMap(cap);
  }
  get size(): number {
    return this.known.size;
  }
  of(chaddr: Buffer): string {
    const key = chaddr.readUIntBE(0, 6);
    let text = this.known.get(key);
    if (text === undefined) this.known.set(key, (text = macText(chaddr, 6)));
    return text;
  }
}

/** Dotted text of IPv4 addresses (numbers), remembered for the `cap` most recent. */
export class IpTexts {
  private readonly known: RecentMap<number, string>;
  constructor(cap = 4096) {
    this.known = new RecentMap(cap);
  }
  get size(): number {
    return this.known.size;
  }
  of(ip: number): string {
    let text = this.known.get(ip);
    if (text === undefined) this.known.set(ip, (text = numToIp(ip)));
    return text;
  }
}

/** The UTF-8 bytes of option text values (file names, server names), remembered for the `cap` most recent. */
export class TextBytes {
  private readonly known: RecentMap<string, Buffer>;
  constructor(cap = 256) {
    this.known = new RecentMap(cap);
  }
  get size(): number {
    return this.known.size;
  }
  of(text: string): Buffer {
    let bytes = this.known.get(text);
    if (bytes === undefined) this.known.set(text, (bytes = Buffer.from(text)));
    return bytes;
  }
}
