import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeArtifacts } from '../../src/common/artifacts.js';

test('artifacts land with their modes, below the output directory only', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hearth-artifacts-'));
  try {
    await writeArtifacts(dir, [
      { path: 'a/one.yaml', content: 'one\n' },
      { path: 'b/secret.yaml', content: 'two\n', mode: 0o600 },
    ]);
    assert.equal(readFileSync(path.join(dir, 'a/one.yaml'), 'utf8'), 'one\n');
    assert.equal(statSync(path.join(dir, 'a/one.yaml')).mode & 0o777, 0o644);
    assert.equal(statSync(path.join(dir, 'b/secret.yaml')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), ['a', 'b'], 'no staging directory left behind');
    await assert.rejects(writeArtifacts(dir, [{ path: '../escape', content: 'x' }]), /refusing to write outside/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A full disk halfway through: a real 64 KiB tmpfs, so the failure is the kernel's ENOSPC.
test('a write that fails halfway (disk full) leaves the output directory as it was', { skip: process.getuid?.() !== 0 && 'needs root to mount a tmpfs' }, async () => {
  const mnt = mkdtempSync(path.join(tmpdir(), 'hearth-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  try {
    writeFileSync(path.join(mnt, 'keep.txt'), 'mine\n');
    const big = 'x'.repeat(20 * 1024);
    const artifacts = Array.from({ length: 6 }, (_, i) => ({ path: `stage/file${i}.yaml`, content: big }));
    await assert.rejects(writeArtifacts(mnt, artifacts), (err: NodeJS.ErrnoException) => err.code === 'ENOSPC');
    assert.deepEqual(readdirSync(mnt), ['keep.txt'], 'nothing half-written, no staging directory');
    assert.equal(readFileSync(path.join(mnt, 'keep.txt'), 'utf8'), 'mine\n');
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});
