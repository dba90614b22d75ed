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

/** Values made from keys by `make`, remembered for the `cap` most recently stored keys. */
export class Memo<K, V> {
  private readonly known: RecentMap<K, V>;
  constructor(
    private readonly make: (key: K) => V,
    cap: number,
  ) {
    this.known = new RecentMap(cap);
  }
  /** Keys remembered now. */
  get size(): number {
    return this.known.size;
  }
  /** The value for `key`: the remembered one, else made now (and remembered). */
  of(key: K): V {
    let value = this.known.get(key);
    if (value === undefined) this.known.set(key, (value = this.make(key)));
    return value;
  }
}

/** Six bytes to format a MAC key from (the fast path runs on one thread: one scratch serves all). */
const MAC_SCRATCH = Buffer.alloc(6);

/** `aa:bb:cc:dd:ee:ff` of an Ethernet address (the first 6 bytes of chaddr), remembered for the `cap` most recent. */
export class MacTexts {
  private readonly memo: Memo<number, string>;
  constructor(cap = 4096) {
    this.memo = new Memo((key) => {
      MAC_SCRATCH.writeUIntBE(key, 0, 6);
      return macText(MAC_SCRATCH, 6);
    }, cap);
  }
  /** Addresses remembered now. */
  get size(): number {
    return this.memo.size;
  }
  of(chaddr: Buffer): string {
    return this.memo.of(chaddr.readUIntBE(0, 6));
  }
}

/** Dotted text of IPv4 addresses (numbers), remembered for the `cap` most recent. */
export class IpTexts extends Memo<number, string> {
  constructor(cap = 4096) {
    super(numToIp, cap);
  }
}

/** The UTF-8 bytes of option text values (file names, server names), remembered for the `cap` most recent. */
export class TextBytes extends Memo<string, Buffer> {
  constructor(cap = 256) {
    super((text) => Buffer.from(text), cap);
  }
}
