/**
 * The lease journal's group commit: commits that join one write share it (one append), and its
 * lines are encoded into one reused buffer that grows for a large batch and is rewritten, not
 * appended to, by the next one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JournalLeaseStore, type LeaseChange } from '../../src/netboot/dhcp/leases/store.js';
import { FaultyDisk } from './lease-disk.js';

const macOf = (i: number) => `52:54:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const change = (i: number, hostname: string): LeaseChange[] => [
  { kind: 'lease', lease: { mac: macOf(i), ip: `192.0.2.${i % 250}`, expiresAt: 4_000_000_000_000, fixed: false, state: 'bound', hostname } },
];

test('commits that join one write are written with one append, each line numbered in order, and all resolve', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-journal-batch-'));
  try {
    const disk = new FaultyDisk();
    const store = new JournalLeaseStore(dir, { openFile: disk.open });
    await store.load();
    const appends = disk.calls.append;
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.commit(change(i, `h${i}`))));
    assert.equal(disk.calls.append - appends, 1);
    await store.close();
    const lines = (await readFile(path.join(dir, 'dhcp-leases.journal'), 'utf8')).trim().split('\n');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { s: number }).s), Array.from({ length: 50 }, (_, i) => i + 1));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a batch larger than the encode buffer, then a small one: every lease reloads as committed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-journal-batch-'));
  try {
    const store = new JournalLeaseStore(dir);
    await store.load();
    const long = (i: number) => `host-${i}-${'x'.repeat(300)}`;
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.commit(change(i, long(i))))); // ~80 KB of lines
    await store.commit(change(7, 'short'));
    await store.close();
    const again = new JournalLeaseStore(dir);
    const state = await again.load();
    await again.close();
    const byMac = new Map(state.leases.map((l) => [l.mac, l.hostname]));
    assert.equal(byMac.size, 200);
    for (let i = 0; i < 200; i++) assert.equal(byMac.get(macOf(i)), i === 7 ? 'short' : long(i));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
