/**
 * The TFTP slot table and its limit notices, without sockets or clocks: per-client and total
 * caps, taking over the slot of the client silent longest (only once it is stale), release
 * exactly once, and log lines at most one per kind of limit per interval.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitNotices } from '../../src/netboot/tftp/notices.js';
import { TransferSlots, type Slot } from '../../src/netboot/tftp/slots.js';

const admitted = (a: ReturnType<TransferSlots['admit']>): Slot => {
  assert.ok('admitted' in a, `expected a slot, got ${JSON.stringify(a)}`);
  return a.admitted;
};

describe('tftp transfer slots', () => {
  it('holds one address to maxPerClient, others unaffected, and gives a slot back once', () => {
    const t = new TransferSlots({ maxTransfers: 100, maxPerClient: 2, evictIdleMs: Infinity });
    const a1 = admitted(t.admit('192.0.2.10', 0));
    admitted(t.admit('192.0.2.10', 0));
    assert.deepEqual(t.admit('192.0.2.10', 0), { refused: 'client-limit' });
    admitted(t.admit('192.0.2.11', 0));
    assert.equal(t.size, 3);
    t.release(a1);
    t.release(a1);
    assert.equal(t.size, 2);
    assert.equal(t.heldBy('192.0.2.10'), 1);
    admitted(t.admit('192.0.2.10', 0));
    assert.deepEqual(t.admit('192.0.2.10', 0), { refused: 'client-limit' });
  });

  it('a client at its share takes over its own stalest slot once it is stale, never another client\'s', () => {
    const t = new TransferSlots({ maxTransfers: 100, maxPerClient: 2, evictIdleMs: 1000 });
    const other = admitted(t.admit('192.0.2.9', 0));
    const old = admitted(t.admit('192.0.2.10', 10));
    const newer = admitted(t.admit('192.0.2.10', 20));
    assert.deepEqual(t.admit('192.0.2.10', 1005), { refused: 'client-limit' });
    const r = t.admit('192.0.2.10', 1010);
    assert.ok('admitted' in r);
    assert.equal(r.evicted, old);
    assert.equal(t.heldBy('192.0.2.10'), 2);
    assert.equal(t.heldBy('192.0.2.9'), 1);
    newer.progressed(1500);
    assert.deepEqual(t.admit('192.0.2.10', 1600), { refused: 'client-limit' }, 'both of its slots are fresh');
    t.release(other);
    assert.equal(t.size, 2);
  });

  it('does not hold the server\'s own address to the per-client share, but to the total', () => {
    const t = new TransferSlots({ maxTransfers: 5, maxPerClient: 2, evictIdleMs: Infinity, ownAddress: '192.0.2.1' });
    for (let i = 0; i < 5; i++) admitted(t.admit('192.0.2.1', i));
    assert.equal(t.heldBy('192.0.2.1'), 5);
    assert.deepEqual(t.admit('192.0.2.1', 9), { refused: 'busy' });
  });

  it('when full, takes over the slot of the client silent longest once it is stale, else refuses', () => {
    const t = new TransferSlots({ maxTransfers: 3, maxPerClient: 8, evictIdleMs: 1000 });
    const a = admitted(t.admit('192.0.2.1', 0));
    const b = admitted(t.admit('192.0.2.2', 100));
    const c = admitted(t.admit('192.0.2.3', 200));
    a.progressed(900); // a acknowledged recently; b is now the one silent longest
    assert.deepEqual(t.admit('192.0.2.4', 1050), { refused: 'busy' }, 'nobody silent for 1000 ms yet');
    const r = t.admit('192.0.2.4', 1100);
    assert.ok('admitted' in r);
    assert.equal(r.evicted, b);
    assert.equal(t.size, 3);
    assert.equal(t.heldBy('192.0.2.2'), 0);
    t.release(b); // the evicted transfer ending later releases nothing more
    assert.equal(t.size, 3);
    const r2 = t.admit('192.0.2.5', 1200);
    assert.ok('admitted' in r2);
    assert.equal(r2.evicted, c);
  });

  it('reads the progress of a slot that follows a source, not what was noted before', () => {
    const t = new TransferSlots({ maxTransfers: 2, maxPerClient: 8, evictIdleMs: 1000 });
    const a = admitted(t.admit('192.0.2.1', 0));
    const b = admitted(t.admit('192.0.2.2', 500));
    let served = 0; // the client's last ACK, as a native send loop would record it
    a.follow(() => served);
    a.progressed(10_000); // ignored from now on: the source decides
    served = 1200;
    assert.equal(a.lastProgress(), 1200);
    const r = t.admit('192.0.2.3', 1600);
    assert.ok('admitted' in r);
    assert.equal(r.evicted, b, 'b (silent since 500) is staler than a (progress at 1200 from its source)');
    served = 100; // a source may also report older progress than what was noted: it is still the one read
    const r2 = t.admit('192.0.2.4', 1700);
    assert.ok('admitted' in r2);
    assert.equal(r2.evicted, a);
  });

  it('keeps the total cap under a burst of admissions', () => {
    const t = new TransferSlots({ maxTransfers: 16, maxPerClient: 1000, evictIdleMs: Infinity });
    let refused = 0;
    for (let i = 0; i < 500; i++) if ('refused' in t.admit(`198.51.100.${i % 200}`, i)) refused++;
    assert.equal(t.size, 16);
    assert.equal(refused, 484);
  });
});

describe('tftp limit notices', () => {
  it('logs one line per kind per interval and says how many were not logged', () => {
    const lines: string[] = [];
    const n = new LimitNotices((l) => lines.push(l), 60_000);
    n.note('busy', 'first', 0);
    for (let i = 1; i <= 5; i++) n.note('busy', `again ${i}`, i * 1000);
    n.note('client-limit', 'other kind', 2000);
    assert.deepEqual(lines, ['tftp limit busy: first', 'tftp limit client-limit: other kind']);
    n.note('busy', 'later', 60_000);
    assert.equal(lines[2], 'tftp limit busy: later (5 more since the last notice)');
    n.note('busy', 'quiet since', 200_000);
    assert.equal(lines[3], 'tftp limit busy: quiet since');
  });
});
