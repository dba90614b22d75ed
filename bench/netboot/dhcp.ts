/**
 * DHCP benchmark: 4-way exchanges (DISCOVER-OFFER-REQUEST-ACK) per second that hearth, dnsmasq
 * and Kea complete under perfdhcp (package kea-admin), in the same namespace topology, in one run.
 *
 *   sudo npx tsx bench/netboot/dhcp.ts [--rates 2000,5000,10000] [--reps 3] [--period 5] [--clients 200]
 *
 * Topology: namespace S (bridge br0 = 192.0.2.1/24, the server) and namespace C (c0 =
 * 192.0.2.250/24, perfdhcp) on one veth. perfdhcp acts as a relay agent on the link (giaddr =
 * 192.0.2.250) and sends to 192.0.2.1, which all three servers answer. Each server gets every
 * rate for `period` seconds, `reps` times (bounded: perfdhcp -p, plus a timeout), with fresh state
 * each time it starts; a server's figure is, over the rates, the best median completed-exchange
 * rate (ACKs received per second). Medians, because a shared 2-core host is noisy.
 *
 * Durability differs and is printed: hearth fdatasyncs its lease journal before every ACK (group
 * commit); Kea's memfile appends to a CSV without fsync; dnsmasq rewrites its lease file without fsync.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable, which, type Netns } from '../../test/helpers/netns.js';
import { metricSum, startRunner, type Runner } from '../../test/netboot/dhcp-lab.js';
import { benchArgs } from './lib.js';

const args = benchArgs('usage: sudo npx tsx bench/netboot/dhcp.ts [--rates 2000,5000,10000] [--reps 3] [--period 5] [--clients 200]', { rates: '2000,5000,10000', reps: '3', period: '5', clients: '200' });
const RATES = args.text('rates').split(',').map(Number);
const REPS = args.number('reps', 1);
const PERIOD = args.number('period', 1);
const CLIENTS = args.number('clients', 1);

interface Result {
  rate: number;
  offers: number;
  acks: number;
  sent: number;
  acksPerSec: number;
}

function parsePerfdhcp(out: string): { discovers: number; offers: number; requests: number; acks: number } {
  const section = (name: string) => {
    const i = out.indexOf(`Statistics for: ${name}`);
    if (i < 0) return { sent: 0, received: 0 };
    const rest = out.slice(i);
    return { sent: Number(/sent packets: (\d+)/.exec(rest)?.[1] ?? 0), received: Number(/received packets: (\d+)/.exec(rest)?.[1] ?? 0) };
  };
  const d = section('DISCOVER-OFFER');
  const r = section('REQUEST-ACK');
  return { discovers: d.sent, offers: d.received, requests: r.sent, acks: r.received };
}

async function perfdhcp(client: Netns, rate: number): Promise<Result> {
  const r = await client.exec(['perfdhcp', '-4', '-r', String(rate), '-R', String(CLIENTS), '-p', String(PERIOD), '-l', '192.0.2.250', '192.0.2.1'], {
    timeoutMs: (PERIOD + 30) * 1000,
  });
  const s = parsePerfdhcp(r.stdout);
  if (s.discovers === 0) throw new Error(`perfdhcp failed: ${r.stderr || r.stdout}`);
  return { rate, offers: s.offers, acks: s.acks, sent: s.discovers, acksPerSec: s.acks / PERIOD };
}

async function main(): Promise<void> {
  const why = netnsUnavailable() ?? (which('perfdhcp') ? undefined : 'perfdhcp is not installed (apt-get install kea-admin)');
  if (why) {
    console.error(`dhcp bench: ${why}`);
    process.exit(2);
  }
  const lab = new NetnsLab('bdhc');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-bench-dhcp-'));
  const cleanup = async () => {
    await lab.cleanup();
    await rm(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  const results = new Map<string, Result[]>();
  const notes: string[] = [];
  try {
    const srv = await lab.ns('s');
    const cli = await lab.ns('c');
    await lab.bridge(srv, 'br0', '192.0.2.1/24');
    await lab.veth(srv, 'pc', undefined, cli, 'c0', '192.0.2.250/24');
    await lab.attach(srv, 'pc', 'br0');

    const servers: { name: string; start(stateDir: string): Promise<{ stop(): Promise<void>; after?(): Promise<void> }> }[] = [
      {
        name: 'hearth',
        async start(stateDir) {
          const runner: Runner = await startRunner(srv, {
            mode: 'full',
            interface: 'br0',
            serverIp: '192.0.2.1',
            netmask: '255.255.255.0',
            range: { first: '192.0.2.10', last: '192.0.2.249' },
            dns: ['192.0.2.1'],
            router: '192.0.2.1',
            leaseTimeSec: 3600,
            reservations: [],
            boot: { httpBase: 'http://192.0.2.1:8080', tftpServer: '192.0.2.1', chainload: false },
            stateDir,
            quietEvents: true,
          });
          return {
            stop: () => runner.stop(),
            async after() {
              const m = await runner.metrics();
              const drops = m
                .split('\n')
                .filter((l) => l.startsWith('hearth_dhcp_packets_dropped_total{'))
                .map((l) => l.replace('hearth_dhcp_packets_dropped_total', ''))
                .join(', ');
              notes.push(`hearth: received ${metricSum(m, 'hearth_dhcp_packets_received_total')}, sent ${metricSum(m, 'hearth_dhcp_packets_sent_total')}, dropped: ${drops || 'none'}`);
            },
          };
        },
      },
    ];
    if (which('dnsmasq')) {
      servers.push({
        name: 'dnsmasq',
        async start(stateDir) {
          const p = srv.spawn(['dnsmasq', '--no-daemon', '--port=0', '--interface=br0', '--bind-interfaces', '--no-ping', '--dhcp-authoritative', '--quiet-dhcp',
            '--dhcp-range=192.0.2.10,192.0.2.249,1h', '--dhcp-option=3,192.0.2.1', '--dhcp-option=6,192.0.2.1', `--dhcp-leasefile=${path.join(stateDir, 'leases')}`, `--pid-file=${path.join(stateDir, 'pid')}`]);
          await new Promise((r) => setTimeout(r, 1000));
          return { stop: async () => void p.kill('SIGKILL') };
        },
      });
    } else notes.push('dnsmasq: not installed (dnsmasq-base), skipped');
    if (which('kea-dhcp4')) {
      servers.push({
        name: 'kea',
        async start(stateDir) {
          const conf = path.join(stateDir, 'kea.json');
          await writeFile(conf, JSON.stringify({
            Dhcp4: {
              'interfaces-config': { interfaces: ['br0'], 'dhcp-socket-type': 'udp' },
              'lease-database': { type: 'memfile', persist: true, name: path.join(stateDir, 'leases.csv'), 'lfc-interval': 0 },
              'valid-lifetime': 3600,
              authoritative: true,
              'option-data': [{ name: 'routers', data: '192.0.2.1' }, { name: 'domain-name-servers', data: '192.0.2.1' }],
              subnet4: [{ id: 1, subnet: '192.0.2.0/24', pools: [{ pool: '192.0.2.10 - 192.0.2.249' }] }],
              loggers: [{ name: 'kea-dhcp4', severity: 'ERROR', output_options: [{ output: 'stderr' }] }],
            },
          }));
          const p = srv.spawn(['kea-dhcp4', '-c', conf], { env: { ...process.env, KEA_LOCKFILE_DIR: stateDir, KEA_PIDFILE_DIR: stateDir } });
          await new Promise((r) => setTimeout(r, 1500));
          return { stop: async () => void p.kill('SIGKILL') };
        },
      });
    } else notes.push('kea: not installed (kea-dhcp4-server), skipped');

    // Interleave the servers (rep by rep) so that background load hits them alike.
    for (let rep = 0; rep < REPS; rep++) for (const s of servers) {
      const list: Result[] = results.get(s.name) ?? [];
      for (const rate of RATES) {
        const stateDir = await mkdtemp(path.join(dir, `${s.name}-`));
        const h = await s.start(stateDir);
        try {
          const r = await perfdhcp(cli, rate);
          list.push(r);
          console.error(`${s.name.padEnd(8)} rate ${String(rate).padStart(6)}/s: ${r.sent} DISCOVER, ${r.offers} OFFER, ${r.acks} ACK → ${r.acksPerSec.toFixed(0)} exchanges/s`);
          if (rate === RATES[RATES.length - 1] && rep === REPS - 1) await h.after?.();
        } finally {
          await h.stop();
          await new Promise((r) => setTimeout(r, 300));
        }
      }
      results.set(s.name, list);
    }
  } finally {
    await cleanup();
  }
  const median = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length ? (v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2) : 0;
  };
  const at = (name: string, rate: number) => median((results.get(name) ?? []).filter((r) => r.rate === rate).map((r) => r.acksPerSec));
  const best = (name: string) => Math.max(...RATES.map((rate) => at(name, rate)), 0);
  console.log(`\nDHCP 4-way exchanges per second (perfdhcp, ${CLIENTS} clients, ${PERIOD} s per rate, median of ${REPS}, nothing pinned)`);
  console.log(`  ${'offered'.padEnd(8)} ${RATES.map((r) => String(r).padStart(7)).join(' ')}    best  (single runs: min-max)`);
  for (const name of results.keys()) {
    const all = (results.get(name) ?? []).map((r) => r.acksPerSec);
    console.log(`  ${name.padEnd(8)} ${RATES.map((r) => at(name, r).toFixed(0).padStart(7)).join(' ')} ${best(name).toFixed(0).padStart(7)}  (${Math.min(...all).toFixed(0)}-${Math.max(...all).toFixed(0)})`);
  }
  const others = [...results.keys()].filter((n) => n !== 'hearth');
  const bestOther = Math.max(...others.map(best), 0);
  const bestName = others.find((n) => best(n) === bestOther);
  if (bestOther > 0) console.log(`  ratio hearth / best (${bestName}): ${(best('hearth') / bestOther).toFixed(2)}x`);
  for (const n of notes) console.log(`  note: ${n}`);
  console.log('  durability: hearth fdatasyncs its lease journal before each ACK; Kea memfile and dnsmasq do not fsync.');
}

main().catch((err: Error) => {
  console.error(`dhcp bench: ${err.stack ?? err.message}`);
  process.exit(1);
});
