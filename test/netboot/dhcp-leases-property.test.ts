/**
 * What a DHCP server promises, over random sequences: the full-mode handler on the lease journal,
 * driven through binds (several REQUESTs in flight at once, so commits group), renewals, releases,
 * compactions, clean restarts, simulated kill -9 (the journal port dies mid-write, the store is
 * abandoned), torn tails, short writes, ENOSPC and failing syncs. After every restart:
 *   - every acknowledged lease is found again (or the newer, unacknowledged attempt of that client),
 *   - no address is bound to two MACs,
 *   - the journal holds no NUL bytes and only a torn *tail* is ever reported.
 * Seeded (HEARTH_LEASE_SEED) and bounded (HEARTH_LEASE_RUNS runs of HEARTH_LEASE_STEPS steps);
 * a failure names its seed, run and step.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, stat, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FullHandler } from '../../src/netboot/dhcp/full/handler.js';
import { JournalLeaseStore } from '../../src/netboot/dhcp/leases/store.js';
import { ipToNum, numToIp } from '../../src/netboot/dhcp/options.js';
import { noEvents } from '../../src/netboot/events.js';
import { clientPacket, dhcpRequest, fullConfig } from './dhcp-lab.js';
import { FaultyDisk, type Fault } from './lease-disk.js';
import { mulberry32 } from '../helpers/prng.js';
import type { Outcome } from '../../src/netboot/dhcp/handler.js';

const SEED = Number(process.env.HEARTH_LEASE_SEED ?? randomInt(2 ** 31));
const RUNS = Number(process.env.HEARTH_LEASE_RUNS ?? 20);
const STEPS = Number(process.env.HEARTH_LEASE_STEPS ?? 40);
const MACS = 24;
const FIXED_MAC = 0;

const mac = (i: number) => `52:54:00:cc:00:${i.toString(16).padStart(2, '0')}`;

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Server {
  store: JournalLeaseStore;
  handler: FullHandler;
  disk: FaultyDisk;
  warnings: string[];
}

async function startServer(dir: string, compactAfter: number): Promise<Server> {
  const disk = new FaultyDisk();
  const warnings: string[] = [];
  const store = new JournalLeaseStore(dir, { openFile: disk.open, compactAfter, warn: (m) => warnings.push(m) });
  const handler = new FullHandler(
    fullConfig({
      range: { first: ipToNum('192.0.2.100'), last: ipToNum('192.0.2.129') },
      leaseTimeSec: 3600,
      reservations: new Map([[mac(FIXED_MAC), { ip: ipToNum('192.0.2.11'), hostname: 'cp1' }]]),
    }),
    store,
    noEvents,
  );
  handler.restore(await store.load());
  return { store, handler, disk, warnings };
}

test('no acknowledged lease is lost and no address is bound twice, whatever the sequence', { timeout: 600_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (HEARTH_LEASE_SEED), ${RUNS} runs of ${STEPS} steps`);
  const counts: Record<string, number> = {};
  let acks = 0;
  for (let run = 0; run < RUNS; run++) {
    const rnd = mulberry32(SEED + run);
    const int = (n: number) => Math.floor(rnd() * n);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-lease-prop-'));
    dirs.push(dir);
    const compactAfter = 3 + int(20);
    let srv = await startServer(dir, compactAfter);
    /** Last acknowledged address per MAC (a released lease is no longer promised). */
    const acked = new Map<string, string>();
    /** Addresses a MAC asked for without an answer since its last ACK: may be on disk, or not. */
    const maybe = new Map<string, Set<string>>();
    let xid = 1;
    let step = 0;
    let op = 'start';
    const where = () => `seed ${SEED} run ${run} step ${step} (${op})`;

    const checkBound = () => {
      const bound = srv.handler.leases();
      const ips = bound.map((l) => l.ip);
      assert.equal(new Set(ips).size, ips.length, `${where()}: an address is bound to two MACs: ${JSON.stringify(bound)}`);
      return new Map(bound.map((l) => [l.mac, l.ip]));
    };
    const checkReloaded = async () => {
      const bound = checkBound();
      for (const [m, ip] of acked) {
        const got = bound.get(m);
        assert.ok(got === ip || (got !== undefined && maybe.get(m)?.has(got)), `${where()}: acknowledged lease ${m} → ${ip} lost after reload (found ${got})`);
      }
      const journal = await readFile(path.join(dir, 'dhcp-leases.journal'));
      assert.equal(journal.indexOf(0), -1, `${where()}: NUL bytes in the journal`);
      for (const w of srv.warnings) assert.match(w, /incomplete last line dropped/, `${where()}: unexpected warning`);
    };

    const bind = async (macs: number[]) => {
      const requests: Promise<[string, string, Outcome]>[] = [];
      for (const i of macs) {
        const offer = await srv.handler.handle(dhcpRequest(clientPacket({ type: 'DISCOVER', mac: mac(i), xid: xid++ })));
        if (!offer.reply) continue;
        const ip = numToIp(offer.reply.packet.yiaddr ?? 0);
        const req = dhcpRequest(clientPacket({ type: 'REQUEST', mac: mac(i), xid: xid++, requestedIp: ip, serverId: '192.0.2.1' }));
        requests.push(Promise.resolve(srv.handler.handle(req)).then((o) => [mac(i), ip, o]));
      }
      for (const [m, ip, o] of await Promise.all(requests)) settle(m, ip, o);
    };
    const settle = (m: string, ip: string, o: Outcome) => {
      if (o.reply?.type === 'ACK') {
        acked.set(m, ip);
        maybe.delete(m);
        acks++;
      } else {
        if (!maybe.has(m)) maybe.set(m, new Set());
        maybe.get(m)!.add(ip);
      }
    };
    const someAcked = () => [...acked.keys()][int(acked.size)];
    const randomMacs = () => Array.from({ length: 1 + int(4) }, () => int(MACS));

    const crash = async () => {
      // The port dies in the middle of the next write (if there is one), commits in flight with it.
      srv.disk.faults.push({ op: 'append', kind: 'crash', keep: int(120) });
      await bind(randomMacs());
      await srv.disk.kill();
      const journal = path.join(dir, 'dhcp-leases.journal');
      const size = (await stat(journal)).size;
      const r = rnd();
      if (r < 0.3) await appendFile(journal, '{"s":999999,"c":[{"kind":"lea'); // a torn write of an unacknowledged commit
      else if (r < 0.6) {
        // Lost page cache: anything after the last fdatasync may be gone, in part or whole.
        const from = Math.min(srv.disk.synced, size);
        await truncate(journal, from + int(size - from + 1));
      }
      await rm(path.join(dir, 'dhcp-leases.lock')); // kill -9 leaves a stale lock; its takeover is tested in dhcp-leases.test.ts
      srv = await startServer(dir, compactAfter);
      await checkReloaded();
    };

    for (step = 0; step < STEPS; step++) {
      const r = rnd();
      try {
        if (r < 0.35) {
          op = 'bind';
          await bind(randomMacs());
        } else if (r < 0.45 && acked.size) {
          op = 'renew';
          const m = someAcked()!;
          const ip = acked.get(m)!;
          const o = await srv.handler.handle(dhcpRequest(clientPacket({ type: 'REQUEST', mac: m, xid: xid++, ciaddr: ipToNum(ip), flags: 0 }), { dstIp: '192.0.2.1', srcIp: ip }));
          settle(m, ip, o);
        } else if (r < 0.5 && acked.size) {
          op = 'release';
          const m = someAcked()!;
          await srv.handler.handle(dhcpRequest(clientPacket({ type: 'RELEASE', mac: m, xid: xid++, ciaddr: ipToNum(acked.get(m)!), serverId: '192.0.2.1', flags: 0 })));
          acked.delete(m); // the client gave it up, whether or not the server stored that
        } else if (r < 0.62) {
          op = 'fault';
          const faults: Fault[][] = [
            [{ op: 'append', kind: 'short', keep: int(60) }],
            [{ op: 'append', kind: 'enospc' }],
            [{ op: 'append', kind: 'short', keep: 1 + int(60) }, { op: 'append', kind: 'enospc' }], // the disk fills mid-line
            [{ op: 'datasync', kind: 'eio' }],
            [{ op: 'truncate', kind: 'eio' }],
          ];
          srv.disk.faults.push(...faults[int(faults.length)]!);
        } else if (r < 0.7) {
          op = 'compact';
          await srv.store.compact().catch(() => undefined); // may fail under an injected fault
        } else if (r < 0.82) {
          op = 'restart';
          await srv.store.close();
          srv = await startServer(dir, compactAfter);
          await checkReloaded();
        } else {
          op = 'kill -9';
          await crash();
        }
        counts[op] = (counts[op] ?? 0) + 1;
        checkBound();
      } catch (err) {
        if (err instanceof Error && !err.message.includes(`seed ${SEED}`)) err.message = `${where()}: ${err.message}`;
        throw err;
      }
    }
    op = 'final restart';
    await srv.store.close();
    srv = await startServer(dir, compactAfter);
    await checkReloaded();
    await srv.store.close();
  }
  t.diagnostic(`${acks} ACKs; steps: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  assert.ok(acks > RUNS * 5, 'the runs acknowledged leases (the property is not vacuous)');
  assert.ok((counts['kill -9'] ?? 0) > 0 && (counts.restart ?? 0) > 0 && (counts.compact ?? 0) > 0, 'every kind of step ran');
});
