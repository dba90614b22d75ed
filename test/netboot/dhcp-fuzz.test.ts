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
import { makeLan, metricSum, serverOptions, startRunner, udpPeer, type Lan, type Runner } from './dhcp-lab.js';
import { fuzzPackets } from './fuzz.js';

const skip = netnsUnavailable() ?? (!which('udhcpc') && !which('busybox') ? 'busybox udhcpc is not installed' : undefined);
const COUNT = Number(process.env.HEARTH_FUZZ_COUNT ?? 100_000);
const SEED = Number(process.env.HEARTH_FUZZ_SEED ?? 20261124);

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
