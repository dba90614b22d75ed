/**
 * The lease journal on its own (no network): the reported data-loss bugs reproduced first, then
 * torn and damaged files, short writes and ENOSPC (through a fault port, and for real on a tiny
 * tmpfs when root), the lock's owner identity and a read-only state directory.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JournalLeaseStore, type JournalOptions } from '../../src/netboot/dhcp/leases/store.js';
import type { Lease, LeaseChange } from '../../src/netboot/dhcp/leases/lease.js';
import { currentOwner, processStart } from '../../src/netboot/dhcp/leases/lock.js';
import { FaultyDisk } from './lease-disk.js';
import { within, WAIT_MS } from '../helpers/within.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'hearth-leases-'));
  dirs.push(d);
  return d;
}

const mac = (i: number) => `52:54:00:ee:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const lease = (i: number): Lease => ({ mac: mac(i), ip: `192.0.2.${(i % 200) + 10}`, expiresAt: 4_000_000_000_000, fixed: false, state: 'bound' });
const bind = (i: number): LeaseChange[] => [{ kind: 'lease', lease: lease(i) }];

/** Opens a store, returns it with its loaded leases (mac → ip) and the warnings it gave. */
async function open(dir: string, opts: JournalOptions = {}) {
  const warnings: string[] = [];
  const store = new JournalLeaseStore(dir, { warn: (m) => warnings.push(m), ...opts });
  const state = await store.load();
  return { store, leases: new Map(state.leases.map((l) => [l.mac, l.ip])), warnings };
}

async function reopenCount(dir: string): Promise<number> {
  const s = await open(dir);
  await s.store.close();
  return s.leases.size;
}

describe('lease journal: the reported data loss', () => {
  test('20 leases, restart, one more, restart: 21 load', async () => {
    const dir = await tempDir();
    let s = await open(dir);
    for (let i = 0; i < 20; i++) await s.store.commit(bind(i));
    await s.store.close();
    s = await open(dir);
    assert.equal(s.leases.size, 20);
    await s.store.commit(bind(20));
    await s.store.close();
    assert.equal(await reopenCount(dir), 21);
    // Once more, for a second restart with appends on both sides of it.
    s = await open(dir);
    await s.store.commit(bind(21));
    await s.store.close();
    s = await open(dir);
    assert.equal(s.leases.size, 22);
    assert.deepEqual(s.warnings, []);
    await s.store.close();
  });

  test('compaction, then an append, then reload: the new lease is there and the journal has no hole', async () => {
    const dir = await tempDir();
    const s = await open(dir, { compactAfter: 1_000_000 });
    for (let i = 0; i < 40; i++) await s.store.commit(bind(i));
    await s.store.compact();
    await s.store.commit(bind(40));
    await s.store.close();
    const journal = await readFile(path.join(dir, 'dhcp-leases.journal'));
    assert.equal(journal.indexOf(0), -1, 'no NUL bytes');
    assert.equal(journal.toString().split('\n').length, 2, 'one line after the compaction');
    const again = await open(dir);
    assert.equal(again.leases.size, 41);
    assert.equal(again.leases.get(mac(40)), lease(40).ip);
    await again.store.close();
  });

  test('automatic compactions across restarts keep every lease', async () => {
    const dir = await tempDir();
    for (let round = 0; round < 4; round++) {
      const s = await open(dir, { compactAfter: 7 });
      for (let i = 0; i < 25; i++) await s.store.commit(bind(round * 25 + i));
      await s.store.close();
    }
    const s = await open(dir);
    assert.equal(s.leases.size, 100);
    assert.deepEqual(s.warnings, []);
    await s.store.close();
  });
});

