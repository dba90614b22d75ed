/**
 * What one DHCP exchange allocates on hearth's fast path: the real DHCP server (startDhcp, full
 * mode, the lease journal with fdatasync in a temporary directory) fed through an in-process
 * listener that batches replies as the native one does, its events going to the progress tracker,
 * the run's event bus and a `--log` line writer (discarded), as `netboot serve --log` wires them.
 * `--window` clients at a time, each exchange with a fresh MAC: DISCOVER → OFFER → REQUEST → ACK,
 * then a RELEASE that gives the address back (as dhcp-soak does). `--macs N` instead cycles over N
 * MACs that keep their leases (no RELEASE: the next exchange of a MAC renews its lease), as
 * perfdhcp -R N does in bench/anchors/dhcp_bench.sh. The client packets are encoded once per window
 * slot and patched in place, so the figures are the server's.
 *
 * Prints bytes allocated on V8's heap per exchange (v8.GCProfiler: the used heap before each GC
 * minus after the previous one), scavenges per 10,000 ACKs and CPU per exchange (process.cpuUsage:
 * every thread, the journal's fdatasync included; a shared machine makes it noisy). No network, nothing as root.
 * `--top N` also samples the allocations (V8's sampling heap profiler, collected objects included)
 * and prints the N sites that allocated most (the sampler's own cost then shows in the figures).
 *
 *   npm run build && node dist/bench/netboot/dhcp-alloc.js [--exchanges 50000] [--window 64] [--warmup 5000] [--store journal|memory] [--macs N] [--top N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import { lineBatcher, writeLogLine } from '../../src/cli/actions/netboot.js';
import { boundYoungGeneration, keepYoungGenerationSmall } from '../../src/cli/young-generation.js';
import { startDhcp, MemoryLeaseStore } from '../../src/netboot/dhcp/index.js';
import { MessageType, Opt } from '../../src/netboot/dhcp/options.js';
import { encode, type OptionList } from '../../src/netboot/dhcp/packet.js';
import type { Datagram, Listener } from '../../src/netboot/dhcp/transport.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { publishProgress } from '../../src/netboot/server.js';
import { RunEventBus } from '../../src/pipeline/events.js';
import { benchArgs, runBenchmark } from './lib.js';

const args = benchArgs('usage: node dist/bench/netboot/dhcp-alloc.js [--exchanges 50000] [--window 64] [--warmup 5000] [--store journal|memory] [--macs N] [--top N]', {
  exchanges: '50000',
  window: '64',
  warmup: '5000',
  store: 'journal',
  macs: '0',
  top: '0',
});
const EXCHANGES = args.number('exchanges', 1);
const WINDOW = args.number('window', 1);
const WARMUP = args.number('warmup', 0);
const STORE = args.text('store');
const TOP = args.number('top');
/** MACs cycled over, keeping their leases (0: a fresh MAC per exchange, released after its ACK). */
const MACS = args.number('macs');
if (MACS > 0 && MACS < WINDOW) {
  console.error('dhcp-alloc: --macs is at least --window (one exchange per MAC at a time)');
  process.exit(2);
}
if (STORE !== 'journal' && STORE !== 'memory') {
  console.error('dhcp-alloc: --store is journal or memory');
  process.exit(2);
}
const SERVER = '192.0.2.1';
const SERVER_NUM = 0xc0000201;
/** Most wall-clock time for the whole run: a stall is an error, not a hang. */
const MAX_MS = 170_000;

