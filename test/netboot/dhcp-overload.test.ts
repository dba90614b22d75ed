/**
 * Above capacity the server sheds DISCOVERs that waited too long in its receive queue and keeps
 * answering REQUESTs, so completed exchanges stay at capacity instead of falling. In process with
 * a fake listener (the rule), and end to end with the native socket's kernel receive timestamps
 * (a server stopped with SIGSTOP while DISCOVERs and a REQUEST queue up behind it).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMetrics } from '../../src/netboot/metrics.js';
import { Server } from '../../src/netboot/dhcp/server.js';
import type { DhcpRequest } from '../../src/netboot/dhcp/handler.js';
import type { Datagram, Listener } from '../../src/netboot/dhcp/transport.js';
import { decode, isDecodeError } from '../../src/netboot/dhcp/packet.js';
import { MessageType, Opt, numToIp } from '../../src/netboot/dhcp/options.js';
import { NetnsLab, netnsUnavailable, type Netns } from '../helpers/netns.js';
import { clientPacket, metricSum, serverOptions, startRunner, udpPeer, type Runner, type UdpPeer } from './dhcp-lab.js';

test('a DISCOVER that waited longer than maxQueuedMs is dropped as overloaded; REQUESTs and fresh DISCOVERs are handled', async () => {
  const metrics = createMetrics();
  let deliver: ((d: Datagram) => void) | undefined;
  const listener: Listener = { port: 67, start: (cb) => (deliver = cb), send: () => true, close: async () => undefined };
  const handled: string[] = [];
  const server = new Server([listener], { handle: (r: DhcpRequest) => (handled.push(`${r.type} ${r.packet.xid}`), {}) }, metrics, undefined, 4096, 200);
  server.start();
  const from = { srcIp: '0.0.0.0', srcPort: 68, dstIp: '255.255.255.255', localPort: 67 };
  const mac = '52:54:00:dd:00:01';
  deliver!({ data: clientPacket({ type: 'DISCOVER', mac, xid: 1 }), ...from, queuedMs: 350 });
  deliver!({ data: clientPacket({ type: 'REQUEST', mac, xid: 2, requestedIp: '192.0.2.100', serverId: '192.0.2.1' }), ...from, queuedMs: 350 });
  deliver!({ data: clientPacket({ type: 'DISCOVER', mac, xid: 3 }), ...from, queuedMs: 20 });
  deliver!({ data: clientPacket({ type: 'DISCOVER', mac, xid: 4 }), ...from }); // no timestamp: handled
  await server.close();
  assert.deepEqual(handled, ['REQUEST 2', 'DISCOVER 3', 'DISCOVER 4']);
  const m = await metrics.registry.metrics();
  assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="overloaded"'), 1);
  assert.equal(metricSum(m, 'hearth_dhcp_packets_received_total', 'type="discover"'), 3, 'the shed DISCOVER is still counted as received');
});

const skip = netnsUnavailable();

describe('DHCP under overload, through the native socket', { skip, timeout: 60_000 }, () => {
  const lab = new NetnsLab('dovl');
  let srv: Netns;
  let cli: Netns;
  let server: Runner;
  let peer: UdpPeer;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-overload-'));
    srv = await lab.ns('s');
    cli = await lab.ns('c');
    await lab.veth(srv, 's0', '192.0.2.1/24', cli, 'c0', undefined, { mac: '52:54:00:dd:00:01' });
    await cli.must(['ip', 'route', 'add', '255.255.255.255/32', 'dev', 'c0']);
    server = await startRunner(srv, { ...serverOptions(path.join(dir, 'state'), { interface: 's0' }), quietEvents: true });
    peer = await udpPeer(cli, 68);
  });

  after(async () => {
    await peer?.close();
    await server?.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const replyTo = (xid: number, type: number) => (d: { data: Buffer }) => {
    const p = decode(d.data);
    return !isDecodeError(p) && p.xid === xid && p.options.get(Opt.MESSAGE_TYPE)?.[0] === type;
  };

  test('DISCOVERs queued behind a stalled server are shed; the queued REQUEST is still acknowledged', async () => {
    const mac = '52:54:00:dd:00:01';
    peer.send(clientPacket({ type: 'DISCOVER', mac, xid: 10 }), '255.255.255.255', 67);
    const offer = await peer.recv(replyTo(10, MessageType.OFFER), 5000);
    assert.ok(offer, 'an OFFER while the server keeps up');
    const o = decode(offer.data);
    assert.ok(!isDecodeError(o));
    const ip = numToIp(o.yiaddr);
    const pid = server.proc.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      for (let xid = 20; xid < 25; xid++) peer.send(clientPacket({ type: 'DISCOVER', mac: `52:54:00:dd:01:${xid}`, xid }), '255.255.255.255', 67);
      peer.send(clientPacket({ type: 'REQUEST', mac, xid: 10, requestedIp: ip, serverId: '192.0.2.1' }), '255.255.255.255', 67);
      assert.equal(await peer.sentAcked(), 7, 'all sent while the server is stopped');
      await new Promise((r) => setTimeout(r, 600)); // well past the 200 ms the server accepts a DISCOVER waiting
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const ack = await peer.recv(replyTo(10, MessageType.ACK), 5000);
    assert.ok(ack, 'the REQUEST that waited is answered');
    peer.send(clientPacket({ type: 'DISCOVER', mac: '52:54:00:dd:02:01', xid: 30 }), '255.255.255.255', 67);
    assert.ok(await peer.recv(replyTo(30, MessageType.OFFER), 5000), 'a fresh DISCOVER is answered once the queue is drained');
    for (let xid = 20; xid < 25; xid++) assert.ok(!peer.received.some(replyTo(xid, MessageType.OFFER)), `no OFFER for the shed DISCOVER ${xid}`);
    const m = await server.metrics();
    assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="overloaded"'), 5);
  });
});
