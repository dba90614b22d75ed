/**
 * No reflection on the wire: a request naming a client address outside the served subnet gets no
 * reply, in proxy mode (port 4011) and in full mode (INFORM). The client namespace also holds that
 * off-subnet address and the server namespace has a route to it over the lab link, so a reply, if
 * hearth sent one, would reach the test's socket. Each case is followed by an in-subnet request
 * from the same socket; its reply arriving proves the server handled the earlier datagram (it
 * answers in order), so the absence of the first reply is not a matter of waiting long enough.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable } from '../helpers/netns.js';
import { clientPacket, ipNum, makeLan, metricSum, pxeOptions, serverOptions, startRunner, udpPeer, type Lan, type Runner, type UdpPeer } from './dhcp-lab.js';
import { decode, isDecodeError } from '../../src/netboot/dhcp/packet.js';

const skip = netnsUnavailable();
const MAC = '52:54:00:cc:00:01';
const ON = '192.0.2.60';
const OFF = '198.51.100.7';

const xidOf = (d: { data: Buffer }) => {
  const p = decode(d.data);
  return isDecodeError(p) ? undefined : p.xid;
};

describe('DHCP replies stay on the served subnet (netns)', { skip, timeout: 120_000 }, () => {
  const lab = new NetnsLab('doff');
  let lan: Lan;
  let peer: UdpPeer;
  let dir: string;
  let server: Runner | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-offsubnet-'));
    lan = await makeLan(lab, [MAC]);
    const c = lan.clients[0]!;
    await c.must(['ip', 'addr', 'add', `${ON}/24`, 'dev', 'c0']);
    await c.must(['ip', 'addr', 'add', `${OFF}/24`, 'dev', 'c0']);
    await lan.srv.must(['ip', 'route', 'add', '198.51.100.0/24', 'dev', 'br0']);
    peer = await udpPeer(c, 68);
  });

  after(async () => {
    await peer?.close();
    await server?.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Sends the off-subnet request, then the in-subnet control; returns once the control is answered. */
  async function probe(off: Buffer, offXid: number, control: Buffer, controlXid: number, port: number): Promise<void> {
    peer.send(off, '192.0.2.1', port);
    peer.send(control, '192.0.2.1', port);
    const answered = await peer.recv((d) => xidOf(d) === controlXid, 10_000);
    assert.ok(answered, `the in-subnet control request was answered; stderr: ${server?.stderr()}`);
    assert.equal(answered.from, '192.0.2.1');
    assert.ok(!peer.received.some((d) => xidOf(d) === offXid), 'no reply to the off-subnet request');
  }

  test('proxy mode: a port-4011 REQUEST with an off-subnet ciaddr is dropped, not answered', async () => {
    server = await startRunner(lan.srv, serverOptions(path.join(dir, 'proxy'), { mode: 'proxy', range: undefined, reservations: [] }));
    const off = clientPacket({ type: 'REQUEST', mac: MAC, xid: 0x0ff0001, ciaddr: ipNum(OFF), flags: 0, options: pxeOptions(0) });
    const control = clientPacket({ type: 'REQUEST', mac: MAC, xid: 0x0ff0002, ciaddr: ipNum(ON), flags: 0, options: pxeOptions(0) });
    await probe(off, 0x0ff0001, control, 0x0ff0002, 4011);
    const m = await server.metrics();
    assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="off-subnet"'), 1);
    assert.equal(metricSum(m, 'hearth_dhcp_packets_sent_total', 'type="ack"'), 1);
    await server.stop();
    server = undefined;
  });

  test('full mode: an INFORM with an off-subnet ciaddr is dropped, not answered', async () => {
    server = await startRunner(lan.srv, serverOptions(path.join(dir, 'full')));
    const off = clientPacket({ type: 'INFORM', mac: MAC, xid: 0x0ff0003, ciaddr: ipNum(OFF), flags: 0 });
    const control = clientPacket({ type: 'INFORM', mac: MAC, xid: 0x0ff0004, ciaddr: ipNum(ON), flags: 0 });
    await probe(off, 0x0ff0003, control, 0x0ff0004, 67);
    const m = await server.metrics();
    assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="off-subnet"'), 1);
    assert.equal(metricSum(m, 'hearth_dhcp_packets_sent_total', 'type="ack"'), 1);
  });
});
