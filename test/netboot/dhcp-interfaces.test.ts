/**
 * Interface binding on a host with two interfaces: the server serves s0 (192.0.2.0/24) only.
 * A client on s1 (198.51.100.0/24) gets nothing although its broadcast reaches the host (a control
 * socket there sees it), and the replies to the s0 client leave through s0 only, from 192.0.2.1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable, type Netns } from '../helpers/netns.js';
import { clientPacket, metricSum, serverOptions, startRunner, udpPeer, type Runner, type UdpPeer } from './dhcp-lab.js';
import { decode, isDecodeError } from '../../src/netboot/dhcp/packet.js';
import { MessageType, Opt, numToIp } from '../../src/netboot/dhcp/options.js';

const skip = netnsUnavailable();

describe('DHCP serves the configured interface only', { skip, timeout: 60_000 }, () => {
  const lab = new NetnsLab('difc');
  let srv: Netns;
  let c1: Netns;
  let c2: Netns;
  let server: Runner;
  let p1: UdpPeer;
  let p2: UdpPeer;
  let control: UdpPeer;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-if-'));
    srv = await lab.ns('s');
    c1 = await lab.ns('a');
    c2 = await lab.ns('b');
    await lab.veth(srv, 's0', '192.0.2.1/24', c1, 'c0', undefined, { mac: '52:54:00:cc:00:01' });
    await lab.veth(srv, 's1', '198.51.100.1/24', c2, 'c0', '198.51.100.2/24', { mac: '52:54:00:cc:00:02' });
    await c1.must(['ip', 'route', 'add', '255.255.255.255/32', 'dev', 'c0']);
    await c2.must(['ip', 'route', 'add', '255.255.255.255/32', 'dev', 'c0']);
    server = await startRunner(srv, serverOptions(path.join(dir, 'state'), { interface: 's0', reuseAddress: true }));
    p1 = await udpPeer(c1, 68);
    p2 = await udpPeer(c2, 68);
    // A plain wildcard socket on port 67 in the server's namespace: what a dgram-based server would see.
    control = await udpPeer(srv, 67);
  });

  after(async () => {
    for (const p of [p1, p2, control]) await p?.close();
    await server?.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the other interface gets nothing; replies leave through the served one', async () => {
    p2.send(clientPacket({ type: 'DISCOVER', mac: '52:54:00:cc:00:02', xid: 2 }), '255.255.255.255', 67);
    const seen = await control.recv((d) => {
      const p = decode(d.data);
      return !isDecodeError(p) && p.xid === 2;
    }, 5000);
    assert.ok(seen, 'the s1 client broadcast reached the host (control socket)');
    p1.send(clientPacket({ type: 'DISCOVER', mac: '52:54:00:cc:00:01', xid: 1 }), '255.255.255.255', 67);
    const offer = await p1.recv((d) => {
      const p = decode(d.data);
      return !isDecodeError(p) && p.xid === 1;
    }, 5000);
    assert.ok(offer, 'the s0 client got an offer');
    assert.equal(offer.from, '192.0.2.1', 'sent from the served interface address');
    const p = decode(offer.data);
    assert.ok(!isDecodeError(p));
    assert.equal(p.options.get(Opt.MESSAGE_TYPE)![0], MessageType.OFFER);
    assert.ok(numToIp(p.yiaddr).startsWith('192.0.2.'));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(p2.received.length, 0, `nothing reached the s1 client: ${JSON.stringify(p2.received.map((d) => d.from))}`);
    const m = await server.metrics();
    assert.equal(metricSum(m, 'hearth_dhcp_packets_received_total'), 1, 'only the s0 DISCOVER reached the server');
    assert.equal(metricSum(m, 'hearth_dhcp_packets_sent_total', 'type="offer"'), 1);
    assert.ok(!server.events.some((e) => e.mac === '52:54:00:cc:00:02'));
  });
});
