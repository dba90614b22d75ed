/**
 * Fuzzing the TFTP server of the composed netboot server: 100,000 random and mutated packets
 * (bounded in count and time, loopback only). The server must not crash, must count every packet
 * it did not serve as dropped in /metrics, and must still serve a real client afterwards.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNetboot, type NetbootServer } from '../../src/netboot/index.js';
import { ackPacket, rrqPacket } from '../../src/netboot/tftp/packet.js';
import { run, which } from '../helpers/netns.js';
import { SPEC_YAML, makeTree, parseProm, specFrom, sum, type Tree } from './lib.js';
import { bytesOf, intOf, mutateTftp, rng, tftpTemplates } from './fuzz.js';
import { within, WAIT_MS } from '../helpers/within.js';

const TOTAL = 100_000;
const FOREIGN = 5_000; // of which sent to a live transfer's port from a wrong TID

describe('TFTP fuzzing', { timeout: 180_000 }, () => {
  let tree: Tree;
  let srv: NetbootServer;
  before(async () => {
    tree = makeTree();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-fuzz-'));
    const loaded = specFrom(SPEC_YAML().replace('kernel: vmlinuz', `assets: ${tree.assets}\n  ipxe: ${tree.ipxe}\n  kernel: vmlinuz`), dir);
    srv = await startNetboot(loaded, { interface: 'lo', address: '127.0.0.1', dhcpMode: 'off', httpPort: 0, tftpPort: 0, stateDir: path.join(dir, 'state') });
  });
  after(async () => {
    await srv.close();
    tree.cleanup();
  });

  const counted = async () => {
    const res = await fetch(`${srv.http.url}/metrics`);
    const s = parseProm(await res.text());
    return { dropped: sum(s, 'hearth_tftp_packets_dropped_total'), started: sum(s, 'hearth_tftp_transfers_total', 'result="started"'), samples: s };
  };

  it(`survives ${TOTAL} random and mutated packets, counting each as dropped`, async () => {
    const rnd = rng(0x4ea27);
    const tpl = tftpTemplates(rnd);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    sock.on('message', () => undefined); // error replies; ignored
    // A live transfer whose port gets packets from a foreign TID.
    const owner = dgram.createSocket('udp4');
    await new Promise<void>((r) => owner.bind(0, '127.0.0.1', r));
    const transferPort = await within(WAIT_MS, 'the first answer to a read request (the transfer port)', new Promise<number>((resolve) => {
      owner.once('message', (_m, r) => resolve(r.port));
      owner.send(rrqPacket('initramfs.xz', 'octet', { timeout: 60 }), srv.tftp.port, '127.0.0.1');
    }));
    const base = await counted();
    const started = Date.now();
    const deadline = started + 120_000;
    let sent = 0;
    // Small batches: a transfer socket has the default (small) receive buffer.
    const quick = async () => {
      const d = (await srv.metrics.tftpDropped.get()).values.reduce((a, v) => a + v.value, 0);
      const t = (await srv.metrics.tftpTransfers.get()).values.filter((v) => v.labels.result === 'started').reduce((a, v) => a + v.value, 0);
      return d - base.dropped + (t - base.started);
    };
    while (sent < TOTAL && Date.now() < deadline) {
      const batch: Promise<void>[] = [];
      const size = sent < FOREIGN ? 100 : 500;
      for (let i = 0; i < size && sent < TOTAL; i++, sent++) {
        const foreign = sent < FOREIGN;
        const pkt = rnd() < 0.3 ? bytesOf(rnd, intOf(rnd, 600)) : mutateTftp(tpl[intOf(rnd, tpl.length)]!, rnd);
        batch.push(new Promise((r) => sock.send(pkt, foreign ? transferPort : srv.tftp.port, '127.0.0.1', () => r())));
      }
      await Promise.all(batch);
      // Let the server drain its socket so the kernel never has to drop for us (bounded: 10 s per batch on a loaded machine).
      for (let spin = 0; spin < 5000 && (await quick()) < sent; spin++) await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(sent, TOTAL, `only ${sent} packets sent within the time bound`);
    const end = await counted();
    const accounted = end.dropped - base.dropped + (end.started - base.started);
    assert.equal(accounted, TOTAL, `every packet is either dropped (counted) or a transfer: ${accounted} of ${TOTAL}`);
    assert.ok(sum(end.samples, 'hearth_tftp_packets_dropped_total', 'reason="unknown-tid"') - sum(base.samples, 'hearth_tftp_packets_dropped_total', 'reason="unknown-tid"') >= FOREIGN);
    // The transfer the stranger packets hit is still alive: its owner can finish it.
    owner.send(ackPacket(0), transferPort, '127.0.0.1');
    sock.close();
    owner.send(Buffer.from([0, 5, 0, 0, 0]), transferPort, '127.0.0.1', () => owner.close());
  });

  it('still serves a real client afterwards', { skip: !which('curl') && 'curl is not installed' }, async () => {
    const dest = path.join(tree.dir, 'after-fuzz');
    const r = await run(['curl', '-sS', '--max-time', '30', '--tftp-blksize', '1468', '-o', dest, `tftp://127.0.0.1:${srv.tftp.port}/initramfs.xz`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(dest).equals(tree.files['initramfs.xz']!));
  });
});