describe('lease journal: damaged files', () => {
  async function journalWith(lines: string[], tail = ''): Promise<string> {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'dhcp-leases.journal'), lines.map((l) => l + '\n').join('') + tail);
    return dir;
  }
  const line = (s: number, i: number) => JSON.stringify({ s, c: bind(i) });

  test('a torn last line is dropped with a warning and cut, so the next line starts clean', async () => {
    const dir = await journalWith([line(1, 1), line(2, 2)], line(3, 3).slice(0, 25));
    const s = await open(dir);
    assert.deepEqual([...s.leases.keys()], [mac(1), mac(2)]);
    assert.equal(s.warnings.length, 1);
    assert.match(s.warnings[0]!, /dhcp-leases\.journal:3: incomplete last line dropped/);
    await s.store.commit(bind(4));
    await s.store.close();
    const again = await open(dir);
    assert.deepEqual([...again.leases.keys()], [mac(1), mac(2), mac(4)]);
    assert.deepEqual(again.warnings, []);
    await again.store.close();
  });

  test('a damaged line in the middle is skipped with file:line; every later line is kept and the file is not cut', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => line(i + 1, i));
    lines[8] = '\0\0\0\0{"s":9,"c":[{"kind":"le'; // garbage, as a write at a stale offset left it
    const dir = await journalWith(lines);
    const before = (await stat(path.join(dir, 'dhcp-leases.journal'))).size;
    const s = await open(dir);
    assert.equal(s.leases.size, 59);
    assert.ok(!s.leases.has(mac(8)));
    assert.ok(s.leases.has(mac(59)));
    assert.equal(s.warnings.length, 1);
    assert.match(s.warnings[0]!, /dhcp-leases\.journal:9: damaged line skipped \(not JSON\); later lines are kept/);
    await s.store.close();
    assert.equal((await stat(path.join(dir, 'dhcp-leases.journal'))).size, before);
  });

  test('lines of the wrong shape are named, not a crash on an undefined field', async () => {
    const dir = await journalWith([
      line(1, 1),
      JSON.stringify({ s: 2, c: [{ kind: 'lease' }] }),
      JSON.stringify({ s: 3, c: [{ kind: 'lease', lease: { ...lease(3), ip: 42 } }] }),
      JSON.stringify({ s: 4 }),
      JSON.stringify([1, 2]),
      'null',
      JSON.stringify({ s: 7, c: [{ kind: 'decline', decline: { ip: '192.0.2.9' } }] }),
      line(8, 8),
    ]);
    const s = await open(dir);
    assert.deepEqual([...s.leases.keys()], [mac(1), mac(8)]);
    assert.deepEqual(
      s.warnings.map((w) => w.replace(/^.*journal:/, '')),
      [
        '2: damaged line skipped (lease is not an object); later lines are kept',
        '3: damaged line skipped (lease has no valid ip); later lines are kept',
        '4: damaged line skipped (no change list); later lines are kept',
        '5: damaged line skipped (not an object); later lines are kept',
        '6: damaged line skipped (not an object); later lines are kept',
        '7: damaged line skipped (decline has no valid until); later lines are kept',
      ],
    );
    await s.store.close();
  });

  test('a damaged snapshot stops start-up with one line naming it, and releases the lock', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'dhcp-leases.json'), JSON.stringify({ seq: 3, leases: [{ mac: 'x' }], declines: [] }));
    const store = new JournalLeaseStore(dir);
    await assert.rejects(store.load(), (err: Error) => {
      assert.equal(err.name, 'OperationError');
      assert.match(err.message, /^lease snapshot .*dhcp-leases\.json is damaged \(leases\[0\]: lease has no valid mac\)/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    await assert.rejects(stat(path.join(dir, 'dhcp-leases.lock')), { code: 'ENOENT' });
  });
});