/** The client packets of one window slot, encoded once; `patch` rewrites MAC, xid and addresses in place. */
class Slot {
  readonly discover: Buffer;
  readonly request: Buffer;
  readonly release: Buffer;
  private readonly requestedAt: number;
  constructor() {
    const pxe: OptionList = [
      [Opt.PARAM_REQUEST_LIST, Buffer.from([1, 3, 6, 43, 60, 66, 67, 97])],
      [Opt.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00007:UNDI:003016')],
      [Opt.CLIENT_ARCH, Buffer.from([0, 7])],
      [Opt.CLIENT_NDI, Buffer.from([1, 3, 16])],
      [Opt.CLIENT_UUID, Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 0x5a)])],
    ];
    const packet = (type: keyof typeof MessageType, options: OptionList) =>
      encode({ op: 1, xid: 0, flags: 0x8000, ciaddr: 0, chaddr: Buffer.alloc(16), options: [[Opt.MESSAGE_TYPE, Buffer.from([MessageType[type]])], ...options] }, 1500);
    this.discover = packet('DISCOVER', pxe);
    this.request = packet('REQUEST', [[Opt.SERVER_ID, Buffer.from([192, 0, 2, 1])], [Opt.REQUESTED_IP, Buffer.from([0, 0, 0, 0])], ...pxe]);
    this.release = packet('RELEASE', [[Opt.SERVER_ID, Buffer.from([192, 0, 2, 1])]]);
    this.requestedAt = optionAt(this.request, Opt.REQUESTED_IP);
  }
  /** Exchange `n` from MAC 52:54:xx:xx:xx:xx numbered `mac`: its xid and MAC in all three packets. */
  start(n: number, mac: number): void {
    for (const b of [this.discover, this.request, this.release]) {
      b.writeUInt32BE(n >>> 0, 4); // xid
      b.writeUInt16BE(0x5254, 28);
      b.writeUInt32BE(mac >>> 0, 30);
    }
  }
  offered(ip: number): void {
    this.request.writeUInt32BE(ip, this.requestedAt);
    this.release.writeUInt32BE(ip, 12); // ciaddr
  }
}

/** Where option `code`'s value starts in an encoded packet. */
function optionAt(buf: Buffer, code: number): number {
  for (let i = 240; i < buf.length; ) {
    if (buf[i] === code) return i + 2;
    if (buf[i] === 0) i++;
    else i += 2 + buf[i + 1]!;
  }
  throw new Error(`option ${code} not in the template`);
}

/**
 * A listener in process: datagrams handed in per batch; replies queued and flushed as the native
 * one does, copied into reused buffers (the native queue copies into its own memory), so the
 * listener itself allocates nothing per reply on V8's heap.
 */
class LoopListener implements Listener {
  readonly port = 67;
  private deliver: ((d: Datagram) => void) | undefined;
  private readonly ring = Array.from({ length: 256 }, () => Buffer.alloc(1500));
  private readonly out: number[] = [];
  private slot = 0;
  constructor(private readonly onReply: (reply: Buffer) => void) {}
  start(onDatagram: (d: Datagram) => void): void {
    this.deliver = onDatagram;
  }
  receive(data: Buffer): void {
    this.deliver!({ data, srcIp: '0.0.0.0', srcPort: 68, dstIp: '255.255.255.255', localPort: 67, queuedMs: 0 });
  }
  send(data: Buffer): boolean {
    this.onReply(this.copy(data));
    return true;
  }
  queue(data: Buffer): boolean {
    if (this.out.length >= 64) return false;
    this.out.push(this.slot);
    this.copy(data);
    return true;
  }
  flush(result: (sent: boolean) => void): void {
    const n = this.out.length;
    for (let i = 0; i < n; i++) {
      result(true);
      this.onReply(this.ring[this.out[i]!]!);
    }
    this.out.length = 0;
  }
  private copy(data: Buffer): Buffer {
    const b = this.ring[this.slot]!;
    this.slot = (this.slot + 1) % this.ring.length;
    data.copy(b);
    return b;
  }
  async close(): Promise<void> {}
}

