/**
 * `hearth machines add` against Talos node doubles (v1.6 and v1.13, maintenance mode, on loopback):
 * flags without a terminal, the spec's comments and layout kept byte for byte, refusals that write
 * nothing, and the dialog through a real pseudo-terminal (`script`).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { appendMachine } from '../../../src/spec/edit.js';
import { ROOT, runHearth, tmpDir } from '../../helpers/cli.js';
import { terminalSession } from '../../helpers/pty.js';
import { which } from '../../helpers/netns.js';
import { cluster, loopback, startDouble, stopAll, type Cluster } from '../api/fixture.js';

const EXAMPLE = readFileSync(path.join(ROOT, 'examples/hearth.yaml'), 'utf8');

/** A copy of the commented example spec. */
function specCopy(): string {
  const file = path.join(tmpDir('adopt'), 'hearth.yaml');
  writeFileSync(file, EXAMPLE);
  return file;
}

/** `after` must be `before` with lines inserted at one place only; returns the inserted text. */
function inserted(before: string, after: string): string {
  let i = 0;
  while (i < before.length && before[i] === after[i]) i++;
  i = before.lastIndexOf('\n', i - 1) + 1; // whole lines
  const tail = before.slice(i);
  assert.ok(after.endsWith(tail), 'the text after the insertion is unchanged, byte for byte');
  assert.equal(after.slice(0, i), before.slice(0, i), 'the text before the insertion is unchanged');
  return after.slice(i, after.length - tail.length);
}

