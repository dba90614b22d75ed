/**
 * Shared pieces of the DHCP tests (not a test file itself): the lab topology, the DHCP server in
 * its own process inside a namespace (src/netboot/dhcp/run.ts), a raw UDP peer that sends crafted
 * packets from a client namespace, and a DHCP client packet builder.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../helpers/cli.js';
import { exited, stopChild, within, WAIT_MS } from '../helpers/within.js';
import type { Netns, NetnsLab } from '../helpers/netns.js';
import type { BootEvent } from '../../src/netboot/events.js';
import { decode, encode, isDecodeError, type DhcpPacket, type OptionList } from '../../src/netboot/dhcp/packet.js';
import type { DhcpRequest, Outcome } from '../../src/netboot/dhcp/handler.js';
import { MessageType, Opt, ipBytes, ipToNum, macBytes } from '../../src/netboot/dhcp/options.js';
import type { FullConfig } from '../../src/netboot/dhcp/full/handler.js';

const COMPILED = fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`);

/** argv that runs a TypeScript module of the repo (compiled JS under dist/ when tests are compiled). */
export function nodeArgv(srcRel: string): string[] {
  return COMPILED ? [process.execPath, path.join(ROOT, 'dist', srcRel.replace(/\.ts$/, '.js'))] : [process.execPath, '--import', 'tsx', path.join(ROOT, srcRel)];
}

export interface Lan {
  srv: Netns;
  clients: Netns[];
}

/** Server namespace with bridge br0 = 192.0.2.1/24, and `macs.length` client namespaces whose c0 hangs on it. */
export async function makeLan(lab: NetnsLab, macs: string[]): Promise<Lan> {
  const srv = await lab.ns('s');
  await lab.bridge(srv, 'br0', '192.0.2.1/24');
  const clients: Netns[] = [];
  for (let i = 0; i < macs.length; i++) {
    const c = await lab.ns(`c${i}`);
    await lab.veth(srv, `p${i}`, undefined, c, 'c0', undefined, { mac: macs[i] });
    await lab.attach(srv, `p${i}`, 'br0');
    clients.push(c);
  }
  return { srv, clients };
}

export interface Runner {
  proc: ChildProcess;
  events: BootEvent[];
  stderr: () => string;
  metrics(): Promise<string>;
  leases(): Promise<{ mac: string; ip: string; hostname?: string; fixed: boolean; expiresAt: number }[]>;
  waitEvent(pred: (e: BootEvent) => boolean, timeoutMs?: number): Promise<BootEvent>;
  stop(): Promise<void>;
}

/** Starts the DHCP server process in `ns`; resolves when it is serving. */
export async function startRunner(ns: Netns, opts: Record<string, unknown>, wrap: string[] = []): Promise<Runner> {
  const proc = ns.spawn([...wrap, ...nodeArgv('src/netboot/dhcp/run.ts'), JSON.stringify(opts)]);
  const events: BootEvent[] = [];
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const waiters: { pred: (o: Record<string, unknown>) => boolean; resolve: (o: Record<string, unknown>) => void }[] = [];
  const rl = createInterface({ input: proc.stdout! });
  rl.on('line', (line) => {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (o.event) events.push(o.event as BootEvent);
    for (const w of [...waiters]) {
      if (w.pred(o)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(o);
      }
    }
  });
  const next = (pred: (o: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`runner: timed out after ${timeoutMs / 1000} s waiting for a line matching ${pred.toString().slice(0, 120)}; stderr: ${err}`)), timeoutMs);
      const onExit = () => reject(new Error(`runner exited: ${err}`));
      proc.once('exit', onExit);
      waiters.push({
        pred,
        resolve: (o) => {
          clearTimeout(t);
          proc.off('exit', onExit);
          resolve(o);
        },
      });
    });
  await next((o) => o.ready === true, 30_000);
  const runner: Runner = {
    proc,
    events,
    stderr: () => err,
    async metrics() {
      const p = next((o) => typeof o.metrics === 'string');
      proc.stdin!.write('metrics\n');
      return (await p).metrics as string;
    },
    async leases() {
      const p = next((o) => Array.isArray(o.leases));
      proc.stdin!.write('leases\n');
      return (await p).leases as Awaited<ReturnType<Runner['leases']>>;
    },
    async waitEvent(pred, timeoutMs = 15_000) {
      const found = events.find(pred);
      if (found) return found;
      const o = await next((x) => x.event !== undefined && pred(x.event as BootEvent), timeoutMs);
      return o.event as BootEvent;
    },
    async stop() {
      await stopChild(proc, 'SIGTERM', 5000);
    },
  };
  return runner;
}

