/**
 * What a host on the link can make the progress tracker hold: errors per machine are capped (the
 * count goes on), unknown MACs are bounded with the least recently seen forgotten first, machines
 * from the spec are never forgotten, and an aborted download leaves the active list.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressTracker } from '../../src/netboot/progress/index.js';

const mac = (i: number) => `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
const CP1 = '52:54:00:00:00:01';
const W1 = '52:54:00:00:00:04';

describe('boot progress bounds', () => {
  it('keeps the latest errors of a NAK/DECLINE storm and counts them all', () => {
    const t = new ProgressTracker({ maxErrors: 5 });
    for (let i = 0; i < 1000; i++) t.emit({ kind: i % 2 ? 'dhcp-decline' : 'dhcp-nak', at: i, mac: CP1, detail: `n${i}` });
    const m = t.get(CP1)!;
    assert.equal(m.errorCount, 1000);
    assert.deepEqual(m.errors, ['dhcp-decline: n995', 'dhcp-nak: n996', 'dhcp-decline: n997', 'dhcp-nak: n998', 'dhcp-decline: n999']);
  });

  it('the default cap holds too (50 errors)', () => {
    const t = new ProgressTracker();
    for (let i = 0; i < 500; i++) t.emit({ kind: 'dhcp-nak', at: i, mac: CP1 });
    assert.equal(t.get(CP1)!.errors.length, 50);
    assert.equal(t.get(CP1)!.errorCount, 500);
  });

  it('bounds unknown MACs, forgetting the least recently seen; spec machines stay whatever their age', () => {
    const names: Record<string, string> = { [CP1]: 'cp1', [W1]: 'w1' };
    const t = new ProgressTracker({ maxMachines: 3, nameForMac: (m) => names[m] });
    t.emit({ kind: 'dhcp-discover', at: 0, mac: CP1 });
    t.emit({ kind: 'dhcp-discover', at: 1, mac: W1 });
    for (let i = 0; i < 3; i++) t.emit({ kind: 'dhcp-discover', at: 10 + i, mac: mac(i) });
    t.emit({ kind: 'dhcp-discover', at: 20, mac: mac(0) }); // seen again: now the most recent unknown
    for (let i = 3; i < 100; i++) t.emit({ kind: 'dhcp-discover', at: 100 + i, mac: mac(i) });
    const kept = t.list().map((m) => m.mac);
    assert.deepEqual(kept, [CP1, W1, mac(97), mac(98), mac(99)]);
    // Refreshing an unknown one keeps it over older ones.
    t.emit({ kind: 'dhcp-discover', at: 300, mac: mac(97) });
    t.emit({ kind: 'dhcp-discover', at: 301, mac: mac(200) });
    assert.deepEqual(t.list().map((m) => m.mac), [CP1, W1, mac(97), mac(99), mac(200)]);
  });

  it('the least recently seen unknown goes first, not the first seen', () => {
    const t = new ProgressTracker({ maxMachines: 2 });
    t.emit({ kind: 'dhcp-discover', at: 0, mac: mac(1) });
    t.emit({ kind: 'dhcp-discover', at: 1, mac: mac(2) });
    t.emit({ kind: 'dhcp-request', at: 2, mac: mac(1) });
    t.emit({ kind: 'dhcp-discover', at: 3, mac: mac(3) });
    assert.deepEqual(t.list().map((m) => m.mac), [mac(1), mac(3)]);
  });

  it('an aborted HTTP download leaves the active list and is recorded as an error', () => {
    const t = new ProgressTracker({ macForIp: (ip) => (ip === '192.0.2.11' ? CP1 : undefined) });
    t.emit({ kind: 'http-asset-start', at: 0, ip: '192.0.2.11', file: 'initramfs.xz', bytes: 1000 });
    t.emit({ kind: 'http-asset-start', at: 1, ip: '192.0.2.11', file: 'vmlinuz', bytes: 10 });
    assert.equal(t.get(CP1)!.active.length, 2);
    t.emit({ kind: 'http-asset-abort', at: 2, ip: '192.0.2.11', file: 'initramfs.xz', bytes: 300, detail: 'client went away after 300 of 1000 bytes' });
    const m = t.get(CP1)!;
    assert.deepEqual(m.active.map((a) => a.file), ['vmlinuz']);
    assert.deepEqual(m.errors, ['HTTP initramfs.xz: client went away after 300 of 1000 bytes']);
    assert.equal(m.state, 'aborted initramfs.xz');
  });
});
