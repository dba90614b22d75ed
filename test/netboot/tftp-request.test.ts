/**
 * The TFTP protocol decisions without sockets: which requests are served or refused (and with
 * which error), option negotiation (RFC 2347/2348/2349/7440), and window ACK accounting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERR, OP, ackPacket, rrqPacket } from '../../src/netboot/tftp/packet.js';
import { ackedBlock, jailRefusal, lastBlockOf, negotiate, requestedName, screenRequest, slotRefusal } from '../../src/netboot/tftp/request.js';

const limits = { timeoutMs: 1000, maxBlksize: 65464, maxWindow: 64 };
const opts = (o: Record<string, string>) => new Map(Object.entries(o));

describe('tftp request screening', () => {
  it('serves a read request in octet or netascii mode', () => {
    for (const mode of ['octet', 'NetASCII']) {
      const s = screenRequest(rrqPacket('ipxe.efi', mode, { blksize: 1468 }));
      assert.ok('serve' in s, JSON.stringify(s));
      assert.equal(s.serve.filename, 'ipxe.efi');
      assert.equal(s.serve.mode, mode.toLowerCase());
      assert.equal(s.serve.options.get('blksize'), '1468');
    }
  });

  it('refuses writes, unknown modes and requests over the transfer limit', () => {
    const wrq = rrqPacket('x', 'octet');
    wrq[1] = OP.WRQ;
    assert.deepEqual(screenRequest(wrq), { refuse: { code: ERR.ACCESS, message: 'this server is read-only', reason: 'write-refused' } });
    assert.deepEqual(screenRequest(rrqPacket('x', 'mail')), { refuse: { code: ERR.ILLEGAL_OP, message: 'transfer mode mail is not supported', reason: 'bad-mode' } });
    assert.deepEqual(slotRefusal('busy'), { code: ERR.UNDEFINED, message: 'server busy, try again', reason: 'busy' });
    assert.deepEqual(slotRefusal('client-limit'), { code: ERR.UNDEFINED, message: 'too many transfers from this address, try again', reason: 'client-limit' });
  });

  it('drops malformed packets and packets that belong to no transfer', () => {
    assert.deepEqual(screenRequest(Buffer.from([0, 1])), { drop: 'short' });
    assert.deepEqual(screenRequest(Buffer.from('\x00\x01name\x00octet', 'latin1')), { drop: 'malformed-request' });
    assert.deepEqual(screenRequest(ackPacket(3)), { drop: 'stray-ack' });
    assert.deepEqual(screenRequest(Buffer.from([0, 9, 0, 0])), { drop: 'unknown-opcode' });
  });

  it('maps DOS separators and jail refusals to TFTP errors', () => {
    assert.equal(requestedName('boot\\x86\\ipxe.efi'), 'boot/x86/ipxe.efi');
    assert.deepEqual(jailRefusal('not-found'), { code: ERR.NOT_FOUND, message: 'file not found', reason: 'not-found' });
    assert.deepEqual(jailRefusal('not-a-file'), { code: ERR.NOT_FOUND, message: 'not a file', reason: 'not-a-file' });
    assert.deepEqual(jailRefusal('absolute-path'), { code: ERR.ACCESS, message: 'absolute paths are not served', reason: 'absolute-path' });
    for (const r of ['traversal', 'outside-root', 'bad-path'] as const) assert.deepEqual(jailRefusal(r), { code: ERR.ACCESS, message: 'access violation', reason: r });
  });
});

describe('tftp option negotiation', () => {
  it('without options: 512-byte blocks, lock-step, the default timeout, no OACK', () => {
    assert.deepEqual(negotiate(opts({}), 1000, limits), { blksize: 512, window: 1, timeoutMs: 1000, accepted: [] });
  });

  it('accepts blksize, tsize, timeout and windowsize in the client order', () => {
    const n = negotiate(opts({ windowsize: '16', tsize: '0', blksize: '1468', timeout: '3' }), 123456, limits);
    assert.deepEqual(n, {
      blksize: 1468,
      window: 16,
      timeoutMs: 3000,
      accepted: [
        ['windowsize', '16'],
        ['tsize', '123456'],
        ['blksize', '1468'],
        ['timeout', '3'],
      ],
    });
  });

  it('caps blksize and windowsize to the server limits and says so in the OACK', () => {
    const n = negotiate(opts({ blksize: '65535', windowsize: '65535' }), 1, { timeoutMs: 500, maxBlksize: 8192, maxWindow: 8 });
    assert.equal(n.blksize, 8192);
    assert.equal(n.window, 8);
    assert.deepEqual(n.accepted, [
      ['blksize', '8192'],
      ['windowsize', '8'],
    ]);
  });

  it('ignores values out of their RFC range, non-numbers and unknown options', () => {
    const n = negotiate(opts({ blksize: '7', timeout: '256', windowsize: '0', tsize: '-1', multicast: '', utimeout: '1000' }), 10, limits);
    assert.deepEqual(n, { blksize: 512, window: 1, timeoutMs: 1000, accepted: [] });
    assert.deepEqual(negotiate(opts({ timeout: '0' }), 10, limits).accepted, []);
    assert.deepEqual(negotiate(opts({ blksize: '1e3' }), 10, limits).accepted, []);
    assert.deepEqual(negotiate(opts({ windowsize: '65536' }), 10, limits).accepted, []);
  });
});

describe('tftp window ACKs', () => {
  it('counts the final block: a full last block is followed by an empty one', () => {
    assert.equal(lastBlockOf(0, 512), 1);
    assert.equal(lastBlockOf(511, 512), 1);
    assert.equal(lastBlockOf(512, 512), 2);
    assert.equal(lastBlockOf(1025, 512), 3);
  });

  it('takes an ACK of any block in flight, ignores duplicates and old ones', () => {
    // Window of 4 at base 10, file of 100 blocks: 10..13 are in flight.
    assert.equal(ackedBlock(10, 10, 4, 100), 10);
    assert.equal(ackedBlock(13, 10, 4, 100), 13);
    assert.equal(ackedBlock(9, 10, 4, 100), undefined);
    assert.equal(ackedBlock(14, 10, 4, 100), undefined);
    // Near the end only the blocks that exist are in flight.
    assert.equal(ackedBlock(100, 99, 4, 100), 100);
    assert.equal(ackedBlock(101, 99, 4, 100), undefined);
  });

  it('follows 16-bit block numbers across the rollover', () => {
    // Absolute blocks 65535..65538 are numbered 65535, 0, 1, 2 on the wire.
    assert.equal(ackedBlock(65535, 65535, 4, 70000), 65535);
    assert.equal(ackedBlock(0, 65535, 4, 70000), 65536);
    assert.equal(ackedBlock(2, 65535, 4, 70000), 65538);
    assert.equal(ackedBlock(3, 65535, 4, 70000), undefined);
    assert.equal(ackedBlock(65534, 65535, 4, 70000), undefined);
  });
});
