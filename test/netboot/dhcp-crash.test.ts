/**
 * Crash safety of the lease store, for real: a server process hands out leases, is killed with
 * SIGKILL in the middle of a burst of REQUESTs, and is restarted on the same state directory.
 * Every lease a client saw acknowledged is still there, and no address is ever held by two MACs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable } from '../helpers/netns.js';
import { clientPacket, makeLan, serverOptions, startRunner, udpPeer, waitFor, type Lan, type Runner, type UdpPeer } from './dhcp-lab.js';
import { decode, isDecodeError, type DhcpPacket } from '../../src/netboot/dhcp/packet.js';
import { MessageType, Opt, macText, numToIp } from '../../src/netboot/dhcp/options.js';
import { exited } from '../helpers/within.js';

const skip = netnsUnavailable();
const mac = (i: number) => `52:54:00:dd:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

describe('DHCP leases survive kill -9', { skip, timeout: 120_000 }, () => {
  const lab = new NetnsLab('dcra');
  let lan: Lan;
  let peer: UdpPeer;
  let dir: string;
  let server: Runner | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-crash-'));
    lan = await makeLan(lab, ['52:54:00:dd:ff:01']);
    await lan.clients[0]!.must(['ip', 'route', 'add', '255.255.255.255/32', 'dev', 'c0']);
    peer = await udpPeer(lan.clients[0]!, 68);
  });

  after(async () => {
    await peer?.close();
    await server?.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Replies of `type` seen so far, by MAC (the last one wins). */
  function replies(type: number, xidBase: number): Map<string, DhcpPacket> {
    const out = new Map<string, DhcpPacket>();
    for (const d of peer.received) {
      const p = decode(d.data);
      if (isDecodeError(p) || p.options.get(Opt.MESSAGE_TYPE)?.[0] !== type || p.xid < xidBase || p.xid >= xidBase + 5000) continue;
      out.set(macText(p.chaddr), p);
    }
    return out;
  }

  async function dora(macs: number[], xidBase: number, killAfterAcks?: number): Promise<Map<string, string>> {
    // In chunks: 240 broadcast replies at once would overflow the peer's socket buffer.
    macs.forEach((i, k) => {
      peer.send(clientPacket({ type: 'DISCOVER', mac: mac(i), xid: xidBase + i }), '255.255.255.255', 67);
      if (k % 20 === 19) peer.pause(20);
    });
    const offers = await waitFor(() => {
      const o = replies(MessageType.OFFER, xidBase);
      return o.size === macs.length ? o : undefined;
    }, 10_000);
    assert.ok(offers, `all ${macs.length} clients got an offer`);
    macs.forEach((i, k) => {
      const o = offers.get(mac(i))!;
      peer.send(clientPacket({ type: 'REQUEST', mac: mac(i), xid: xidBase + i, requestedIp: numToIp(o.yiaddr), serverId: '192.0.2.1' }), '255.255.255.255', 67);
      if (k % 20 === 19) peer.pause(20);
    });
    if (killAfterAcks !== undefined) {
      await waitFor(() => (replies(MessageType.ACK, xidBase).size >= killAfterAcks ? true : undefined), 10_000, 1);
      process.kill(server!.proc.pid!, 'SIGKILL');
      await exited(server!.proc, 'the DHCP server after SIGKILL');
      await new Promise((r) => setTimeout(r, 300)); // replies already in flight
    } else {
      await waitFor(() => (replies(MessageType.ACK, xidBase).size === macs.length ? true : undefined), 10_000);
    }
    const acked = new Map<string, string>();
    for (const [m, p] of replies(MessageType.ACK, xidBase)) acked.set(m, numToIp(p.yiaddr));
    return acked;
  }

  test('acknowledged leases are found again; no address goes to two MACs', async (t) => {
    const state = path.join(dir, 'state');
    const opts = serverOptions(state, { range: { first: '192.0.2.10', last: '192.0.2.249' }, quietEvents: true });
    server = await startRunner(lan.srv, opts);
    const first = Array.from({ length: 180 }, (_, i) => i + 1);
    const acked = await dora(first, 10_000, 30);
    assert.ok(acked.size >= 30, `${acked.size} ACKs before the kill`);
    t.diagnostic(`${acked.size} of ${first.length} REQUESTs acknowledged before SIGKILL`);
    assert.equal(new Set(acked.values()).size, acked.size, 'distinct addresses');

    server = await startRunner(lan.srv, opts); // takes over the stale lock of the killed process
    const leases = await server.leases();
    const byMac = new Map(leases.map((l) => [l.mac, l.ip]));
    for (const [m, ip] of acked) assert.equal(byMac.get(m), ip, `lease of ${m} (${ip}) survived`);

    // Everyone (the first 180 again, whose ACK may have been lost, and 60 new clients: the whole range) asks now.
    const all = await dora([...first, ...Array.from({ length: 60 }, (_, i) => 1000 + i)], 20_000);
    assert.equal(all.size, 240);
    for (const [m, ip] of acked) assert.equal(all.get(m), ip, `${m} keeps ${ip}`);
    assert.equal(new Set(all.values()).size, 240, 'no address handed to two MACs');
    const after = await server.leases();
    assert.equal(after.length, 240);
    assert.equal(new Set(after.map((l) => l.ip)).size, 240);
  });
});
