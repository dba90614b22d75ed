/**
 * The dashboard's state and view helpers (web/model.ts), fed the way the page is: boot events
 * through the real ProgressTracker and publishProgress onto a RunEventBus, plus the Talos,
 * component and stage events `hearth up` publishes, applied in stream order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BootEvent } from '../../src/netboot/events.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { publishProgress } from '../../src/netboot/server.js';
import { RunEventBus, type RunEvent } from '../../src/pipeline/events.js';
import { FEED_MAX, apply, componentOrder, componentStatus, emptyState, fmtAfter, fmtBytes, fmtRate, machineRows, timeline, type ComponentEvent, type DashState } from '../../web/model.js';

const CP1 = '52:54:00:00:00:01';
const T0 = 1_700_000_000_000;

/** A bus with the tracker publishing onto it, and a page state that follows the bus. */
function rig(names: Record<string, string> = { [CP1]: 'cp1' }) {
  const bus = new RunEventBus();
  const tracker = new ProgressTracker({ nameForMac: (mac) => names[mac] });
  publishProgress(tracker, bus);
  const state = emptyState();
  bus.subscribe((e) => apply(state, e));
  const boot = (e: Omit<BootEvent, 'at'> & { at?: number }) => tracker.emit({ at: T0, ...e });
  return { bus, tracker, state, boot };
}

const cells = (s: DashState, name: string, now = T0 + 60_000) => Object.fromEntries(machineRows(s, now).known.find((r) => r.name === name)!.cells.map((c) => [c.key, c]));

