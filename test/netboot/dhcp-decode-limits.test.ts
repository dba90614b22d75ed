/**
 * Decoding is bounded and linear: oversized datagrams and floods of option instances are refused
 * (and counted as dropped by the server), and repeated instances (RFC 3396) are joined with one
 * concatenation per option, however many instances there are.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DECODE_LIMITS, decode, isDecodeError } from '../../src/netboot/dhcp/packet.js';
import { Opt } from '../../src/netboot/dhcp/options.js';
import { Server } from '../../src/netboot/dhcp/server.js';
import type { Datagram, Listener } from '../../src/netboot/dhcp/transport.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { clientPacket, metricSum } from './dhcp-lab.js';

/** A DISCOVER whose options area holds `count` instances of option 224, each `len` bytes long. */
function flood(count: number, len: number): Buffer {
  const head = clientPacket({ type: 'DISCOVER', mac: '52:54:00:bb:00:01' }).subarray(0, 240);
  const body = Buffer.alloc(3 + count * (2 + len) + 1);
  body.set([Opt.MESSAGE_TYPE, 1, 1]);
  for (let i = 0, o = 3; i < count; i++, o += 2 + len) {
    body[o] = 224;
    body[o + 1] = len;
    body.fill(i & 255, o + 2, o + 2 + len);
  }
  body[body.length - 1] = Opt.END;
  return Buffer.concat([head, body]);
}

/** Counts Buffer.concat calls made by `fn`. */
function concatCalls<T>(fn: () => T): [T, number] {
  const B = Buffer as { concat: typeof Buffer.concat };
  const original = B.concat;
  let calls = 0;
  B.concat = ((list: readonly Uint8Array[], total?: number) => {
    calls++;
    return original(list, total);
  }) as typeof Buffer.concat;
  try {
    return [fn(), calls];
  } finally {
    B.concat = original;
  }
}

describe('DHCP decode limits', () => {
  test('the reported datagram: 63 KB of 21,000 instances is refused before parsing', () => {
    const big = flood(21_000, 1);
    assert.ok(big.length > 63_000 && big.length < 65_507, `${big.length} bytes`);
    const [p, calls] = concatCalls(() => decode(big));
    assert.ok(isDecodeError(p));
    assert.equal(p.error, 'too-long');
    assert.equal(calls, 0);
  });

  test('with the limits lifted, the same datagram joins its 21,000 instances in one concatenation', () => {
    const big = flood(21_000, 1);
    const [p, calls] = concatCalls(() => decode(big, { maxBytes: 65_535, maxOptions: 100_000 }));
    assert.ok(!isDecodeError(p), isDecodeError(p) ? p.error : '');
    const joined = p.options.get(224)!;
    assert.equal(joined.length, 21_000);
    assert.equal(joined[0], 0);
    assert.equal(joined[20_999], 20_999 & 255);
    assert.equal(calls, 1, 'one Buffer.concat for the repeated option, not one per instance');
  });

  test('more option instances than the limit are refused; up to it they are joined in order', () => {
    const many = flood(DECODE_LIMITS.maxOptions + 1, 0); // 2 bytes each: fits the byte limit
    assert.ok(many.length <= DECODE_LIMITS.maxBytes);
    const p = decode(many);
    assert.ok(isDecodeError(p));
    assert.equal(p.error, 'too-many-options');
    const ok = decode(flood(DECODE_LIMITS.maxOptions - 1, 2)); // with the message type: exactly the limit
    assert.ok(!isDecodeError(ok), isDecodeError(ok) ? ok.error : '');
    const v = ok.options.get(224)!;
    assert.equal(v.length, (DECODE_LIMITS.maxOptions - 1) * 2);
    assert.deepEqual([...v.subarray(0, 6)], [0, 0, 1, 1, 2, 2]);
  });

  test('a 1,500-byte request is still decoded; 1,501 bytes is not', () => {
    const base = clientPacket({ type: 'DISCOVER', mac: '52:54:00:bb:00:02' });
    const padded = Buffer.concat([base, Buffer.alloc(1500 - base.length)]); // PAD after END
    assert.ok(!isDecodeError(decode(padded)));
    const p = decode(Buffer.concat([padded, Buffer.alloc(1)]));
    assert.ok(isDecodeError(p) && p.error === 'too-long');
  });

  test('the server counts each refusal as a dropped packet with its reason', async () => {
    const metrics = createMetrics();
    let deliver: ((d: Datagram) => void) | undefined;
    const listener: Listener = {
      port: 67,
      start: (cb) => (deliver = cb),
      send: () => true,
      close: async () => undefined,
    };
    let handled = 0;
    const server = new Server([listener], { handle: () => (handled++, {}) }, metrics);
    server.start();
    const from = { srcIp: '0.0.0.0', srcPort: 68, dstIp: '255.255.255.255', localPort: 67 };
    for (let i = 0; i < 15; i++) deliver!({ data: flood(21_000, 1), ...from });
    deliver!({ data: flood(DECODE_LIMITS.maxOptions + 1, 0), ...from });
    deliver!({ data: clientPacket({ type: 'DISCOVER', mac: '52:54:00:bb:00:03' }), ...from });
    await server.close();
    const m = await metrics.registry.metrics();
    assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="too-long"'), 15);
    assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="too-many-options"'), 1);
    assert.equal(metricSum(m, 'hearth_dhcp_packets_received_total', 'type="invalid"'), 16);
    assert.equal(handled, 1, 'the well-formed DISCOVER still reaches the handler');
  });
});