describe('appendMachine keeps every other byte', () => {
  const entry = { name: 'worker3', role: 'worker', address: '192.0.2.23/24', nameservers: ['192.0.2.1'], installDisk: '/dev/sda' };

  test('the example spec: the new item goes after the last machine, at its indentation', () => {
    const next = appendMachine(EXAMPLE, entry);
    const added = inserted(EXAMPLE, next);
    assert.equal(added, '  - name: worker3\n    role: worker\n    address: 192.0.2.23/24\n    nameservers: [192.0.2.1]\n    installDisk: /dev/sda\n');
    assert.match(next, /^platform: {26}# stage 4/m, 'aligned comments stay aligned');
    assert.deepEqual(parse(next).machines.at(-1), entry);
  });

  test('a trailing comment on the last line, no final newline, CRLF line ends', () => {
    const text = 'kind: Cluster\r\nmachines:\r\n    -   name: a   # first\r\n        role: worker  # last';
    const next = appendMachine(text, entry);
    assert.ok(next.startsWith(text), 'the original text is a prefix');
    assert.ok(!next.slice(text.length).replace(/\r\n/g, '').includes('\n'), 'CRLF kept');
    assert.deepEqual(parse(next).machines.map((m: any) => m.name), ['a', 'worker3']);
    assert.match(next, /\r\n {4}- name: worker3\r\n/);
  });
});

for (const version of ['v1.6.4', 'v1.13.9']) {
  describe(`hearth machines add, Talos ${version} nodes`, () => {
    let c: Cluster;
    let first: string;
    let second: string;
    before(async () => {
      c = await cluster(version);
      first = (await startDouble(c, 9, loopback(version === 'v1.6.4' ? 40 : 50))).address;
      second = (await startDouble(c, 10, loopback(version === 'v1.6.4' ? 41 : 51))).address;
    });
    after(() => stopAll(c));

    const add = (file: string, args: string[]) =>
      runHearth(['machines', 'add', '-f', file, '--port', String(c.port), '--timeout', '3000', ...args], { timeoutMs: 60_000 });

    test('flags, no terminal: the entry is appended, the rest of the file is untouched, the result validates', async () => {
      const file = specCopy();
      const r = await add(file, ['--endpoints', first, '--name', 'worker3', '--role', 'worker', '--disk', 'nvme0n1', '--interface', 'eth1', '--address', '192.0.2.23/24']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /added worker3 \(worker, .* -> 192\.0\.2\.23\/24, disk \/dev\/nvme0n1\)/);
      const text = readFileSync(file, 'utf8');
      const added = parse(inserted(EXAMPLE, text))[0];
      assert.deepEqual(added, {
        name: 'worker3',
        role: 'worker',
        mac: '52:54:00:00:01:09', // eth1's, so discovery matches it again
        uuid: '4c4c4544-0009-1000-8000-000000000009',
        address: '192.0.2.23/24',
        gateway: '192.0.2.1', // netboot.dhcp.router: no machine of the spec shares the node's subnet
        nameservers: ['192.0.2.1'],
        interface: 'eth1',
        installDisk: '/dev/nvme0n1',
      });
      const v = await runHearth(['validate', '-f', file]);
      assert.equal(v.code, 0, v.stderr);
      // the node is now in the spec: a second run has nothing to adopt
      const again = await add(file, ['--endpoints', first]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /no nodes to adopt: 1 found, all in the spec/);
      assert.equal(readFileSync(file, 'utf8'), text);
    });

    test('refusals write nothing: a spec problem (located), a bad flag, several nodes without --node', async () => {
      const file = specCopy();
      const dup = await add(file, ['--endpoints', first, '--name', 'worker3', '--address', '192.0.2.11/24']);
      assert.equal(dup.code, 2, dup.stderr);
      assert.match(dup.stderr, /machine worker3 not added, the spec would not validate/);
      assert.match(dup.stderr, /hearth\.yaml:\d+:\d+ machines\[5\]\.address: duplicate address "192\.0\.2\.11"/);
      const disk = await add(file, ['--endpoints', first, '--disk', 'sdz']);
      assert.equal(disk.code, 2);
      assert.match(disk.stderr, /--disk: no disk "sdz" on this node \((sda, nvme0n1|nvme0n1, sda)\)/);
      const two = await add(file, ['--endpoints', `${first},${second}`, '--address', '192.0.2.23/24']);
      assert.equal(two.code, 2);
      assert.match(two.stderr, new RegExp(`2 nodes are not in the spec \\(${first.replace(/\./g, '\\.')}, .*\\): pick one with --node`));
      assert.equal(readFileSync(file, 'utf8'), EXAMPLE);
    });
  });
}

test('adoption through a terminal session: disk menu, a wrong answer asked again, a bond', { skip: !which('script') && 'no script(1)' }, async () => {
  const c = await cluster('v1.13.9');
  try {
    const node = (await startDouble(c, 11, loopback(60))).address;
    const file = specCopy();
    const r = await terminalSession(
      ['machines', 'add', '-f', file, '--endpoints', node, '--port', String(c.port), '--timeout', '3000'],
      [
        [/Adopt it\? \[Y\/n\] /, ''],
        [/Machine name \[[^\]]*\]: /, 'storage1'],
        [/Role \(controlplane\/worker\) \[worker\]: /, 'w'],
        // Disks.block.talos.dev lists by name (nvme0n1 first): answer by the menu's number
        [/Install disk \(number or name\) \[\w+\]: /, '7'],
        [/Install disk \(number or name\) \[\w+\]: /, (screen) => /(\d)\) sda /.exec(screen)![1]!],
        [/Interface \(eth0\), or bond:eth0,eth1 \[eth0\]: /, 'bond:eth0,eth1'],
        [/Address \(CIDR\) \[[^\]]*\]: /, '192.0.2.24/24'],
        [/Gateway \[192\.0\.2\.1\]: /, ''],
        [/Nameservers \(comma-separated\) \[192\.0\.2\.1\]: /, '192.0.2.1, 192.0.2.2'],
      ],
    );
    assert.equal(r.code, 0, r.screen);
    assert.match(r.screen, /\d\) sda {2}256 GB {2}QEMU HARDDISK {2}serial QM00011 {2}\(sata, hdd\)/);
    assert.match(r.screen, /\d\) nvme0n1 {2}512 GB {2}QEMU NVMe Ctrl {2}serial deadbeef11 {2}\(nvme, ssd\)/);
    assert.match(r.screen, /no disk "7" on this node/);
    const added = parse(inserted(EXAMPLE, readFileSync(file, 'utf8')))[0];
    assert.deepEqual(added, {
      name: 'storage1',
      role: 'worker',
      mac: '52:54:00:00:00:0b',
      uuid: '4c4c4544-000b-1000-8000-00000000000b',
      address: '192.0.2.24/24',
      gateway: '192.0.2.1',
      nameservers: ['192.0.2.1', '192.0.2.2'],
      bond: { interfaces: ['eth0', 'eth1'], mode: '802.3ad' },
      installDisk: '/dev/sda',
    });
  } finally {
    await stopAll(c);
  }
});
