import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressTracker, progressRows } from '../../src/netboot/progress/index.js';

describe('boot progress tracker', () => {
  it('builds one timeline per MAC from DHCP, TFTP and HTTP events, tying IPs to MACs', () => {
    const t = new ProgressTracker({ nameForMac: (m) => (m === '52:54:00:00:00:01' ? 'cp1' : undefined) });
    const mac = '52:54:00:00:00:01';
    const t0 = 1_700_000_000_000;
    t.emit({ kind: 'dhcp-discover', at: t0, mac, arch: 'bios' });
    t.emit({ kind: 'dhcp-offer', at: t0 + 10, mac, ip: '192.0.2.11' });
    t.emit({ kind: 'dhcp-ack', at: t0 + 1000, mac, ip: '192.0.2.11' });
    // TFTP and HTTP know only the IP: the tracker maps it through the ack.
    t.emit({ kind: 'tftp-start', at: t0 + 1100, ip: '192.0.2.11', file: 'undionly.kpxe', bytes: 70000 });
    t.emit({ kind: 'tftp-error', at: t0 + 1150, ip: '192.0.2.11', file: 'undionly.kpxe', detail: 'aborted: tsize probe' });
    t.emit({ kind: 'tftp-done', at: t0 + 1500, ip: '192.0.2.11', file: 'undionly.kpxe', bytes: 70000, durationMs: 400 });
    t.emit({ kind: 'http-script', at: t0 + 5000, ip: '192.0.2.11', mac, file: '/ipxe', detail: 'profile default' });
    t.emit({ kind: 'http-asset-done', at: t0 + 6000, ip: '192.0.2.11', file: 'vmlinuz', bytes: 2 * 1024 * 1024, durationMs: 1000, detail: 'kernel' });
    t.emit({ kind: 'http-asset-done', at: t0 + 7000, ip: '192.0.2.11', file: 'initramfs.xz', bytes: 1024 * 1024, durationMs: 500, detail: 'initrd' });
    t.emit({ kind: 'http-asset-done', at: t0 + 7000, ip: '192.0.2.99', file: 'stray', bytes: 1 }); // unknown IP: ignored
    const [m, ...rest] = t.list();
    assert.equal(rest.length, 0);
    assert.equal(m!.name, 'cp1');
    assert.equal(m!.ip, '192.0.2.11');
    assert.equal(m!.profile, 'default');
    assert.deepEqual(m!.steps.map((s) => s.step), ['dhcp-discover', 'dhcp-offer', 'dhcp-ack', 'bootfile', 'script', 'kernel', 'initrd']);
    assert.deepEqual(m!.errors, [], 'an aborted tsize probe is not an error');
    const kernel = m!.steps.find((s) => s.step === 'kernel')!;
    assert.equal(kernel.rate, 2 * 1024 * 1024);
    assert.equal(kernel.sinceFirstSeen, 6);
    const { headers, rows } = progressRows(t.list());
    assert.equal(headers.length, rows[0]!.length);
    assert.deepEqual(rows[0]!.slice(0, 9), ['52:54:00:00:00:01', 'cp1', '192.0.2.11', 'bios', '+1.0s', '+1.5s 68KiB 171KiB/s', '+5.0s', '+6.0s 2.0MiB 2.0MiB/s', '+7.0s 1.0MiB 2.0MiB/s']);
  });
});
