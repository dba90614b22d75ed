/**
 * Above capacity the server sheds DISCOVERs that waited too long in its receive queue and keeps
 * answering REQUESTs, so completed exchanges stay at capacity instead of falling; a burst or a
 * stall alone (a boot storm, the server's start, a paused process) sheds nothing. In process with
 * a fake listener and an explicit clock (the rule), and end to end with the native socket's kernel
 * receive timestamps (a server stopped with SIGSTOP while DISCOVERs and a REQUEST queue behind it).
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
import { clientPacket, metricSum, serverOptions, startRunner, udpPeer, waitFor, type Runner, type UdpPeer } from './dhcp-lab.js';

test('late DISCOVERs are shed only once datagrams have been late for sustainMs on end; REQUESTs always handled', async () => {
  const metrics = createMetrics();
  let deliver: ((d: Datagram) => void) | undefined;
  const listener: Listener = { port: 67, start: (cb) => (deliver = cb), send: () => true, close: async () => undefined };
  const handled: number[] = [];
  let clock = 0;
  const server = new Server([listener], { handle: (r: DhcpRequest) => (handled.push(r.packet.xid), {}) }, metrics, undefined, { maxQueuedMs: 200, sustainMs: 1000, now: () => clock });
  server.start();
  const from = { srcIp: '0.0.0.0', srcPort: 68, dstIp: '255.255.255.255', localPort: 67 };
  const mac = '52:54:00:dd:00:01';
  const at = (t: number, type: 'DISCOVER' | 'REQUEST', xid: number, queuedMs?: number) => {
    clock = t;
    const data = type === 'DISCOVER' ? clientPacket({ type, mac, xid }) : clientPacket({ type, mac, xid, requestedIp: '192.0.2.100', serverId: '192.0.2.1' });
    deliver!({ data, ...from, ...(queuedMs === undefined ? {} : { queuedMs }) });
  };
  at(0, 'DISCOVER', 1, 350); // late, but only just: a burst or a stall
  at(500, 'REQUEST', 2, 350);
  at(1000, 'DISCOVER', 3, 350); // late for 1 s on end: shed
  at(1000, 'REQUEST', 4, 350); // REQUESTs are still answered
  at(1100, 'DISCOVER', 5, 20); // on time: caught up
  at(1200, 'DISCOVER', 6, 350); // late again, from now on
  at(1300, 'DISCOVER', 7); // no timestamp: handled
  await server.close();
  assert.deepEqual(handled, [1, 2, 4, 5, 6, 7]);
  const m = await metrics.registry.metrics();
  assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="overloaded"'), 1);
  assert.equal(metricSum(m, 'hearth_dhcp_packets_received_total', 'type="discover"'), 5, 'the shed DISCOVER is still counted as received');
});

const skip = netnsUnavailable();

describe('DHCP after a stall, through the native socket', { skip, timeout: 90_000 }, () => {
  const lab = new NetnsLab('dovl');
  let srv: Netns;
  let cli: Netns;
  let peer: UdpPeer;
  let dir: string;
  const servers: Runner[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-overload-'));
    srv = await lab.ns('s');
    cli = await lab.ns('c');
    await lab.veth(srv, 's0', '192.0.2.1/24', cli, 'c0', undefined, { mac: '52:54:00:dd:00:01' });
    await cli.must(['ip', 'route', 'add', '255.255.255.255/32', 'dev', 'c0']);
    peer = await udpPeer(cli, 68);
    // sustainMs 0: the first late DISCOVER is shed, so a stall shows what the kernel timestamps say.
    servers.push(await startRunner(srv, { ...serverOptions(path.join(dir, 'strict'), { interface: 's0', reuseAddress: true }), quietEvents: true, limits: { sustainMs: 0 } }));
  });

  after(async () => {
    await peer?.close();
    for (const s of servers) await s.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const replyTo = (xid: number, type: number) => (d: { data: Buffer }) => {
    const p = decode(d.data);
    return !isDecodeError(p) && p.xid === xid && p.options.get(Opt.MESSAGE_TYPE)?.[0] === type;
  };

  /** Binds `mac` while the server keeps up, then queues DISCOVERs `xids` and its REQUEST behind a 600 ms SIGSTOP. */
  async function stall(server: Runner, mac: string, xid: number, xids: number[]): Promise<void> {
    peer.send(clientPacket({ type: 'DISCOVER', mac, xid }), '255.255.255.255', 67);
    const offer = await peer.recv(replyTo(xid, MessageType.OFFER), 5000);
    assert.ok(offer, 'an OFFER while the server keeps up');
    const o = decode(offer.data);
    assert.ok(!isDecodeError(o));
    process.kill(server.proc.pid!, 'SIGSTOP');
    try {
      for (const x of xids) peer.send(clientPacket({ type: 'DISCOVER', mac: `52:54:00:dd:01:${x}`, xid: x }), '255.255.255.255', 67);
      peer.send(clientPacket({ type: 'REQUEST', mac, xid, requestedIp: numToIp(o.yiaddr), serverId: '192.0.2.1' }), '255.255.255.255', 67);
      await peer.sentAcked();
      await new Promise((r) => setTimeout(r, 600)); // well past the 200 ms after which a datagram is late
    } finally {
      process.kill(server.proc.pid!, 'SIGCONT');
    }
    assert.ok(await peer.recv(replyTo(xid, MessageType.ACK), 5000), 'the REQUEST that waited is answered');
  }

  test('with sustainMs 0, the DISCOVERs that waited out the stall are shed; the REQUEST and a fresh DISCOVER are answered', async () => {
    const server = servers[0]!;
    await stall(server, '52:54:00:dd:00:01', 10, [20, 21, 22, 23, 24]);
    peer.send(clientPacket({ type: 'DISCOVER', mac: '52:54:00:dd:02:01', xid: 30 }), '255.255.255.255', 67);
    assert.ok(await peer.recv(replyTo(30, MessageType.OFFER), 5000), 'a fresh DISCOVER is answered once the queue is drained');
    for (const x of [20, 21, 22, 23, 24]) assert.ok(!peer.received.some(replyTo(x, MessageType.OFFER)), `no OFFER for the shed DISCOVER ${x}`);
    assert.equal(metricSum(await server.metrics(), 'hearth_dhcp_packets_dropped_total', 'reason="overloaded"'), 5);
  });

  test('with the default limits, a stall alone sheds nothing: every queued DISCOVER gets its OFFER', async () => {
    await servers[0]!.stop();
    const server = await startRunner(srv, { ...serverOptions(path.join(dir, 'default'), { interface: 's0', reuseAddress: true }), quietEvents: true });
    servers.push(server);
    await stall(server, '52:54:00:dd:00:02', 40, [50, 51, 52, 53, 54]);
    // (answered in queue order, so before the ACK that stall() waited for: look at all received)
    const offered = (x: number) => peer.received.some(replyTo(x, MessageType.OFFER));
    await waitFor(() => [50, 51, 52, 53, 54].every(offered) || undefined, 5000);
    for (const x of [50, 51, 52, 53, 54]) assert.ok(offered(x), `an OFFER for the queued DISCOVER ${x}`);
    assert.equal(metricSum(await server.metrics(), 'hearth_dhcp_packets_dropped_total', 'reason="overloaded"'), 0);
  });
});