/** Sum of a Prometheus counter's samples whose labels contain `match` (e.g. 'reason="bad-magic"'). */
export function metricSum(text: string, name: string, match = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (match && !rest.includes(match)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Server options for a lab server on br0. */
export function serverOptions(stateDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mode: 'full',
    interface: 'br0',
    serverIp: '192.0.2.1',
    netmask: '255.255.255.0',
    range: { first: '192.0.2.100', last: '192.0.2.199' },
    router: '192.0.2.1',
    dns: ['192.0.2.1'],
    leaseTimeSec: 3600,
    reservations: [],
    boot: { httpBase: 'http://192.0.2.1:8080', tftpServer: '192.0.2.1', chainload: false },
    stateDir,
    ...extra,
  };
}

export interface UdpPeer {
  send(data: Buffer, ip: string, port: number): void;
  /** Queues a pause between sends (keeps bursts within the receivers' socket buffers). */
  pause(ms: number): void;
  /** Waits for the next datagram matching `pred`. */
  recv(pred?: (d: { data: Buffer; from: string; port: number }) => boolean, timeoutMs?: number): Promise<{ data: Buffer; from: string; port: number } | undefined>;
  received: { data: Buffer; from: string; port: number }[];
  sentAcked(): Promise<number>;
  /** Sends the length-prefixed packets of `file` (uint16 BE length + bytes each), `batch` at a time. */
  sendFile(file: string, ip: string, port: number, batch: number, pauseMs: number): Promise<number>;
  errors: string[];
  close(): Promise<void>;
}

const PEER_SCRIPT = `
import dgram from 'node:dgram';
import fs from 'node:fs';
import readline from 'node:readline';
const [port, bindAddr] = [Number(process.argv[1]), process.argv[2] || '0.0.0.0'];
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
let sent = 0;
s.on('message', (m, r) => process.stdout.write(JSON.stringify({ recv: m.toString('hex'), from: r.address, port: r.port }) + '\\n'));
s.on('error', (e) => process.stdout.write(JSON.stringify({ error: e.message }) + '\\n'));
s.bind(port, bindAddr, () => { s.setBroadcast(true); process.stdout.write(JSON.stringify({ ready: true }) + '\\n'); });
const rl = readline.createInterface({ input: process.stdin });
const queue = [];
let busy = false;
function pump() {
  if (busy) return;
  const job = queue.shift();
  if (!job) return;
  busy = true;
  if (job.sync) { process.stdout.write(JSON.stringify({ sent }) + '\\n'); busy = false; return pump(); }
  if (job.pause) { setTimeout(() => { busy = false; pump(); }, job.pause); return; }
  if (job.file) {
    // Length-prefixed packets from a file, sent in batches with a pause between them.
    const data = fs.readFileSync(job.file);
    let off = 0;
    const batch = () => {
      let inBatch = 0;
      const one = () => {
        if (off >= data.length) { busy = false; process.stdout.write(JSON.stringify({ fileDone: sent }) + '\\n'); return pump(); }
        const len = data.readUInt16BE(off);
        const pkt = data.subarray(off + 2, off + 2 + len);
        off += 2 + len;
        s.send(pkt, job.port, job.ip, (e) => { if (!e) sent++; else process.stdout.write(JSON.stringify({ error: e.message }) + '\\n'); if (++inBatch >= job.batch) setTimeout(batch, job.pauseMs); else one(); });
      };
      one();
    };
    batch();
    return;
  }
  s.send(Buffer.from(job.send, 'hex'), job.port, job.ip, (e) => { if (!e) sent++; busy = false; pump(); });
}
rl.on('line', (l) => { queue.push(JSON.parse(l)); pump(); });
`;

/**
 * A UDP socket in namespace `ns`, bound to `port`, driven from the test: sends crafted packets in
 * order (with optional pauses) and reports every datagram it receives.
 */
export async function udpPeer(ns: Netns, port: number, bindAddr = '0.0.0.0'): Promise<UdpPeer> {
  const proc = ns.spawn([process.execPath, '--input-type=module', '-e', PEER_SCRIPT, String(port), bindAddr]);
  const received: { data: Buffer; from: string; port: number }[] = [];
  const listeners: ((o: Record<string, unknown>) => void)[] = [];
  const rl = createInterface({ input: proc.stdout! });
  rl.on('line', (line) => {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (typeof o.recv === 'string') received.push({ data: Buffer.from(o.recv, 'hex'), from: o.from as string, port: o.port as number });
    for (const l of [...listeners]) l(o);
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('udp peer did not start')), 15_000);
    listeners.push((o) => {
      if (o.ready) {
        clearTimeout(t);
        resolve();
      }
      if (o.error) reject(new Error(String(o.error)));
    });
  });
  /** Sends `job` to the peer and resolves with the first reply `pick` accepts; bounded, and fails at once if the peer exits. */
  const answer = (what: string, ms: number, pick: (o: Record<string, unknown>) => number | undefined, job: Record<string, unknown>): Promise<number> => {
    let l: ((o: Record<string, unknown>) => void) | undefined;
    let gone: (() => void) | undefined;
    const got = new Promise<number>((resolve, reject) => {
      l = (o) => {
        const v = pick(o);
        if (v !== undefined) resolve(v);
      };
      gone = () => reject(new Error(`the udp peer exited waiting for ${what}`));
      listeners.push(l);
      proc.once('exit', gone);
      proc.stdin!.write(JSON.stringify(job) + '\n');
    });
    return within(ms, what, got).finally(() => {
      listeners.splice(listeners.indexOf(l!), 1);
      proc.off('exit', gone!);
    });
  };
  let seen = 0;
  const errors: string[] = [];
  listeners.push((o) => {
    if (typeof o.error === 'string') errors.push(o.error);
  });
  return {
    received,
    errors,
    sendFile(file, ip, p, batch, pauseMs) {
      return answer(`the udp peer to send every packet of ${path.basename(file)}`, 120_000, (o) => (typeof o.fileDone === 'number' ? o.fileDone : undefined), { file, ip, port: p, batch, pauseMs });
    },
    send(data, ip, p) {
      proc.stdin!.write(JSON.stringify({ send: data.toString('hex'), ip, port: p }) + '\n');
    },
    pause(ms) {
      proc.stdin!.write(JSON.stringify({ pause: ms }) + '\n');
    },
    async recv(pred = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (; seen < received.length; seen++) if (pred(received[seen]!)) return received[seen++];
        await new Promise((r) => setTimeout(r, 20));
      }
      return undefined;
    },
    sentAcked() {
      return answer('the udp peer to confirm what it sent', WAIT_MS, (o) => (typeof o.sent === 'number' ? o.sent : undefined), { sync: true });
    },
    async close() {
      proc.stdin!.end();
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = exited(proc, 'the udp peer after SIGKILL');
        proc.kill('SIGKILL');
        await done;
      }
    },
  };
}

