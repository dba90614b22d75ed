/**
 * What crash-safe lease persistence costs: commits per second and latency of
 *   - JournalLeaseStore (append + fdatasync, group commit) — what the server uses,
 *   - the same without fdatasync (not crash safe; shows the price of the sync),
 *   - SnapshotLeaseStore (rewrite everything with writeFileAtomic: temp file, fsync, rename, fsync dir),
 * sequentially (one client at a time, latency) and with 64 commits in flight (a boot storm).
 *
 *   npx tsx bench/netboot/dhcp-store.ts [--leases 1000] [--commits 2000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JournalLeaseStore, SnapshotLeaseStore, type LeaseChange, type LeaseStore } from '../../src/netboot/dhcp/leases/store.js';
import { benchArgs } from './lib.js';

const args = benchArgs('usage: npx tsx bench/netboot/dhcp-store.ts [--leases 1000] [--commits 2000]', { leases: '1000', commits: '2000' });
const LEASES = args.number('leases', 1);
const COMMITS = args.number('commits', 1);

function change(i: number): LeaseChange[] {
  const n = i % LEASES;
  return [{ kind: 'lease', lease: { mac: `52:54:00:${(n >> 16) & 255}:${(n >> 8) & 255}:${n & 255}`, ip: `192.0.2.${n % 250}`, expiresAt: Date.now() + 3600_000, fixed: false, state: 'bound' } }];
}

async function measure(name: string, make: (dir: string) => LeaseStore, inFlight: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-store-bench-'));
  const store = make(dir);
  await store.load();
  for (let i = 0; i < LEASES; i += 100) await store.commit(Array.from({ length: 100 }, (_, k) => change(i + k)[0]!));
  const count = inFlight === 1 ? Math.min(COMMITS, 500) : COMMITS;
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) await store.commit(change(next++));
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const ms = performance.now() - t0;
  await store.close();
  await rm(dir, { recursive: true, force: true });
  console.log(`  ${name.padEnd(34)} in flight ${String(inFlight).padStart(2)}: ${((count / ms) * 1000).toFixed(0).padStart(7)} commits/s, ${(ms / count).toFixed(3)} ms/commit`);
}

async function main(): Promise<void> {
  console.log(`Lease store, ${LEASES} leases held (${os.tmpdir()} filesystem)`);
  for (const inFlight of [1, 64]) {
    await measure('journal + fdatasync (server)', (d) => new JournalLeaseStore(d), inFlight);
    await measure('journal, no sync (not crash safe)', (d) => new JournalLeaseStore(d, { sync: false }), inFlight);
    await measure('snapshot rewrite (writeFileAtomic)', (d) => new SnapshotLeaseStore(d), inFlight);
  }
}

main().catch((err: Error) => {
  console.error(err.stack);
  process.exit(1);
});
