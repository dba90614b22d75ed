/**
 * `hearth lab` refusals, each one line with exit code 2 and nothing created (no QEMU is started:
 * every case stops before the lab is built).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hearthArgv, runHearth, tmpDir, type RunResult } from '../helpers/cli.js';
import { run } from '../helpers/netns.js';
import { labSpec } from './spec.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NAME = `tcli${process.pid}`;

function spec(dir: string, assets: string): string {
  const file = path.join(dir, 'hearth.yaml');
  writeFileSync(
    file,
    labSpec(
      'labcli',
      '198.51.100.10',
      `  interface: br0
  address: 198.51.100.1
  dhcp: { mode: full, range: 198.51.100.100-198.51.100.150 }
  assets: ${assets}
  kernel: vmlinuz
  initrd: [initrd]`,
      '  - { name: n1, role: controlplane, mac: "52:54:00:51:00:01", address: 198.51.100.11/24, interface: eth0, installDisk: /dev/sda }',
    ),
    { mode: 0o644 },
  );
  return file;
}

function oneLine(r: RunResult, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

async function nothingMade(dir: string): Promise<void> {
  assert.equal(existsSync(path.join(dir, '.hearth', 'lab', 'lab.json')), false, 'no lab record');
  const ns = await run(['ip', 'netns', 'list']);
  assert.doesNotMatch(ns.stdout, new RegExp(`hlab-${NAME}`), 'no namespace');
}

describe('hearth lab refusals', () => {
  it('not root: one line, exit 2', { skip: !isRoot && 'needs root to switch to another user' }, async (t) => {
    const dir = tmpDir('lab-cli');
    const file = spec(dir, dir);
    const [node, ...argv] = hearthArgv(['lab', 'up', '-f', file, '--name', NAME]);
    const asNobody = (args: string[]) =>
      new Promise<RunResult>((resolve) => {
        const c = spawn(node!, args, { uid: 65534, gid: 65534, env: { ...process.env, NO_COLOR: '1' }, cwd: '/' });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d) => (stdout += d));
        c.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
        c.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
      });
    const entry = argv.find((a) => a.endsWith('.js') || a.endsWith('.ts'))!;
    if ((await asNobody(['-e', `require('fs').accessSync(${JSON.stringify(entry)})`])).code !== 0) return t.skip('this checkout is not readable by the unprivileged user');
    const r = await asNobody(argv);
    oneLine(r, /^error: hearth lab up needs root .*sudo/);
    await nothingMade(dir);
  });

  it('assets missing: one line naming the file, exit 2, nothing created', { skip: !isRoot && 'hearth lab up needs root' }, async () => {
    const dir = tmpDir('lab-cli');
    const file = spec(dir, path.join(dir, 'no-such-assets'));
    oneLine(await runHearth(['lab', 'up', '-f', file, '--name', NAME]), /^error: lab assets missing: .*no-such-assets does not exist \(give --assets DIR/);
    writeFileSync(path.join(dir, 'vmlinuz'), 'k');
    oneLine(await runHearth(['lab', 'up', '-f', file, '--name', NAME, '--assets', dir]), /^error: lab assets missing: boot file .*initrd does not exist/);
    await nothingMade(dir);
  });

  it('QEMU missing: one line naming the package, exit 2', { skip: !isRoot && 'hearth lab up needs root' }, async () => {
    const dir = tmpDir('lab-cli');
    const file = spec(dir, dir);
    // Only the sbin directories (ip lives there): no qemu-system-x86_64 on this PATH.
    oneLine(await runHearth(['lab', 'up', '-f', file, '--name', NAME], { env: { PATH: '/nonexistent' } }), /^error: qemu-system-x86_64 is not installed \(Debian packages: .*qemu-system-x86/);
    await nothingMade(dir);
  });

  it('bad flags and no lab: one line, exit 2', async () => {
    const dir = tmpDir('lab-cli');
    const file = spec(dir, dir);
    oneLine(await runHearth(['lab', 'up', '-f', file, '--machine-firmware', 'n1=arm']), /--machine-firmware n1=arm: expected NAME=bios or NAME=uefi/);
    oneLine(await runHearth(['lab', 'status', '-f', file]), /^error: no lab is up in .*\.hearth\/lab \(start one with `hearth lab up`\)/);
    oneLine(await runHearth(['lab', 'console', 'n1', '-f', file, '--lines', '5']), /^error: no lab is up/);
    const down = await runHearth(['lab', 'down', '-f', file]);
    if (isRoot) {
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stderr, /no lab is up/);
    }
  });
});
