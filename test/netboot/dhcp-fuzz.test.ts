/**
 * Fuzzing the receive path: 100,000 random and mutated DHCP packets (seeded, so a failure can be
 * replayed) sent from a client namespace to the running server. Every one of them is malformed or
 * not to be answered by construction; the server must survive, count each as received and as
 * dropped (with a reason) in its Prometheus metrics, answer none, and then still serve a real
 * client (udhcpc).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable, which } from '../helpers/netns.js';
import { clientPacket, makeLan, metricSum, pxeOptions, serverOptions, startRunner, udpPeer, type Lan, type Runner } from './dhcp-lab.js';
import { encode, type OptionList } from '../../src/netboot/dhcp/packet.js';
import { Opt } from '../../src/netboot/dhcp/options.js';
import { mulberry32 } from '../helpers/prng.js';

const skip = netnsUnavailable() ?? (!which('udhcpc') && !which('busybox') ? 'busybox udhcpc is not installed' : undefined);
const COUNT = Number(process.env.HEARTH_FUZZ_COUNT ?? 100_000);
const SEED = Number(process.env.HEARTH_FUZZ_SEED ?? 20261124);

const rng = mulberry32;

/** Packets that are each malformed or must be ignored, by construction. */
export function fuzzPackets(count: number, seed: number): Buffer[] {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const mac = () => `52:54:00:${[int(256), int(256), int(256)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  const templates = () => {
    const m = mac();
    const all = [
      clientPacket({ type: 'DISCOVER', mac: m, xid: int(2 ** 32) }),
      clientPacket({ type: 'DISCOVER', mac: m, xid: int(2 ** 32), options: pxeOptions([0, 7, 9, 11, 16][int(5)]!, { ipxe: r() < 0.5 }) }),
      clientPacket({ type: 'REQUEST', mac: m, requestedIp: '192.0.2.1' + String(int(100)).padStart(2, '0'), serverId: '192.0.2.1' }),
      clientPacket({ type: 'INFORM', mac: m, ciaddr: 0xc0000232 }),
    ];
    return Buffer.from(all[int(all.length)]!);
  };
  const withOptions = (options: OptionList) => {
    const chaddr = Buffer.alloc(16);
    chaddr.set([0x52, 0x54, 0, int(256), int(256), int(256)]);
    return encode({ op: 1, xid: int(2 ** 32), chaddr, options }, 1500);
  };
  const mutations: ((b: Buffer) => Buffer)[] = [
    (b) => ((b[0] = [0, 2, 3, 255][int(4)]!), b), // not a BOOTREQUEST
    (b) => {
      const i = 236 + int(4);
      b[i] = b[i]! ^ (1 + int(255));
      return b;
    }, // magic cookie
    (b) => ((b[2] = 17 + int(239)), b), // hlen
    (b) => ((b[1] = 2 + int(254)), b), // htype not Ethernet
    (b) => b.subarray(0, int(240)), // shorter than the fixed header
    (b) => {
      // an option running past the end of the datagram
      const end = b.indexOf(255, 240);
      const cut = Buffer.from(b.subarray(0, end + 3));
      cut[end] = 1 + int(250);
      cut[end + 1] = 3 + int(250);
      return cut;
    },
    () => withOptions([[Opt.HOSTNAME, Buffer.from('bootp')], [Opt.PARAM_REQUEST_LIST, Buffer.from([1, 3])]]), // no message type (BOOTP)
    () => withOptions([[Opt.MESSAGE_TYPE, Buffer.from([[0, 9, 10, 13, 200, 255][int(6)]!])]]), // unknown message type
    () => withOptions([[Opt.MESSAGE_TYPE, Buffer.from([1, 1])]]), // message type of the wrong length
    () => withOptions([[Opt.MESSAGE_TYPE, Buffer.from([1])], [Opt.OVERLOAD, Buffer.from([4 + int(252)])]]), // bad overload
    () => {
      const b = withOptions([[Opt.MESSAGE_TYPE, Buffer.from([1])], [Opt.OVERLOAD, Buffer.from([1 + int(3)])]]);
      b.fill(int(2) ? 1 : 0, 44, 236); // overloaded fields without END
      b[44] = b[108] = 200;
      b[45] = b[109] = 250; // and an option longer than the field
      return b;
    },
    (b) => ((b[28] = b[28]! | 1), b), // multicast client MAC
    (b) => (b.fill(0, 28, 34), b), // zero client MAC
    (b) => (b.writeUInt32BE(0xc6336401, 24), b), // relayed from another subnet (198.51.100.1)
    () => clientPacket({ type: 'REQUEST', mac: mac(), requestedIp: '192.0.2.120', serverId: '192.0.2.2' }), // for another server
    () => clientPacket({ type: ['OFFER', 'ACK', 'NAK'][int(3)] as 'OFFER', mac: mac() }), // server messages
    () => clientPacket({ type: 'RELEASE', mac: mac(), ciaddr: 0xc0000264, serverId: '192.0.2.1' }), // no such lease
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (r() < 0.4) {
      // Random bytes; a valid magic cookie at 236 has odds of 2^-32, and we make sure it is not.
      const b = Buffer.alloc(int(700));
      for (let k = 0; k < b.length; k++) b[k] = int(256);
      if (b.length >= 240 && b.readUInt32BE(236) === 0x63825363) b[236] = 0;
      out.push(b);
      continue;
    }
    const b = mutations[int(mutations.length)]!(templates());
    // Noise in fields the server does not validate (xid, secs, flags, addresses).
    for (let k = int(4); k > 0 && b.length > 28; k--) b[4 + int(20)] = int(256);
    out.push(b);
  }
  return out;
}

describe('DHCP fuzzing', { skip, timeout: 240_000 }, () => {
  const lab = new NetnsLab('dfuz');
  let lan: Lan;
  let server: Runner;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-fuzz-'));
    lan = await makeLan(lab, ['52:54:00:ee:00:01', '52:54:00:ee:00:02']);
    await lan.clients[0]!.must(['ip', 'addr', 'add', '192.0.2.250/24', 'dev', 'c0']);
    server = await startRunner(lan.srv, serverOptions(path.join(dir, 'state'), { quietEvents: true }));
  });

  after(async () => {
    await server?.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test(`${COUNT} random and mutated packets: no crash, each counted as dropped, a real client still served`, async (t) => {
    const packets = fuzzPackets(COUNT, SEED);
    const file = path.join(dir, 'packets.bin');
    const parts: Buffer[] = [];
    for (const p of packets) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(p.length);
      parts.push(len, p);
    }
    await writeFile(file, Buffer.concat(parts));
    const peer = await udpPeer(lan.clients[0]!, 6800, '192.0.2.250');
    const started = Date.now();
    const sent = await peer.sendFile(file, '192.0.2.1', 67, 200, 2);
    assert.equal(sent, COUNT, `all packets sent (${peer.errors.slice(0, 3).join('; ')})`);
    // Wait until the server has seen them all (bounded at 60 s for a loaded machine).
    let m = '';
    for (let i = 0; i < 600; i++) {
      m = await server.metrics();
      if (metricSum(m, 'hearth_dhcp_packets_received_total') >= COUNT) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.diagnostic(`sent ${COUNT} packets in ${Date.now() - started} ms`);
    await peer.close();
    assert.equal(server.proc.exitCode, null, `server alive; stderr: ${server.stderr()}`);
    assert.equal(metricSum(m, 'hearth_dhcp_packets_received_total'), COUNT, 'every packet reached the server and was counted');
    assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total'), COUNT, 'every packet counted as dropped');
    assert.equal(metricSum(m, 'hearth_dhcp_packets_sent_total'), 0, 'none answered');
    assert.equal(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="internal-error"'), 0, 'no internal errors');
    const reasons = m.split('\n').filter((l) => l.startsWith('hearth_dhcp_packets_dropped_total{')).map((l) => l.replace('hearth_dhcp_packets_dropped_total', ''));
    t.diagnostic(`drop reasons: ${reasons.join(', ')}`);
    for (const r of ['too-short', 'bad-magic', 'bad-op', 'not-a-request', 'not-ethernet', 'truncated-option', 'no-message-type', 'unknown-message-type', 'bad-message-type', 'bad-overload', 'relayed', 'other-server', 'bad-client-mac']) {
      assert.ok(metricSum(m, 'hearth_dhcp_packets_dropped_total', `reason="${r}"`) > 0, `reason ${r} seen`);
    }

    // A real client afterwards.
    const log = path.join(dir, 'udhcpc.log');
    const script = path.join(dir, 'udhcpc.sh');
    await writeFile(script, '#!/bin/sh\necho "$1 ip=$ip serverid=$serverid" >> "$LOG"\n');
    await chmod(script, 0o755);
    const cmd = which('udhcpc') ? ['udhcpc'] : ['busybox', 'udhcpc'];
    const r = await lan.clients[1]!.exec([...cmd, '-i', 'c0', '-n', '-q', '-f', '-s', script, '-t', '5', '-T', '1'], { timeoutMs: 20_000, env: { ...process.env, LOG: log } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(await readFile(log, 'utf8'), /bound ip=192\.0\.2\.1\d\d serverid=192\.0\.2\.1/);
  });
});
