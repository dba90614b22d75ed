/**
 * The full-mode handler decides broadcast vs unicast from its own subnet (not the transport from
 * the address's last octet), and takes its UDP ports from its constructor config. In process.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FullHandler } from '../../src/netboot/dhcp/full/handler.js';
import { MemoryLeaseStore } from '../../src/netboot/dhcp/leases/store.js';
import { MessageType, Opt, ipToNum, numToIp } from '../../src/netboot/dhcp/options.js';
import { decode, encode, isDecodeError } from '../../src/netboot/dhcp/packet.js';
import type { BootEvent } from '../../src/netboot/events.js';
import { clientPacket, dhcpRequest, fullConfig } from './dhcp-lab.js';

const req = dhcpRequest;

/** A handler on 198.51.100.0/25 (broadcast 198.51.100.127), with ports that are not 67/68. */
function handler() {
  const events: BootEvent[] = [];
  const h = new FullHandler(
    fullConfig({
      serverIp: ipToNum('198.51.100.1'),
      netmask: ipToNum('255.255.255.128'),
      range: { first: ipToNum('198.51.100.100'), last: ipToNum('198.51.100.110') },
      leaseTimeSec: 3600,
      boot: { httpBase: 'http://198.51.100.1:8080', tftpServer: '198.51.100.1', chainload: false },
      tftpServer: ipToNum('198.51.100.1'),
      clientPort: 10068,
      serverPort: 10067,
    }),
    new MemoryLeaseStore(),
    { emit: (e) => events.push(e) },
  );
  return { h, events };
}

async function bind(h: FullHandler, mac: string): Promise<string> {
  const offer = await h.handle(req(clientPacket({ type: 'DISCOVER', mac })));
  assert.ok(offer.reply, JSON.stringify(offer));
  const ip = numToIp(decodeReply(offer.reply.packet).yiaddr);
  const ack = await h.handle(req(clientPacket({ type: 'REQUEST', mac, requestedIp: ip, serverId: '198.51.100.1' })));
  assert.equal(ack.reply?.type, 'ACK');
  return ip;
}

function decodeReply(packet: Parameters<typeof encode>[0]) {
  const p = decode(encode(packet, 576));
  if (isDecodeError(p)) throw new Error(p.error);
  return p;
}

describe('full handler: broadcast decision and ports', () => {
  test('a REQUEST with ciaddr is rebinding when sent to 255.255.255.255 or the subnet broadcast, renewing when unicast', async () => {
    const { h, events } = handler();
    const mac = '52:54:00:00:07:01';
    const ip = await bind(h, mac);
    const states: string[] = [];
    for (const dstIp of ['198.51.100.1', '255.255.255.255', '198.51.100.127', '198.51.100.255']) {
      events.length = 0;
      const o = await h.handle(req(clientPacket({ type: 'REQUEST', mac, ciaddr: ipToNum(ip), flags: 0 }), { srcIp: ip, dstIp }));
      assert.equal(o.reply?.type, 'ACK', dstIp);
      states.push(events.find((e) => e.kind === 'dhcp-request')?.detail ?? 'none');
    }
    // 198.51.100.255 is not this /25's broadcast address: a unicast (the old last-octet test said broadcast).
    assert.deepEqual(states, ['renewing', 'rebinding', 'rebinding', 'renewing']);
  });

  test('replies go to the configured client port, relayed ones to the configured server port', async () => {
    const { h } = handler();
    const direct = await h.handle(req(clientPacket({ type: 'DISCOVER', mac: '52:54:00:00:07:02' })));
    assert.equal(direct.reply?.port, 10068);
    assert.equal(direct.reply?.ip, '255.255.255.255');
    const viaRelay = req(clientPacket({ type: 'DISCOVER', mac: '52:54:00:00:07:03' }), { srcIp: '198.51.100.2', srcPort: 67, dstIp: '198.51.100.1' });
    viaRelay.packet = { ...viaRelay.packet, giaddr: ipToNum('198.51.100.2') };
    const relayed = await h.handle(viaRelay);
    assert.equal(relayed.reply?.port, 10067, JSON.stringify(relayed));
    assert.equal(relayed.reply?.ip, '198.51.100.2');
  });
});
