/**
 * The pure and clocked parts of the bootstrap engine, without a network: disk selectors, the
 * pre-flight's lines, following a node across its reboot, and the etcd bootstrap retries, all on a
 * fake clock (time moves only when the engine sleeps, so nothing here waits for real).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TalosAlreadyExistsError, TalosPreconditionError, TalosUnavailableError, type CosiEvent, type TalosApi } from '../../../src/talos/api/index.js';
import type { DiscoveredNode } from '../../../src/talos/api/discover.js';
import { diskMatches, sizeMatcher, preflight, NodeLostError, HealthTimeoutError, type Clock } from '../../../src/talos/bootstrap/index.js';
import { followToRunning } from '../../../src/talos/bootstrap/follow.js';
import { bootstrapEtcd } from '../../../src/talos/bootstrap/health.js';
import { sameConfig } from '../../../src/talos/bootstrap/identity.js';
import type { Machine } from '../../../src/spec/index.js';

function fakeClock(): Clock & { slept: number[] } {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
    timeout: () => new AbortController().signal,
  };
}

const disk = (name: string, size: number, transport = 'sata', rotational = true) => ({ name, size, model: 'QEMU HARDDISK', serial: `S-${name}`, wwid: '', transport, rotational });

test('disk selectors: sizes with units and comparisons, type, model glob', () => {
  assert.ok(sizeMatcher('>= 500GB')!(512e9));
  assert.ok(!sizeMatcher('>= 500GB')!(256e9));
  assert.ok(sizeMatcher('4GiB')!(4 * 2 ** 30));
  assert.ok(!sizeMatcher('4GB')!(4 * 2 ** 30));
  assert.equal(sizeMatcher('big'), undefined);
  const nvme = disk('nvme0n1', 512e9, 'nvme', false);
  assert.ok(diskMatches({ type: 'nvme', size: '>= 500GB' }, nvme));
  assert.ok(!diskMatches({ type: 'ssd' }, nvme));
  assert.ok(diskMatches({ type: 'hdd', model: 'QEMU*' }, disk('sda', 1e12)));
  assert.ok(!diskMatches({ model: 'Samsung*' }, disk('sda', 1e12)));
  assert.ok(!diskMatches({ uuid: 'x' }, disk('sda', 1e12)), 'fields the node does not report never match');
});

const node = (over: Partial<DiscoveredNode>): DiscoveredNode => ({
  address: '192.0.2.50',
  mode: 'maintenance',
  stage: 'maintenance',
  talosVersion: 'v1.13.9',
  machine: 'm1',
  uuid: null,
  hostname: null,
  macs: ['52:54:00:00:00:01'],
  disks: [disk('sda', 256e9), disk('sdb', 256e9)],
  links: [{ name: 'eth0', mac: '52:54:00:00:00:01', kind: '', speedMbit: 1000, state: 'up' }],
  addresses: [],
  processors: 1,
  memoryMiB: 1024,
  ...over,
});
const machine = (over: Partial<Machine>): Machine => ({ name: 'm1', role: 'worker', mac: '52:54:00:00:00:01', patches: [], ...over }) as Machine;

test('pre-flight: a selector matching two disks, a bond member given by MAC, a duplicate match', () => {
  const two = preflight('v1.13.9', [machine({ diskSelector: { size: '256GB' } })], [node({})]);
  assert.deepEqual(two.problems, ['m1 (192.0.2.50): diskSelector (size "256GB") matches 2 disks (sda, sdb), not exactly one']);
  const bond = { name: 'bond0', interfaces: ['eth0', '52:54:00:00:00:02'], mode: '802.3ad' } as Machine['bond'];
  const byMac = preflight('v1.13.9', [machine({ installDisk: '/dev/sda', bond })], [node({ links: [...node({}).links, { name: 'enp2s0', mac: '52:54:00:00:00:02', kind: '', speedMbit: 1000, state: 'up' }] })]);
  assert.deepEqual(byMac.problems, []);
  assert.equal(byMac.matched.length, 1);
  const dup = preflight('v1.13.9', [machine({})], [node({}), node({ address: '192.0.2.51' })]);
  assert.deepEqual(dup.problems, ['m1: matched by 2 nodes (192.0.2.50, 192.0.2.51)']);
  const v16 = preflight('v1.6.4', [machine({})], [node({ talosVersion: null })]);
  assert.deepEqual(v16.problems, [], 'a v1.6 spec accepts a maintenance node without Version');
});

test('configs compare by content, not layout', () => {
  assert.ok(sameConfig('a: 1\nb: [x]\n---\nkind: L\n', 'b:\n  - x\na: 1\n---\nkind: L\n'));
  assert.ok(!sameConfig('a: 1\n', 'a: 2\n'));
});

/** A node seen through scripted answers per address: events to stream, or a failure to connect. */
function scripted(plan: Record<string, ({ events: string[]; end?: Error } | { down: true })[]>) {
  const calls: string[] = [];
  const connect = (address: string): TalosApi => {
    const step = plan[address]!.shift() ?? { down: true as const };
    calls.push(address);
    return {
      node: address,
      waitReady: async () => {
        if ('down' in step) throw new TalosUnavailableError(address, 'UNAVAILABLE', 'not answering');
      },
      async *watch() {
        if ('down' in step) return;
        for (const stage of step.events) yield { type: 'updated', resource: { spec: { stage } } } as unknown as CosiEvent<any>;
        if (step.end) throw step.end;
      },
      close: () => undefined,
    } as unknown as TalosApi;
  };
  return { connect, calls };
}