interface GcStat {
  gcType: string;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

async function main(): Promise<void> {
  keepYoungGenerationSmall();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-alloc-'));
  const tracker = new ProgressTracker({ nameForMac: () => undefined });
  const bus = new RunEventBus();
  publishProgress(tracker, bus);
  let logBytes = 0;
  const lines = lineBatcher((text) => void (logBytes += text.length));
  bus.subscribe(({ event: e }) => {
    const m = e.type === 'boot' && e.boot.mac ? tracker.get(e.boot.mac) : undefined;
    if (m && e.type === 'boot' && e.boot.kind !== 'talos-config-refused') writeLogLine(lines, m, e.boot);
  });

  const slots = Array.from({ length: WINDOW }, () => new Slot());
  const total = WARMUP + EXCHANGES;
  let started = 0;
  let acks = 0;
  let done = 0;
  const bySlot = new Map<number, Slot>(); // xid -> slot
  const ready: Buffer[] = [];
  let pump: NodeJS.Immediate | undefined;
  let finished: () => void = () => undefined;
  const send = (b: Buffer) => {
    ready.push(b);
    pump ??= setImmediate(() => {
      pump = undefined;
      for (const d of ready.splice(0)) listener.receive(d);
    });
  };
  const next = (slot: Slot) => {
    if (started >= total) return;
    const n = started++;
    bySlot.set(n, slot);
    slot.start(n, MACS > 0 ? n % MACS : n);
    send(slot.discover);
  };
  const listener = new LoopListener((reply) => {
    const xid = reply.readUInt32BE(4);
    const slot = bySlot.get(xid);
    if (!slot) return;
    const type = reply[optionAt(reply, Opt.MESSAGE_TYPE)];
    if (type === MessageType.OFFER) {
      slot.offered(reply.readUInt32BE(16));
      send(slot.request);
    } else if (type === MessageType.ACK) {
      acks++;
      bySlot.delete(xid);
      if (MACS === 0) send(slot.release);
      if (++done === total) finished();
      else setImmediate(() => next(slot)); // after the RELEASE went in
    }
  });

  const server = await startDhcp({
    mode: 'full',
    interface: 'loop',
    serverIp: SERVER,
    netmask: '255.255.255.0',
    range: { first: '192.0.2.10', last: '192.0.2.239' },
    dns: [SERVER],
    router: SERVER,
    leaseTimeSec: 3600,
    reservations: [],
    boot: { httpBase: `http://${SERVER}:8080`, tftpServer: SERVER, chainload: false },
    stateDir: dir,
    events: tracker,
    metrics: createMetrics(),
    listeners: [listener],
    ...(STORE === 'memory' ? { store: new MemoryLeaseStore() } : {}),
  });
  const stopBound = boundYoungGeneration();
  const timeout = setTimeout(() => {
    console.error(`dhcp-alloc: stalled after ${done} of ${total} exchanges`);
    process.exit(1);
  }, MAX_MS);

  // One run: the first WARMUP exchanges compile every path and grow the young generation to its
  // busy size; the rest, in steady state (the window stays full across the boundary), are measured.
  let atWarm: () => void = () => undefined;
  const warm = new Promise<void>((resolve) => (atWarm = resolve));
  const all = new Promise<void>((resolve) => (finished = resolve));
  const watch = setInterval(() => done >= WARMUP && atWarm(), 1);
  for (const s of slots) next(s);
  await warm;
  clearInterval(watch);
  const sampler = TOP > 0 ? await startSampling() : undefined;
  const profiler = new v8.GCProfiler();
  const acks0 = acks;
  const done0 = done;
  const used0 = v8.getHeapStatistics().used_heap_size;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  profiler.start();
  await all;
  const used1 = v8.getHeapStatistics().used_heap_size;
  const stats = (profiler.stop() as unknown as { statistics: GcStat[] }).statistics;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (sampler) await printTop(sampler, TOP);
  let bytes = 0;
  let after = used0;
  let scavenges = 0;
  for (const s of stats) {
    bytes += s.beforeGC.heapStatistics.usedHeapSize - after;
    after = s.afterGC.heapStatistics.usedHeapSize;
    if (s.gcType === 'Scavenge') scavenges++;
  }
  bytes += used1 - after;
  const measured = { bytes, scavenges, acks: acks - acks0, ms };
  const exchanges = done - done0;
  clearTimeout(timeout);
  stopBound();
  lines.flush();
  await server.close();
  await rm(dir, { recursive: true, force: true });
  console.log(
    `dhcp-alloc: ${exchanges} exchanges (${STORE} store, window ${WINDOW}, ${WARMUP} warm-up${MACS > 0 ? `, ${MACS} MACs` : ''}): ${(measured.bytes / exchanges).toFixed(0)} bytes/exchange, ` +
      `${((measured.scavenges * 10_000) / measured.acks).toFixed(1)} scavenges per 10k ACKs, ${stats.length - measured.scavenges} other GCs, ` +
      `${((cpu.user + cpu.system) / exchanges).toFixed(1)} us CPU/exchange, ${((exchanges / measured.ms) * 1000).toFixed(0)} exchanges/s${logBytes > 0 ? '' : ' (no log lines?)'}`,
  );
}

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}

async function startSampling(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return session;
}

/** The `n` allocation sites with the most sampled bytes: function, file:line, share. */
async function printTop(session: Session, n: number): Promise<void> {
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SampleNode } };
  session.disconnect();
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: SampleNode) => {
    const f = node.callFrame;
    const site = `${f.functionName || '(anonymous)'} ${path.basename(f.url)}:${f.lineNumber + 1}`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    total += node.selfSize;
    for (const c of node.children) walk(c);
  };
  walk(profile.head);
  for (const [site, size] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${((size / total) * 100).toFixed(1).padStart(5)} %  ${site}`);
}

runBenchmark(main);
