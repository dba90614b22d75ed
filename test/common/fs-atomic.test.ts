import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/common/fs.js';

test('writeFileAtomicSync: whole file with the asked mode whatever the umask; a failed write leaves the old file and no temp file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hearth-atomic-'));
  const old = process.umask(0o077);
  try {
    const file = path.join(dir, 'progress.json');
    writeFileAtomicSync(file, '[1]\n', { mode: 0o644 });
    assert.equal(statSync(file).mode & 0o777, 0o644);
    writeFileAtomicSync(file, '[2]\n', { mode: 0o600 });
    assert.equal(readFileSync(file, 'utf8'), '[2]\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // A directory in the target's place: the rename fails, the temp file must not stay behind.
    const blocked = path.join(dir, 'lab.json');
    mkdirSync(path.join(blocked, 'x'), { recursive: true });
    assert.throws(() => writeFileAtomicSync(blocked, '{}\n'), (e: NodeJS.ErrnoException) => e.code === 'EISDIR' || e.code === 'ENOTEMPTY');
    writeFileSync(path.join(dir, 'keep'), 'k');
    assert.deepEqual(readdirSync(dir).sort(), ['keep', 'lab.json', 'progress.json']);
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic: writes of one file in flight together each get their own temp file (O_EXCL refuses a shared one)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hearth-atomic-'));
  try {
    const file = path.join(dir, 'leases.json');
    const bodies = Array.from({ length: 20 }, (_, i) => `{"n":${i}}\n`);
    await Promise.all(bodies.map((b) => writeFileAtomic(file, b)));
    assert.ok(bodies.includes(readFileSync(file, 'utf8')));
    assert.deepEqual(readdirSync(dir), ['leases.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
