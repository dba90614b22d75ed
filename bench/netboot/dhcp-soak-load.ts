/**
 * The DHCP soak's client (bench/netboot/dhcp-soak.ts starts it inside the load namespace; not
 * meant to be run by hand). Job as JSON in argv[2]:
 *   { count, macs, window, timeoutMs, deadline, milestone, server }
 * Runs `count` exchanges, `window` at a time. Exchange i uses MAC number i % macs (locally
 * administered 02:…, so rotating client IDs) and xid i: DISCOVER (broadcast) → OFFER → REQUEST
 * (selecting) → ACK → RELEASE (unicast, no reply), the RELEASE giving the address back so a
 * 230-address pool serves a million clients. An exchange with no OFFER/ACK within `timeoutMs`, or
 * a NAK, counts as failed and its slot moves on. Prints `{"milestone":n}` once `milestone`
 * exchanges have completed, `{"progress":n}` every 50,000, and one `{"result":{...}}` at the end.
 * Bounded by `count` and by `deadline` (epoch ms).
 */
import dgram from 'node:dgram';
import { clientPacket } from '../../test/netboot/dhcp-lab.js';
import { decode, isDecodeError } from '../../src/netboot/dhcp/packet.js';
import { MessageType, Opt, numToIp } from '../../src/netboot/dhcp/options.js';

interface Job {
  count: number;
  macs: number;
  window: number;
  timeoutMs: number;
  deadline: number;
  milestone: number;
  server: string;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

function macOf(n: number): string {
  const b = [0x02, (n / 2 ** 32) & 255, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

interface Slot {
  i: number;
  mac: string;
  stage: 'offer' | 'ack';
  since: number;
}

async function main(): Promise<void> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(68, '0.0.0.0', () => resolve());
  });
  sock.setBroadcast(true);
  sock.setRecvBufferSize(4 << 20);
  const pending = new Map<number, Slot>(); // by xid
  let next = 0;
  let completed = 0;
  let failed = 0;
  let naks = 0;
  let sendErrors = 0;
  let replies = 0;
  let lateAcks = 0;
  let milestoneSent = false;
  const t0 = Date.now();
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));

  const send = (buf: Buffer, ip: string) =>
    sock.send(buf, 67, ip, (e) => {
      if (e) sendErrors++;
    });

  const start = () => {
    while (pending.size < job.window && next < job.count && Date.now() < job.deadline) {
      const i = next++;
      const xid = i >>> 0;
      const mac = macOf(i % job.macs);
      pending.set(xid, { i, mac, stage: 'offer', since: Date.now() });
      send(clientPacket({ type: 'DISCOVER', mac, xid }), '255.255.255.255');
    }
    if (pending.size === 0 && (next >= job.count || Date.now() >= job.deadline)) done();
  };

  const finish = (xid: number, ok: boolean) => {
    pending.delete(xid);
    if (ok) completed++;
    else failed++;
    if (ok && !milestoneSent && completed >= job.milestone) {
      milestoneSent = true;
      out({ milestone: completed });
    }
    if (ok && completed % 50_000 === 0) out({ progress: completed, failed, seconds: (Date.now() - t0) / 1000 });
  };

  sock.on('message', (m) => {
    const p = decode(m);
    if (isDecodeError(p) || p.op !== 2) return;
    const type = p.options.get(Opt.MESSAGE_TYPE)?.[0];
    const slot = pending.get(p.xid);
    if (!slot) {
      // A late ACK for an exchange given up: give the address back, so the pool does not drain.
      if (type === MessageType.ACK && p.xid < job.count) {
        lateAcks++;
        const mac = [...p.chaddr.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
        send(clientPacket({ type: 'RELEASE', mac, xid: (p.xid + 1) >>> 0, ciaddr: p.yiaddr, serverId: job.server, flags: 0 }), job.server);
      }
      return;
    }
    replies++;
    if (slot.stage === 'offer' && type === MessageType.OFFER) {
      slot.stage = 'ack';
      slot.since = Date.now();
      send(clientPacket({ type: 'REQUEST', mac: slot.mac, xid: p.xid, requestedIp: numToIp(p.yiaddr), serverId: job.server }), '255.255.255.255');
    } else if (slot.stage === 'ack' && type === MessageType.ACK) {
      send(clientPacket({ type: 'RELEASE', mac: slot.mac, xid: (p.xid + 1) >>> 0, ciaddr: p.yiaddr, serverId: job.server, flags: 0 }), job.server);
      finish(p.xid, true);
      start();
    } else if (type === MessageType.NAK) {
      naks++;
      finish(p.xid, false);
      start();
    }
  });

  // Exchanges with no answer in time are given up (bounded: each slot at most timeoutMs).
  const reaper = setInterval(() => {
    const now = Date.now();
    for (const [xid, s] of pending) if (now - s.since > job.timeoutMs) finish(xid, false);
    start();
  }, Math.max(100, job.timeoutMs / 4));
  start();
  await finished;
  clearInterval(reaper);
  sock.close();
  out({ result: { attempted: next, completed, failed, naks, sendErrors, replies, lateAcks, seconds: (Date.now() - t0) / 1000 } });
}

main().catch((e: unknown) => {
  out({ error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