describe('dashboard model', () => {
  it('follows a network boot from the tracker: DHCP, script, kernel under way with its live rate, then done', () => {
    const { state, boot } = rig();
    assert.deepEqual(machineRows(state, T0).known, []);
    boot({ kind: 'dhcp-discover', mac: CP1 });
    assert.equal(cells(state, 'cp1').dhcp!.state, 'active');
    boot({ kind: 'dhcp-ack', mac: CP1, ip: '192.0.2.11', at: T0 + 1000 });
    boot({ kind: 'http-script', mac: CP1, ip: '192.0.2.11', file: '/ipxe', detail: 'profile default', at: T0 + 3000 });
    boot({ kind: 'http-asset-start', ip: '192.0.2.11', file: 'vmlinuz', bytes: 10_000_000, detail: 'kernel', at: T0 + 4000 });
    boot({ kind: 'http-asset-progress', ip: '192.0.2.11', file: 'vmlinuz', bytes: 4_000_000, detail: 'kernel', at: T0 + 6000 });
    let c = cells(state, 'cp1', T0 + 6000);
    assert.deepEqual([c.dhcp!.state, c.script!.state, c.kernel!.state, c.initrd!.state], ['done', 'done', 'active', 'waiting']);
    assert.equal(c.dhcp!.after, 1);
    assert.equal(c.kernel!.bytes, 4_000_000);
    assert.equal(c.kernel!.rate, 2_000_000, '4 MB in the 2 s since the download started');
    boot({ kind: 'http-asset-done', ip: '192.0.2.11', file: 'vmlinuz', bytes: 10_000_000, durationMs: 4000, detail: 'kernel', at: T0 + 8000 });
    boot({ kind: 'http-asset-done', ip: '192.0.2.11', file: 'initrd', bytes: 1000, durationMs: 1, detail: 'initrd', at: T0 + 8100 });
    c = cells(state, 'cp1');
    assert.deepEqual([c.kernel!.state, c.kernel!.bytes, c.kernel!.rate, c.kernel!.after], ['done', 10_000_000, 2_500_000, 8]);
    assert.equal(c.initrd!.state, 'done');
    const row = machineRows(state, T0).known[0]!;
    assert.equal(row.address, '192.0.2.11');
    assert.equal(row.mac, CP1);
    // The per-second progress is in the machine's snapshot, not a line in the feed.
    assert.ok(!state.feed.some((l) => /progress/.test(l.text)), state.feed.map((l) => l.text).join('\n'));
    assert.ok(state.feed.some((l) => l.text === `${CP1} cp1 http-asset-done vmlinuz 9.5 MiB kernel`), state.feed.map((l) => l.text).join('\n'));
  });

  it('maps Talos phases onto config fetched, installing and running, with the time each was reached', () => {
    const { bus, state, boot } = rig();
    boot({ kind: 'dhcp-ack', mac: CP1, ip: '192.0.2.11' });
    const talos = (phase: Extract<RunEvent, { type: 'talos' }>['phase'], at: number, detail?: string) => bus.emit({ type: 'talos', at, name: 'cp1', phase, address: '192.0.2.11', detail });
    const states = () => ['config', 'installing', 'running'].map((k) => cells(state, 'cp1')[k]!.state);
    assert.deepEqual(states(), ['waiting', 'waiting', 'waiting']);
    talos('maintenance', T0 + 20_000);
    assert.deepEqual(states(), ['active', 'waiting', 'waiting']);
    talos('config-fetched', T0 + 30_000);
    assert.deepEqual(states(), ['done', 'waiting', 'waiting']);
    assert.equal(cells(state, 'cp1').config!.after, 30);
    talos('installing', T0 + 40_000);
    assert.deepEqual(states(), ['done', 'active', 'waiting']);
    assert.equal(cells(state, 'cp1').installing!.after, 40, 'under way since it began installing');
    talos('rebooting', T0 + 90_000);
    assert.deepEqual(states(), ['done', 'done', 'active']);
    assert.equal(cells(state, 'cp1').installing!.after, 90);
    talos('ready', T0 + 120_000);
    assert.deepEqual(states(), ['done', 'done', 'done']);
    assert.equal(machineRows(state, T0).known[0]!.phase, 'ready');
  });

  it('marks the stage a failed machine stopped at', () => {
    const { bus, state } = rig();
    bus.emit({ type: 'talos', at: T0, name: 'cp1', phase: 'config-fetched' });
    bus.emit({ type: 'talos', at: T0 + 1, name: 'cp1', phase: 'failed', detail: 'install disk /dev/sda not found' });
    const c = cells(state, 'cp1');
    assert.deepEqual([c.config!.state, c.installing!.state, c.running!.state], ['done', 'failed', 'waiting']);
    assert.equal(c.installing!.note, 'install disk /dev/sda not found');
    assert.equal(machineRows(state, T0).known[0]!.state, 'Talos failed: install disk /dev/sda not found');
    assert.equal(state.feed.at(-1)!.level, 'error');
  });

  it('lists machines from the spec by name (numeric order), Talos-only ones too, and unknown machines apart', () => {
    const { bus, state, boot } = rig({ [CP1]: 'vm10', '52:54:00:00:00:02': 'vm2' });
    boot({ kind: 'dhcp-discover', mac: CP1 });
    boot({ kind: 'dhcp-discover', mac: '52:54:00:00:00:02' });
    boot({ kind: 'dhcp-discover', mac: '52:54:00:00:00:99' });
    bus.emit({ type: 'talos', at: T0, name: 'vm3', phase: 'running', address: '192.0.2.13' });
    const rows = machineRows(state, T0);
    assert.deepEqual(rows.known.map((r) => r.name), ['vm2', 'vm3', 'vm10']);
    assert.equal(rows.known[1]!.mac, undefined);
    assert.equal(rows.known[1]!.address, '192.0.2.13');
    assert.deepEqual(rows.unknown.map((r) => r.mac), ['52:54:00:00:00:99']);
    assert.deepEqual(rows.unknown[0]!.cells.map((c) => c.key), ['dhcp', 'bootfile', 'script', 'kernel', 'initrd']);
  });

  it('ignores an event it already applied, and keeps the feed bounded', () => {
    const s = emptyState();
    const e = { id: 5, event: { type: 'log', at: T0, level: 'info', message: 'once' } as RunEvent };
    apply(s, e);
    apply(s, e);
    assert.equal(s.feed.length, 1);
    for (let i = 6; i < 6 + FEED_MAX * 2; i++) apply(s, { id: i, event: { type: 'log', at: T0, level: 'info', message: `m${i}` } });
    assert.equal(s.feed.length, FEED_MAX);
    assert.equal(s.feed.at(-1)!.text, `m${5 + FEED_MAX * 2}`);
  });

  it('orders platform components after what they depend on, and says what each waits for', () => {
    const comp = (name: string, dependsOn: string[], state: ComponentEvent['state'] = 'ready', waitingFor?: string, namespace = 'flux-system'): ComponentEvent => ({ type: 'component', at: T0, name, namespace, state, dependsOn, waitingFor });
    const list = [comp('apps', ['ingress', 'flux-system/storage']), comp('ingress', ['cilium']), comp('storage', []), comp('cilium', []), comp('loop-a', ['loop-b']), comp('loop-b', ['loop-a'])];
    assert.deepEqual(componentOrder(list).map((c) => c.name), ['cilium', 'ingress', 'storage', 'apps', 'loop-a', 'loop-b']);
    assert.equal(componentStatus(comp('x', [], 'ready')), 'Ready');
    assert.equal(componentStatus(comp('x', [], 'progressing', 'HelmRelease cilium')), 'waiting for HelmRelease cilium');
    assert.equal(componentStatus(comp('x', [], 'missing')), 'not created yet');
    assert.equal(componentStatus(comp('x', [], 'failed')), 'failed');
  });

  it('formats sizes, rates and times', () => {
    assert.equal(fmtBytes(512), '512 B');
    assert.equal(fmtBytes(14_149_568), '13.5 MiB');
    assert.equal(fmtRate(2 * 1024 * 1024), '2.0 MiB/s');
    assert.equal(fmtRate(undefined), '');
    assert.equal(fmtAfter(3.14), '+3.1s');
    assert.equal(fmtAfter(245), '+4m05s');
    assert.deepEqual(timeline(undefined, undefined, undefined, T0).map((c) => c.state), Array(8).fill('waiting'));
  });
});
