/** The DHCP fast path's text caches: the same text as made fresh, one shared value per key, and a hard bound. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { macText, numToIp } from '../../src/netboot/dhcp/options.js';
import { IpTexts, MacTexts, TextBytes } from '../../src/netboot/dhcp/text-cache.js';

test('MacTexts: the text macText makes, the same string for the same address, at most cap addresses', () => {
  const macs = new MacTexts(8);
  const chaddr = (i: number) => Buffer.from([0x52, 0x54, 0, 0xab, i >> 8, i & 255, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0]);
  for (let i = 0; i < 100; i++) assert.equal(macs.of(chaddr(i)), macText(chaddr(i), 6));
  assert.equal(macs.size, 8);
  assert.equal(macs.of(chaddr(99)), '52:54:00:ab:00:63');
  // Bytes past the sixth (hardware padding) do not change the key.
  const padded = chaddr(99);
  padded[10] = 7;
  assert.equal(macs.of(padded), '52:54:00:ab:00:63');
  assert.equal(macs.size, 8);
});

test('IpTexts: dotted text as numToIp, at most cap addresses', () => {
  const ips = new IpTexts(4);
  for (const n of [0, 1, 0xc0000201, 0xffffffff, 0xc6336401, 0xc0000201]) assert.equal(ips.of(n), numToIp(n));
  assert.equal(ips.size, 4);
});

test('TextBytes: the UTF-8 bytes, one shared buffer per text, at most cap texts', () => {
  const bytes = new TextBytes(2);
  const a = bytes.of('snponly.efi');
  assert.equal(bytes.of('snponly.efi'), a);
  assert.deepEqual(bytes.of('http://192.0.2.1:8080/boot.ipxe'), Buffer.from('http://192.0.2.1:8080/boot.ipxe'));
  assert.deepEqual(bytes.of('é'), Buffer.from([0xc3, 0xa9]));
  assert.equal(bytes.size, 2);
  assert.notEqual(bytes.of('snponly.efi'), a, 'the oldest text went past the cap');
});
