/**
 * The full handler skips its scan for never-used addresses once every address of the range has a
 * lease record, and scans again as soon as an address loses its record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FullHandler } from '../../src/netboot/dhcp/full/handler.js';
import { MemoryLeaseStore } from '../../src/netboot/dhcp/leases/store.js';
import { ipToNum, numToIp } from '../../src/netboot/dhcp/options.js';
import { clientPacket, fullConfig, dhcpRequest as req, replyPacket as reply } from './dhcp-lab.js';

const NOW = 1_000_000;
const lease = (mac: string, ip: string) => ({ mac, ip, expiresAt: NOW + 600_000, fixed: false, state: 'bound' as const });

test('an address that leaves a fully used range is offered again', async () => {
  const a = '52:54:00:00:00:0a';
  // A holds .100 dynamically but is now reserved .50: its next REQUEST moves it and frees .100.
  const h = new FullHandler(
    fullConfig({ range: { first: ipToNum('192.0.2.100'), last: ipToNum('192.0.2.102') }, reservations: new Map([[a, { ip: ipToNum('192.0.2.50') }]]) }),
    new MemoryLeaseStore(),
    { emit: () => undefined },
  );
  h.restore({ leases: [lease(a, '192.0.2.100'), lease('52:54:00:00:00:0b', '192.0.2.101'), lease('52:54:00:00:00:0c', '192.0.2.102')], declines: [] });
  const d = '52:54:00:00:00:0d';
  assert.equal((await h.handle(req(clientPacket({ type: 'DISCOVER', mac: d }), { now: NOW }))).drop, 'pool-exhausted');
  const ack = reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac: a, requestedIp: '192.0.2.50' }), { now: NOW })));
  assert.equal(numToIp(ack.yiaddr), '192.0.2.50');
  const offer = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: d }), { now: NOW })));
  assert.equal(numToIp(offer.yiaddr), '192.0.2.100');
});

test('in a fully used range, the address whose lease ended longest ago goes first, whatever the order of the records', async () => {
  const h = new FullHandler(fullConfig({ range: { first: ipToNum('192.0.2.100'), last: ipToNum('192.0.2.102') } }), new MemoryLeaseStore(), { emit: () => undefined });
  const ended = (mac: string, ip: string, ago: number) => ({ ...lease(mac, ip), expiresAt: NOW - ago });
  h.restore({ leases: [ended('52:54:00:00:00:0a', '192.0.2.100', 1000), ended('52:54:00:00:00:0b', '192.0.2.101', 3000), ended('52:54:00:00:00:0c', '192.0.2.102', 2000)], declines: [] });
  const offered = [];
  for (const m of ['52:54:00:00:00:0d', '52:54:00:00:00:0e', '52:54:00:00:00:0f']) offered.push(numToIp(reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: m }), { now: NOW }))).yiaddr));
  assert.deepEqual(offered, ['192.0.2.101', '192.0.2.102', '192.0.2.100']);
});