describe('lease journal: failed writes', () => {
  test('a short write is continued: the commit is whole on disk', async () => {
    const dir = await tempDir();
    const disk = new FaultyDisk();
    const s = await open(dir, { openFile: disk.open });
    disk.faults.push({ op: 'append', kind: 'short', keep: 10 });
    await s.store.commit(bind(1));
    assert.equal(disk.calls.append, 2, 'the rest was written by a second write');
    await s.store.close();
    const again = await open(dir);
    assert.equal(again.leases.get(mac(1)), lease(1).ip);
    assert.deepEqual(again.warnings, []);
    await again.store.close();
  });

  test('ENOSPC after a partial write rejects the commit, leaves no half line, and later commits work', async () => {
    const dir = await tempDir();
    const disk = new FaultyDisk();
    const s = await open(dir, { openFile: disk.open });
    await s.store.commit(bind(1));
    disk.faults.push({ op: 'append', kind: 'short', keep: 17 }, { op: 'append', kind: 'enospc' });
    await assert.rejects(s.store.commit(bind(2)), /cannot write lease journal .*: no space left on device$/);
    const text = await readFile(path.join(dir, 'dhcp-leases.journal'), 'utf8');
    assert.ok(text.endsWith('}\n') && text.split('\n').length === 2, 'cut back to the one good line');
    await s.store.commit(bind(3));
    await s.store.close();
    const again = await open(dir);
    assert.deepEqual([...again.leases.keys()], [mac(1), mac(3)]);
    assert.deepEqual(again.warnings, []);
    await again.store.close();
  });

  test('a failing fdatasync rejects the commit and drops its line', async () => {
    const dir = await tempDir();
    const disk = new FaultyDisk();
    const s = await open(dir, { openFile: disk.open });
    disk.faults.push({ op: 'datasync', kind: 'eio' });
    await assert.rejects(s.store.commit(bind(1)), /I\/O error/);
    await s.store.commit(bind(2));
    await s.store.close();
    const again = await open(dir);
    assert.deepEqual([...again.leases.keys()], [mac(2)]);
    await again.store.close();
  });

  test('when the cut-back fails too, the store refuses every later commit until restarted', async () => {
    const dir = await tempDir();
    const disk = new FaultyDisk();
    const s = await open(dir, { openFile: disk.open });
    disk.faults.push({ op: 'append', kind: 'short', keep: 5 }, { op: 'append', kind: 'enospc' }, { op: 'truncate', kind: 'eio' });
    await assert.rejects(s.store.commit(bind(1)), /may end in a partial line/);
    await assert.rejects(s.store.commit(bind(2)), /no lease is acknowledged until hearth restarts/);
    await s.store.close();
    const again = await open(dir);
    assert.equal(again.leases.size, 0);
    assert.match(again.warnings.join('\n'), /incomplete last line dropped \(5 bytes/);
    await again.store.close();
  });

  test('group commit: a failed batch rejects all of its commits, the next batch is acknowledged', async () => {
    const dir = await tempDir();
    const disk = new FaultyDisk();
    const s = await open(dir, { openFile: disk.open });
    await s.store.commit(bind(0));
    const appends = disk.calls.append;
    disk.faults.push({ op: 'append', kind: 'enospc' });
    const failed = await Promise.allSettled([1, 2, 3, 4].map((i) => s.store.commit(bind(i))));
    assert.equal(disk.calls.append, appends + 1, 'the four commits went out as one write');
    assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected', 'rejected', 'rejected']);
    const ok = await Promise.allSettled([5, 6, 7].map((i) => s.store.commit(bind(i))));
    assert.deepEqual(ok.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled']);
    await s.store.close();
    const again = await open(dir);
    assert.deepEqual([...again.leases.keys()].sort(), [0, 5, 6, 7].map(mac).sort());
    await again.store.close();
  });
});

const root = process.getuid?.() === 0;

/** Runs `fn` on a tmpfs mounted (with `options`) in a directory of its own, unmounted afterwards. */
async function withTmpfs(options: string, fn: (mnt: string) => Promise<void>): Promise<void> {
  const mnt = path.join(await tempDir(), 'mnt');
  await mkdir(mnt);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mnt]);
  assert.equal(mounted.status, 0, String(mounted.stderr));
  try {
    await fn(mnt);
  } finally {
    spawnSync('umount', [mnt]);
  }
}

describe('lease journal on a tiny tmpfs (a real full disk)', { skip: root ? undefined : 'needs root to mount a tmpfs' }, () => {
  test('commits that do not fit are rejected; every acknowledged one loads after more room is made', async () => {
    await withTmpfs('size=64k,mode=700', async (mnt) => {
      const s = await open(mnt);
      const acked: number[] = [];
      let failure = '';
      for (let i = 0; i < 5000 && !failure; i++) {
        await s.store.commit(bind(i)).then(
          () => acked.push(i),
          (err: Error) => (failure = err.message),
        );
      }
      assert.match(failure, /no space left on device/);
      assert.ok(acked.length > 50, `${acked.length} leases fit`);
      await assert.rejects(s.store.commit(bind(9999)), /no space left on device/);
      await s.store.close();
      const text = await readFile(path.join(mnt, 'dhcp-leases.journal'), 'utf8');
      assert.ok(text.endsWith('}\n'), 'no half line at the end');
      spawnSync('mount', ['-o', 'remount,size=1m', mnt]);
      const again = await open(mnt);
      assert.equal(again.leases.size, acked.length);
      for (const i of acked) assert.equal(again.leases.get(mac(i)), lease(i).ip);
      assert.deepEqual(again.warnings, []);
      await again.store.close();
    });
  });

  test('a read-only state directory is reported as read-only, not as missing', async () => {
    await withTmpfs('ro,size=64k', async (mnt) => {
      for (const d of [mnt, path.join(mnt, 'state')]) {
        await assert.rejects(new JournalLeaseStore(d).load(), (err: Error) => {
          assert.equal(err.name, 'OperationError');
          assert.match(err.message, /read-only file system/);
          assert.doesNotMatch(err.message, /ENOENT|no such file/);
          return true;
        });
      }
    });
  });
});