export interface ClientPacket {
  type: keyof typeof MessageType;
  mac: string;
  xid?: number;
  ciaddr?: number;
  flags?: number;
  requestedIp?: string;
  serverId?: string;
  options?: OptionList;
}

/** A BOOTREQUEST as a client would send it. */
export function clientPacket(p: ClientPacket): Buffer {
  const options: OptionList = [[Opt.MESSAGE_TYPE, Buffer.from([MessageType[p.type]])]];
  if (p.requestedIp) options.push([Opt.REQUESTED_IP, ipBytes(ipNum(p.requestedIp))]);
  if (p.serverId) options.push([Opt.SERVER_ID, ipBytes(ipNum(p.serverId))]);
  options.push(...(p.options ?? []));
  const chaddr = Buffer.alloc(16);
  macBytes(p.mac).copy(chaddr);
  return encode({ op: 1, xid: p.xid ?? 0x1234, flags: p.flags ?? 0x8000, ciaddr: p.ciaddr ?? 0, chaddr, options }, 1500);
}

/** A handler's input for a client packet, as the server would build it (broadcast to port 67 unless `extra` says otherwise). */
export function dhcpRequest(buf: Buffer, extra: Partial<DhcpRequest> = {}): DhcpRequest {
  const p = decode(buf);
  if (isDecodeError(p)) throw new Error(p.error);
  const mac = [...p.chaddr.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const type = (Object.keys(MessageType) as (keyof typeof MessageType)[]).find((k) => MessageType[k] === p.options.get(Opt.MESSAGE_TYPE)![0])!;
  return { packet: p, type, mac, srcIp: '0.0.0.0', srcPort: 68, dstIp: '255.255.255.255', localPort: 67, now: Date.now(), ...extra };
}

/** Options a PXE ROM sends (vendor class, arch, NDI, UUID), optionally iPXE's. */
export function pxeOptions(arch: number, opts: { ipxe?: boolean; http?: boolean; userClass?: string } = {}): OptionList {
  const cls = opts.http ? `HTTPClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003016` : `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`;
  const o: OptionList = [
    [Opt.PARAM_REQUEST_LIST, Buffer.from([1, 3, 6, 43, 60, 66, 67, 97])],
    [Opt.VENDOR_CLASS, Buffer.from(cls)],
    [Opt.CLIENT_ARCH, Buffer.from([arch >> 8, arch & 255])],
    [Opt.CLIENT_NDI, Buffer.from([1, 2, 1])],
    [Opt.CLIENT_UUID, Buffer.concat([Buffer.from([0]), Buffer.from('00112233445566778899aabbccddeeff', 'hex')])],
  ];
  if (opts.ipxe) o.push([Opt.IPXE_ENCAP, Buffer.from([177, 5, 1, 0x80, 0x86, 0x10, 0x0e])]);
  if (opts.userClass ?? (opts.ipxe ? 'iPXE' : undefined)) o.push([Opt.USER_CLASS, Buffer.from(opts.userClass ?? 'iPXE')]);
  return o;
}

export function ipNum(ip: string): number {
  return ip.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
}

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, stepMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Decodes a datagram that must be well formed. */
export function decodeOk(buf: Buffer): DhcpPacket {
  const p = decode(buf);
  if (isDecodeError(p)) throw new Error(p.error);
  return p;
}

/** The reply of an outcome as the client receives it; throws when there is none. */
export function replyPacket(o: Outcome): DhcpPacket {
  if (!o.reply) throw new Error(`expected a reply, got ${JSON.stringify(o)}`);
  return decodeOk(encode(o.reply.packet, o.reply.maxSize));
}

/**
 * A full-mode handler config for tests that run the handler in process: server 192.0.2.1/24, pool
 * 192.0.2.100-110, 60 s leases, no reservations, boot over http://192.0.2.1:8080; `extra` overrides.
 */
export function fullConfig(extra: Partial<FullConfig> = {}): FullConfig {
  return {
    serverIp: ipToNum('192.0.2.1'),
    netmask: ipToNum('255.255.255.0'),
    range: { first: ipToNum('192.0.2.100'), last: ipToNum('192.0.2.110') },
    dns: [],
    leaseTimeSec: 60,
    reservations: new Map(),
    boot: { httpBase: 'http://192.0.2.1:8080', tftpServer: '192.0.2.1', chainload: false },
    tftpServer: ipToNum('192.0.2.1'),
    ...extra,
  };
}
