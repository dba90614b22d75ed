/**
 * What the boot events of DHCP exchanges cost beyond the protocol: the progress tracker, the run's
 * event bus (machine snapshot + boot event per change) and the `--log` line per event, fed the four
 * events of an exchange (discover, offer, request, ack) for `--clients` MACs in turn, as perfdhcp's
 * rotating clients make them. Prints CPU microseconds per exchange (process.cpuUsage: the main
 * thread and V8's GC helper threads) and the scavenges (young-generation GCs) per 1,000 exchanges.
 * No network: it measures the code path only, so it is steady on a busy machine.
 *
 *   npm run build && node dist/bench/netboot/dhcp-events.js [--exchanges 200000] [--clients 200]
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { logLine } from '../../src/cli/actions/netboot.js';
import type { BootEvent } from '../../src/netboot/events.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { publishProgress } from '../../src/netboot/server.js';
import { RunEventBus } from '../../src/pipeline/events.js';
import { benchArgs } from './lib.js';

const args = benchArgs('usage: node dist/bench/netboot/dhcp-events.js [--exchanges 200000] [--clients 200]', { exchanges: '200000', clients: '200' });
const EXCHANGES = args.number('exchanges', 1);
const CLIENTS = args.number('clients', 1);

const tracker = new ProgressTracker({ nameForMac: () => undefined });
const bus = new RunEventBus();
publishProgress(tracker, bus);
// As `netboot serve --log` does: a line per boot event of a known machine (written nowhere here).
let bytes = 0;
bus.subscribe(({ event: e }) => {
  const m = e.type === 'boot' && e.boot.mac ? tracker.get(e.boot.mac) : undefined;
  if (m && e.type === 'boot') bytes += logLine(m, e.boot).length;
});

const hex = (n: number) => n.toString(16).padStart(2, '0');
const macs = Array.from({ length: CLIENTS }, (_, i) => `52:54:00:00:${hex((i >> 8) & 255)}:${hex(i & 255)}`);
const ips = Array.from({ length: CLIENTS }, (_, i) => `192.0.2.${(i % 200) + 10}`);

/** The four events of `n` exchanges, shaped as the DHCP handler reports them. */
function run(n: number, t0: number): void {
  for (let i = 0; i < n; i++) {
    const mac = macs[i % CLIENTS]!;
    const ip = ips[i % CLIENTS]!;
    const at = t0 + i;
    const ev = (kind: BootEvent['kind'], withIp: boolean, detail?: string): BootEvent => ({ kind, at, mac, arch: undefined, uuid: undefined, ip: withIp ? ip : undefined, hostname: undefined, detail });
    tracker.emit(ev('dhcp-discover', false));
    tracker.emit(ev('dhcp-offer', true));
    tracker.emit(ev('dhcp-request', true, 'selecting'));
    tracker.emit(ev('dhcp-ack', true));
  }
}

let scavenges = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (((e as { detail?: { kind?: number } }).detail?.kind ?? -1) === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
});
obs.observe({ entryTypes: ['gc'] });

const t0 = Date.UTC(2026, 0, 1);
run(Math.min(50_000, EXCHANGES), t0); // warm up: every client known, steps at their bound
await new Promise((r) => setImmediate(r));
scavenges = 0;
const cpu0 = process.cpuUsage();
run(EXCHANGES, t0 + 1e6);
const cpu = process.cpuUsage(cpu0);
await new Promise((r) => setTimeout(r, 50)); // GC entries are delivered asynchronously
obs.disconnect();
console.log(
  `boot events of ${EXCHANGES} DHCP exchanges (${CLIENTS} clients): ${((cpu.user + cpu.system) / EXCHANGES).toFixed(2)} us CPU per exchange, ` +
    `${((scavenges * 1000) / EXCHANGES).toFixed(2)} scavenges per 1,000 exchanges (${bytes > 0 ? 'log lines made' : 'no log lines?'})`,
);