describe('lease lock: the owner is a process, not a PID', () => {
  test('a running server holds it: a second store is refused with the PID', async () => {
    const dir = await tempDir();
    const s = await open(dir);
    await assert.rejects(new JournalLeaseStore(dir).load(), new RegExp(`in use by another hearth DHCP server \\(pid ${process.pid}\\)`));
    await s.store.close();
    await (await open(dir)).store.close();
  });

  test('a lock whose PID now belongs to another process is taken over', async () => {
    const dir = await tempDir();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await within(WAIT_MS, 'sleep 30 to start', new Promise((resolve, reject) => other.once('spawn', resolve).once('error', reject)));
      const start = processStart(other.pid!);
      assert.ok(start, 'the other process runs');
      // The lock names that PID but a different process start: the owner it recorded is gone.
      await writeFile(path.join(dir, 'dhcp-leases.lock'), JSON.stringify({ ...currentOwner(), pid: other.pid, start: String(Number(start) - 1) }));
      const s = await open(dir);
      await s.store.commit(bind(1));
      await s.store.close();
      // An old lock holding a bare PID, written before that process started, is stale too.
      await writeFile(path.join(dir, 'dhcp-leases.lock'), String(other.pid));
      const past = new Date(Date.now() - 3_600_000);
      await utimes(path.join(dir, 'dhcp-leases.lock'), past, past);
      const t = await open(dir);
      assert.equal(t.leases.size, 1);
      await t.store.close();
      // ... while the same lock written after it started is honoured.
      await writeFile(path.join(dir, 'dhcp-leases.lock'), String(other.pid));
      await assert.rejects(new JournalLeaseStore(dir).load(), new RegExp(`pid ${other.pid}`));
    } finally {
      other.kill('SIGKILL');
    }
  });

  test('a lock from before a reboot, or a torn one, is taken over', async () => {
    const dir = await tempDir();
    const lockFile = path.join(dir, 'dhcp-leases.lock');
    await writeFile(lockFile, JSON.stringify({ ...currentOwner(), boot: 'another-boot' }));
    await (await open(dir)).store.close();
    await writeFile(lockFile, '{"pi');
    const s = await open(dir);
    await s.store.close();
    await assert.rejects(stat(lockFile), { code: 'ENOENT' }, 'close removes the lock');
  });
});

describe('lease journal: helpers used by the property test behave', () => {
  test('a crash keeps what reached the file and nothing after', async () => {
    const dir = await tempDir();
    const disk = new FaultyDisk();
    const s = await open(dir, { openFile: disk.open });
    await s.store.commit(bind(1));
    disk.faults.push({ op: 'append', kind: 'crash', keep: 12 });
    await assert.rejects(s.store.commit(bind(2)));
    await assert.rejects(s.store.commit(bind(3)));
    assert.ok(disk.dead);
    const journal = path.join(dir, 'dhcp-leases.journal');
    assert.equal((await stat(journal)).size, disk.synced + 12);
    await rm(path.join(dir, 'dhcp-leases.lock')); // what kill -9 leaves is a stale lock; tested above
    const again = await open(dir);
    assert.deepEqual([...again.leases.keys()], [mac(1)]);
    await again.store.close();
  });
});

