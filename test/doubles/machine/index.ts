/**
 * A machine double: a server that network-boots from hearth the way iPXE does, then runs Talos (a
 * TalosNodeDouble). It gets its address by DHCP (./dhcp.ts) or is given one, fetches its per-machine iPXE script over HTTP from the address it booted
 * with, downloads the kernel and every initrd the script names (whole, counting the bytes), fetches
 * the `talos.config=` URL when the script carries one (zero-touch), and powers its Talos node on:
 * configured from that config, or in maintenance mode at its boot address when there is none.
 * A script that says `exit` (boot from the local disk) starts nothing.
 */
import http from 'node:http';
import { parseAppliedConfig, type AppliedConfig } from '../talos-node/config.js';
import { TalosNodeDouble, type TalosNodeDoubleOptions } from '../talos-node/index.js';
import { dhcpLease, type DhcpClientOptions, type DhcpLease } from './dhcp.js';

export interface MachineDoubleOptions {
  mac: string;
  uuid?: string;
  /** The address it boots with, when it does no DHCP: every request goes out from it. */
  address?: string;
  /** Get the address by DHCP first (from hearth's DHCP server on loopback). */
  dhcp?: Omit<DhcpClientOptions, 'mac'>;
  /** Netboot's HTTP base, e.g. http://127.0.0.1:8080. */
  httpBase: string;
  /** The Talos node it becomes (its address is `address`). */
  talos: Omit<TalosNodeDoubleOptions, 'address'>;
  /** Stop after this boot step (a machine that hangs there): 'script' | 'kernel' | 'initrd'. */
  hangAfter?: 'script' | 'kernel' | 'initrd';
  /** Called with the Talos node before it starts (tests hook its events). */
  onNode?: (node: TalosNodeDouble) => void;
}

export interface Fetched {
  status: number;
  body: Buffer;
}

const MAX_BYTES = 64 << 20;

export class MachineDouble {
  /** What it fetched, in order: URL path and bytes. */
  readonly fetched: { path: string; status: number; bytes: number }[] = [];
  config?: AppliedConfig;
  node?: TalosNodeDouble;
  /** The script said: boot from the local disk. */
  localBoot = false;
  lease?: DhcpLease;
  /** The address it booted with (its lease, or the one given). */
  address?: string;

  constructor(readonly opts: MachineDoubleOptions) {}

  /** One GET from the machine's address (bounded in size and time). */
  get(url: string): Promise<Fetched> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { localAddress: this.address, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > MAX_BYTES) req.destroy(new Error(`${url}: more than ${MAX_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          this.fetched.push({ path: new URL(url).pathname, status: res.statusCode ?? 0, bytes: body.length });
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
      req.on('error', reject);
    });
  }

  /** Boots: script, kernel, initrds, config; then the Talos node. Resolves once the node answers. */
  async powerOn(): Promise<TalosNodeDouble | undefined> {
    if (this.opts.dhcp) {
      this.lease = await dhcpLease({ ...this.opts.dhcp, mac: this.opts.mac });
      this.address = this.lease.ip;
    } else this.address = this.opts.address;
    if (!this.address) throw new Error(`machine ${this.opts.mac}: no address (give one, or DHCP)`);
    const q = new URLSearchParams({ mac: this.opts.mac, buildarch: 'x86_64', platform: 'pcbios', ...(this.opts.uuid ? { uuid: this.opts.uuid } : {}) });
    const script = await this.get(`${this.opts.httpBase}/ipxe?${q}`);
    if (script.status !== 200) throw new Error(`machine ${this.opts.mac}: script HTTP ${script.status}`);
    const text = script.body.toString('utf8');
    if (/^exit\b/m.test(text) || /^sanboot\b/m.test(text)) {
      this.localBoot = true;
      return undefined;
    }
    if (this.opts.hangAfter === 'script') return undefined;
    const kernel = /^kernel (\S+)(.*)$/m.exec(text);
    if (!kernel) throw new Error(`machine ${this.opts.mac}: no kernel line in its script:\n${text}`);
    const k = await this.get(kernel[1]!);
    if (k.status !== 200 || k.body.length === 0) throw new Error(`machine ${this.opts.mac}: kernel HTTP ${k.status}`);
    if (this.opts.hangAfter === 'kernel') return undefined;
    for (const m of text.matchAll(/^initrd (\S+)/gm)) {
      const r = await this.get(m[1]!);
      if (r.status !== 200) throw new Error(`machine ${this.opts.mac}: initrd HTTP ${r.status}`);
    }
    if (this.opts.hangAfter === 'initrd') return undefined;
    const url = /(?:^|\s)talos\.config=(\S+)/.exec(kernel[2] ?? '')?.[1];
    if (url) {
      const expanded = url.replaceAll('${mac}', this.opts.mac).replaceAll('${uuid}', this.opts.uuid ?? '');
      const c = await this.get(expanded);
      // Talos retries a refused config; the double stays in maintenance mode instead
      if (c.status === 200) this.config = parseAppliedConfig(c.body);
    }
    const node = new TalosNodeDouble({ ...this.opts.talos, address: this.address });
    this.node = node;
    if (this.config) node.config = this.config;
    this.opts.onNode?.(node);
    await node.start();
    // configured from the fetched config, it comes up `booting`; with automatic stages it goes on to running
    if (this.config && this.opts.talos.stageDelayMs !== undefined) await node.stepUntil('running');
    return node;
  }
}