test('follow: watches at the old address, reconnects at the configured one after the reboot', async () => {
  const clock = fakeClock();
  const lost = new TalosUnavailableError('a', 'UNAVAILABLE', 'connection reset');
  const s = scripted({ a: [{ events: ['installing', 'rebooting'], end: lost }], b: [{ down: true }, { down: true }, { events: ['booting', 'running'] }] });
  const seen: string[] = [];
  await followToRunning({ machine: 'm1', from: 'a', to: 'b', connect: s.connect, lastStage: 'installing', onStage: (st, at) => seen.push(`${st}@${at}`) }, clock, clock.now() + 60_000, new AbortController().signal);
  assert.deepEqual(seen, ['rebooting@a', 'booting@b', 'running@b']);
  assert.deepEqual(s.calls, ['a', 'b', 'b', 'b']);
  assert.deepEqual(clock.slept, [100, 200, 400]);
});

test('follow: a node that never comes back fails at the deadline with its last stage and the wait', async () => {
  const clock = fakeClock();
  const s = scripted({ a: [{ events: ['rebooting'] }], b: [] });
  const start = clock.now();
  const err = await followToRunning({ machine: 'w2', from: 'a', to: 'b', connect: s.connect, onStage: () => undefined }, clock, start + 30_000, new AbortController().signal).then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof NodeLostError);
  assert.equal(err.message, 'w2: never came back — last stage rebooting, waited 30.0s (no answer at b)');
  assert.equal(clock.now() - start, 30_000, 'bounded by the deadline');
  assert.ok(s.calls.slice(1).every((a) => a === 'b'), 'after the reboot only the configured address');
});

test('etcd bootstrap: FailedPrecondition retried with backoff, AlreadyExists is done, the deadline holds', async () => {
  const clock = fakeClock();
  let n = 0;
  const api = { node: 'cp1', bootstrap: async () => {
    if (++n < 3) throw new TalosPreconditionError('cp1', 'FAILED_PRECONDITION', 'bootstrap is not available yet');
  } } as unknown as TalosApi;
  assert.equal(await bootstrapEtcd(api, clock, clock.now() + 60_000, new AbortController().signal), 'bootstrapped');
  assert.deepEqual(clock.slept, [100, 200]);
  const again = { node: 'cp1', bootstrap: async () => {
    throw new TalosAlreadyExistsError('cp1', 'ALREADY_EXISTS', 'etcd data directory is not empty');
  } } as unknown as TalosApi;
  assert.equal(await bootstrapEtcd(again, clock, clock.now() + 60_000, new AbortController().signal), 'already');
  const never = { node: 'cp1', bootstrap: async () => {
    throw new TalosPreconditionError('cp1', 'FAILED_PRECONDITION', 'bootstrap is not available yet');
  } } as unknown as TalosApi;
  await assert.rejects(bootstrapEtcd(never, clock, clock.now() + 10_000, new AbortController().signal), (e: unknown) => e instanceof HealthTimeoutError && /etcd bootstrap on cp1: not healthy after 10\.0s \(.*not available yet\)/.test(e.message));
});