describe('lease journal: group commit', () => {
  /** A store whose journal file counts its writes (append, or append + sync in one step) and its syncs. */
  async function counted(opts: JournalOptions) {
    const calls = { writes: 0, syncs: 0 };
    const { openAppendOnly } = await import('../../src/netboot/dhcp/leases/journal-file.js');
    const s = await open(await tempDir(), {
      ...opts,
      openFile: async (file) => {
        const f = await openAppendOnly(file);
        const both = f.appendAndSync;
        return {
          ...f,
          append: (d) => (calls.writes++, f.append(d)),
          datasync: () => (calls.syncs++, f.datasync()),
          ...(both && { appendAndSync: (d: Buffer, sync: boolean) => (calls.writes++, sync && calls.syncs++, both(d, sync)) }),
        };
      },
    });
    return { ...s, calls };
  }

  test('commits arriving within the window share one write and one fdatasync, and each resolves once stored', async () => {
    const s = await counted({ groupCommitMs: 5 });
    const base = { ...s.calls };
    await Promise.all([s.store.commit(bind(1)), s.store.commit(bind(2)), s.store.commit(bind(3))]);
    assert.deepEqual({ writes: s.calls.writes - base.writes, syncs: s.calls.syncs - base.syncs }, { writes: 1, syncs: 1 });
    const dir = s.store.dir;
    await s.store.close();
    assert.equal(await reopenCount(dir), 3);
  });

  test('commits queued behind a write wait out a window before the next write, and join it', async () => {
    // The window is under the test's control: each wait resolves when the test says so.
    const windows: (() => void)[] = [];
    const wait = () => new Promise<void>((resolve) => windows.push(resolve));
    const s = await counted({ groupCommitMs: 2, wait });
    const base = { ...s.calls };
    const settled: number[] = [];
    const commit = (i: number) => s.store.commit(bind(i)).then(() => settled.push(i));
    const all = [commit(1)];
    await new Promise((r) => setImmediate(r));
    assert.equal(windows.length, 1, 'the first commit waits for its window');
    windows.shift()!();
    for (let i = 0; i < 1000 && s.calls.writes === base.writes; i++) await new Promise((r) => setImmediate(r));
    all.push(commit(2)); // queued while commit 1 is being written (or just after)
    await within(WAIT_MS, 'commit 1 to be written once its window opened', all[0]!);
    // Commit 1 is on disk; commit 2 waits for the window after it, not written at once.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(settled, [1]);
    assert.equal(windows.length, 1, 'the next write waits for a window');
    assert.equal(s.calls.writes - base.writes, 1);
    all.push(commit(3), commit(4)); // arrive during that window: they join the same write
    windows.shift()!();
    await within(WAIT_MS, 'commits 2 to 4 to be written in the next window', Promise.all(all));
    assert.deepEqual(settled, [1, 2, 3, 4]);
    assert.deepEqual({ writes: s.calls.writes - base.writes, syncs: s.calls.syncs - base.syncs }, { writes: 2, syncs: 2 });
    const dir = s.store.dir;
    await s.store.close();
    assert.equal(await reopenCount(dir), 4);
  });

  test('without a window the first commit is written alone, the rest join the next write', async () => {
    const s = await counted({ groupCommitMs: 0 });
    const base = { ...s.calls };
    await Promise.all([s.store.commit(bind(1)), s.store.commit(bind(2)), s.store.commit(bind(3))]);
    assert.deepEqual({ writes: s.calls.writes - base.writes, syncs: s.calls.syncs - base.syncs }, { writes: 2, syncs: 2 });
    await s.store.close();
  });

  test('with the native addon built, the journal writes and syncs in one step', async () => {
    const { openAppendOnly } = await import('../../src/netboot/dhcp/leases/journal-file.js');
    const dir = await tempDir();
    const f = await openAppendOnly(path.join(dir, 'j'));
    try {
      assert.ok(f.appendAndSync, 'appendAndSync is offered (build/Release/hearth_udp.node is built by npm ci)');
      assert.equal(await f.appendAndSync(Buffer.from('line 1\n'), true), 7);
      assert.equal(await f.appendAndSync(Buffer.from('line 2\n'), false), 7);
      assert.equal(await readFile(path.join(dir, 'j'), 'utf8'), 'line 1\nline 2\n');
    } finally {
      await f.close();
    }
    // A failed write rejects with the errno's code, as Node's fs does (here: the file is closed).
    await assert.rejects(f.appendAndSync!(Buffer.from('late\n'), true), (err: NodeJS.ErrnoException) => err.code === 'EBADF');
  });
});
