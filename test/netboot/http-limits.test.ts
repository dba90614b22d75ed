/** The HTTP connection limiter (pure, explicit clock): counts, refusals, rate-limited log lines. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionLimiter } from '../../src/netboot/http/limits.js';

describe('http connection limiter', () => {
  it('admits up to the per-address limit, then refuses that address but not others; a release makes room', () => {
    const l = new ConnectionLimiter({ perAddress: 2, total: 10, logIntervalMs: 1000 }, () => 0);
    assert.equal(l.admit('192.0.2.1'), undefined);
    assert.equal(l.admit('192.0.2.1'), undefined);
    assert.equal(l.admit('192.0.2.1'), 'per-address');
    assert.equal(l.admit('192.0.2.2'), undefined);
    assert.deepEqual(l.stats(), { connections: 3, addresses: 2 });
    l.release('192.0.2.1');
    assert.equal(l.admit('192.0.2.1'), undefined);
    for (const ip of ['192.0.2.1', '192.0.2.1', '192.0.2.2']) l.release(ip);
    assert.deepEqual(l.stats(), { connections: 0, addresses: 0 }, 'nothing left behind once all closed');
    l.release('192.0.2.9'); // never admitted: ignored, the count does not go negative
    assert.deepEqual(l.stats(), { connections: 0, addresses: 0 });
  });

  it('refuses every address once the total is reached', () => {
    const l = new ConnectionLimiter({ perAddress: 5, total: 3, logIntervalMs: 1000 }, () => 0);
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) assert.equal(l.admit(ip), undefined);
    assert.equal(l.admit('192.0.2.4'), 'total');
    assert.equal(l.admit('192.0.2.1'), 'total');
  });

  it('logs one line per address per interval, then says how many were refused meanwhile', () => {
    let now = 0;
    const l = new ConnectionLimiter({ perAddress: 1, total: 100, logIntervalMs: 1000 }, () => now);
    l.admit('192.0.2.1');
    l.admit('198.51.100.7');
    const first = l.refusalLine('192.0.2.1', 'per-address');
    assert.match(first!, /^hearth netboot: HTTP refused a connection from 192\.0\.2\.1: 1 connections from that address open, the limit per address$/);
    now = 500;
    assert.equal(l.refusalLine('192.0.2.1', 'per-address'), undefined);
    assert.equal(l.refusalLine('192.0.2.1', 'per-address'), undefined);
    assert.ok(l.refusalLine('198.51.100.7', 'per-address'), 'another address has its own interval');
    now = 1000;
    assert.match(l.refusalLine('192.0.2.1', 'per-address')!, /\(2 more refused since the last such line\)$/);
    assert.match(l.refusalLine('192.0.2.5', 'total')!, /2 connections open, the limit in all$/);
    assert.equal(l.refusalLine('192.0.2.6', 'total'), undefined, 'the total limit logs once per interval for all addresses');
  });
});
