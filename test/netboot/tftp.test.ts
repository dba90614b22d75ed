/**
 * TFTP against real clients (curl, tftp-hpa, atftp) and a raw UDP peer for the protocol corners:
 * byte-identical files, options (blksize/tsize/timeout/windowsize), block-number wrap, writes
 * refused, traversal refused, retransmission and the sorcerer's apprentice. Loopback only.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync, existsSync, mkdtempSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTftp, type TftpServer } from '../../src/netboot/tftp/index.js';
import { nativeTransferSockets } from '../../src/netboot/tftp/socket.js';
import { ackPacket, rrqPacket } from '../../src/netboot/tftp/packet.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { run, which } from '../helpers/netns.js';
import { makeTree, parseProm, sum, type Tree } from './lib.js';

const HOST = '127.0.0.1';

/** A raw TFTP peer: send packets, collect what comes back (with the source port). */
class RawPeer {
  sock = dgram.createSocket('udp4');
  inbox: { msg: Buffer; port: number }[] = [];
  waiters: (() => void)[] = [];
  async open() {
    await new Promise<void>((r) => this.sock.bind(0, HOST, r));
    this.sock.on('message', (msg, r) => {
      this.inbox.push({ msg, port: r.port });
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  send(buf: Buffer, port: number) {
    this.sock.send(buf, port, HOST);
  }
  async next(timeoutMs = 3000): Promise<{ msg: Buffer; port: number } | undefined> {
    const end = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const left = end - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.inbox.shift();
  }
  close() {
    this.sock.close();
  }
}

// Transfer sockets from the native addon (when built) and from node:dgram: both must behave alike.
for (const nativeSockets of [true, false]) describe(`tftp server (${nativeSockets ? 'native' : 'dgram'} transfer sockets)`, () => {
  let tree: Tree;
  let srv: TftpServer;
  let metrics: ReturnType<typeof createMetrics>;
  let out: string;
  const url = (f: string) => `tftp://${HOST}:${srv.port}/${f}`;

  before(async () => {
    tree = makeTree({ 'wrap.bin': 8 * 70_000 + 3 });
    out = mkdtempSync(path.join(os.tmpdir(), 'hearth-tftp-out-'));
    metrics = createMetrics();
    const files = Object.fromEntries(['undionly.kpxe', 'ipxe.efi', 'snponly.efi'].map((b) => [b, path.join(tree.ipxe, b)]));
    srv = await startTftp({ address: HOST, port: 0, root: tree.assets, files, metrics, timeoutMs: 300, retries: 3, nativeSockets });
  });
  after(async () => {
    await srv.close();
    tree.cleanup();
  });

  const curlGet = async (file: string, extra: string[] = []) => {
    const dest = path.join(out, `curl-${Math.random().toString(36).slice(2)}`);
    const r = await run(['curl', '-sS', '--max-time', '60', ...extra, '-o', dest, url(file)]);
    return { ...r, data: existsSync(dest) ? readFileSync(dest) : undefined };
  };

  it('serves a file changed in place, resized or replaced, never a stale cached copy', { skip: !which('curl') && 'curl is not installed' }, async () => {
    const file = path.join(tree.assets, 'changing.bin');
    const versions = [
      () => writeFileSync(file, Buffer.alloc(3000, 1)),
      () => writeFileSync(file, Buffer.alloc(3000, 2)), // same size, new bytes
      () => writeFileSync(file, Buffer.alloc(5000, 3)), // resized
      () => {
        writeFileSync(`${file}.new`, Buffer.alloc(5000, 4));
        renameSync(`${file}.new`, file); // replaced by rename
      },
      () => {
        const st = statSync(file);
        writeFileSync(file, Buffer.alloc(5000, 5));
        utimesSync(file, st.atime, st.mtime); // same size, mtime set back
      },
    ];
    for (const write of versions) {
      write();
      const got = await curlGet('changing.bin');
      assert.equal(got.code, 0, got.stderr);
      assert.deepEqual(got.data, readFileSync(file));
    }
  });

  it('serves byte-identical files to curl with default and negotiated block sizes', { skip: !which('curl') && 'curl is not installed' }, async () => {
    for (const [file, blk] of [['vmlinuz', undefined], ['initramfs.xz', '1468'], ['initramfs.xz', '65464'], ['exact512', undefined], ['sub/nested.bin', '1024'], ['undionly.kpxe', undefined], ['snponly.efi', '1432']] as const) {
      const r = await curlGet(file, blk ? ['--tftp-blksize', blk] : []);
      assert.equal(r.code, 0, `${file} blksize ${blk}: ${r.stderr}`);
      assert.ok(r.data?.equals(tree.files[file]!), `${file} (blksize ${blk}) differs`);
    }
  });

  it('rolls block numbers over past 65535 (blksize 8, 70000 blocks)', { skip: !which('curl') && 'curl is not installed' }, async () => {
    const r = await curlGet('wrap.bin', ['--tftp-blksize', '8']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.data?.equals(tree.files['wrap.bin']!));
  });

  it('serves tftp-hpa in octet and netascii mode', { skip: !which('tftp') && 'tftp-hpa is not installed' }, async () => {
    const dest = path.join(out, 'hpa.bin');
    let r = await run(['tftp', '-m', 'binary', HOST, String(srv.port), '-c', 'get', 'initramfs.xz', dest]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(readFileSync(dest).equals(tree.files['initramfs.xz']!));
    const empty = path.join(out, 'hpa.empty');
    r = await run(['tftp', '-m', 'binary', HOST, String(srv.port), '-c', 'get', 'empty', empty]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(readFileSync(empty).length, 0);
    const txt = path.join(out, 'hpa.txt');
    r = await run(['tftp', '-m', 'ascii', HOST, String(srv.port), '-c', 'get', 'text.txt', txt]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(readFileSync(txt).equals(tree.files['text.txt']!), 'netascii round trip');
  });

  it('serves atftp with blksize, tsize and windowsize (RFC 7440)', { skip: !which('atftp') && 'atftp is not installed' }, async () => {
    for (const opts of [[], ['--option', 'blksize 1428', '--option', 'tsize 0'], ['--option', 'blksize 1024', '--option', 'windowsize 16'], ['--option', 'windowsize 64', '--option', 'timeout 2']]) {
      const dest = path.join(out, `atftp-${Math.random().toString(36).slice(2)}`);
      const r = await run(['atftp', ...opts, '--get', '-r', 'initramfs.xz', '-l', dest, HOST, String(srv.port)]);
      assert.equal(r.code, 0, `${opts.join(' ')}: ${r.stderr}${r.stdout}`);
      assert.ok(readFileSync(dest).equals(tree.files['initramfs.xz']!), `atftp ${opts.join(' ')}`);
    }
  });

  it('refuses writes (WRQ) with an error packet', { skip: !which('tftp') && 'tftp-hpa is not installed' }, async () => {
    const before = sum(parseProm(await metrics.registry.metrics()), 'hearth_tftp_packets_dropped_total', 'write-refused');
    const r = await run(['tftp', '-m', 'binary', HOST, String(srv.port), '-c', 'put', path.join(tree.assets, 'vmlinuz'), 'uploaded']);
    assert.match(r.stdout + r.stderr, /read-only/);
    assert.equal(existsSync(path.join(tree.assets, 'uploaded')), false);
    if (which('curl')) {
      const c = await run(['curl', '-sS', '--max-time', '10', '-T', path.join(tree.assets, 'vmlinuz'), url('up2')]);
      assert.notEqual(c.code, 0);
    }
    const afterCount = sum(parseProm(await metrics.registry.metrics()), 'hearth_tftp_packets_dropped_total', 'write-refused');
    assert.ok(afterCount >= before + 1);
  });

  it('refuses traversal: "..", absolute paths, and symlinks leading out', { skip: !which('tftp') && 'tftp-hpa is not installed' }, async () => {
    for (const name of ['../secret.txt', 'sub/../../secret.txt', '/etc/passwd', path.join(tree.dir, 'secret.txt'), 'escape', '..\\secret.txt']) {
      const dest = path.join(out, `trav-${Math.random().toString(36).slice(2)}`);
      const r = await run(['tftp', '-m', 'binary', HOST, String(srv.port), '-c', 'get', name, dest]);
      assert.match(r.stdout + r.stderr, /Error code 2: (access violation|absolute paths are not served)/, `${name}: ${r.stdout}${r.stderr}`);
      assert.ok(!existsSync(dest) || readFileSync(dest).length === 0, `${name} leaked`);
    }
    // A symlink that stays inside the root is fine.
    const ok = path.join(out, 'inside');
    const r = await run(['tftp', '-m', 'binary', HOST, String(srv.port), '-c', 'get', 'inside-link', ok]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(readFileSync(ok).equals(tree.files['vmlinuz']!));
  });

  it('serves 32 concurrent clients, each from its own port', { skip: !which('curl') && 'curl is not installed' }, async () => {
    const results = await Promise.all(Array.from({ length: 32 }, (_, i) => curlGet(i % 2 ? 'initramfs.xz' : 'vmlinuz', ['--tftp-blksize', '1468'])));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.data?.equals(tree.files[i % 2 ? 'initramfs.xz' : 'vmlinuz']!));
    });
  });

  it('answers from a new port per transfer, retransmits on timeout, ignores duplicate ACKs', async () => {
    const p = new RawPeer();
    await p.open();
    const dupsBefore = sum(parseProm(await metrics.registry.metrics()), 'hearth_tftp_packets_dropped_total', 'reason="duplicate-ack"');
    try {
      p.send(rrqPacket('vmlinuz', 'octet'), srv.port);
      const b1 = await p.next();
      assert.ok(b1);
      assert.notEqual(b1.port, srv.port, 'data must come from an ephemeral port');
      assert.equal(b1.msg.readUInt16BE(0), 3);
      assert.equal(b1.msg.readUInt16BE(2), 1);
      assert.equal(b1.msg.length, 4 + 512);
      // No ACK: the server retransmits block 1 after its timeout (300 ms here).
      const again = await p.next(2000);
      assert.ok(again, 'no retransmission');
      assert.equal(again.msg.readUInt16BE(2), 1);
      while (await p.next(50)); // drain further retransmissions
      p.send(ackPacket(1), b1.port);
      const b2 = await p.next();
      assert.equal(b2?.msg.readUInt16BE(2), 2);
      // A duplicate ACK 1 must not make the server send block 2 again (sorcerer's apprentice).
      p.send(ackPacket(1), b1.port);
      const dup = await p.next(200);
      assert.equal(dup, undefined, 'duplicate ACK triggered a retransmission');
      // A packet from another port (wrong TID) does not disturb the transfer. Through node:dgram
      // it gets error 5; a native transfer with a thread of its own has its socket connected to
      // the client (as tftpd-hpa's), and the kernel turns the stranger away instead.
      const stranger = new RawPeer();
      await stranger.open();
      stranger.send(ackPacket(2), b1.port);
      const e5 = await stranger.next(nativeSockets && nativeTransferSockets() ? 300 : undefined);
      stranger.close();
      if (nativeSockets && nativeTransferSockets()) assert.equal(e5, undefined, 'nothing from a connected transfer socket');
      else {
        assert.equal(e5?.msg.readUInt16BE(0), 5);
        assert.equal(e5?.msg.readUInt16BE(2), 5);
      }
      while (await p.next(50)); // block 2 again, if the wait above outlasted the timeout
      p.send(ackPacket(2), b1.port);
      assert.equal((await p.next())?.msg.readUInt16BE(2), 3);
      p.send(Buffer.from([0, 5, 0, 0, 0]), b1.port); // client gives up
      // The duplicate was counted (by the time the transfer ended, wherever the ACK was handled).
      const dups = async () => sum(parseProm(await metrics.registry.metrics()), 'hearth_tftp_packets_dropped_total', 'reason="duplicate-ack"');
      for (let i = 0; i < 500 && (await dups()) < dupsBefore + 1; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal((await dups()) - dupsBefore, 1, 'one duplicate ACK counted');
    } finally {
      p.close();
    }
  });

  it('answers an ACK queued right behind the ACK of the OACK (no retransmission needed)', async () => {
    // A server whose retransmission timer is far away: block 2 must come from the ACK of block 1.
    const slow = await startTftp({ address: HOST, port: 0, root: tree.assets, metrics: createMetrics(), timeoutMs: 60_000, retries: 1, nativeSockets });
    const p = new RawPeer();
    await p.open();
    try {
      p.send(rrqPacket('vmlinuz', 'octet', { blksize: 1024 }), slow.port);
      const oack = await p.next();
      assert.equal(oack?.msg.readUInt16BE(0), 6);
      // Both ACKs at once: the second reaches the transfer's socket while the first is handled.
      p.send(ackPacket(0), oack!.port);
      p.send(ackPacket(1), oack!.port);
      const got: number[] = [];
      for (let m = await p.next(10_000); m && got.length < 2; m = got.length < 2 ? await p.next(10_000) : undefined) got.push(m.msg.readUInt16BE(2));
      assert.deepEqual(got, [1, 2]);
      p.send(Buffer.from([0, 5, 0, 0, 0]), oack!.port);
    } finally {
      p.close();
      await slow.close();
    }
  });

  it('sends each block once in lock-step whether the client answers at once or after pauses', async () => {
    // The native engine stays awake for a quick client's next ACK and stops waiting for a slow
    // one: either way every ACK gets exactly the next block, and nothing is sent twice.
    const want = readFileSync(path.join(tree.assets, 'vmlinuz'));
    const p = new RawPeer();
    await p.open();
    try {
      p.send(rrqPacket('vmlinuz', 'octet', { blksize: 1400 }), srv.port);
      const oack = await p.next();
      assert.equal(oack?.msg.readUInt16BE(0), 6);
      const lastBlock = Math.floor(want.length / 1400) + 1;
      const got: Buffer[] = [];
      p.send(ackPacket(0), oack!.port);
      for (let b = 1; b <= lastBlock; b++) {
        const m = await p.next();
        assert.ok(m, `no block ${b}`);
        assert.equal(m.msg.readUInt16BE(0), 3);
        assert.equal(m.msg.readUInt16BE(2), b);
        got.push(m.msg.subarray(4));
        // Slow stretches (a few ms per ACK) between quick ones.
        if (b <= 8 || (b > 100 && b <= 108)) await new Promise((r) => setTimeout(r, 3));
        p.send(ackPacket(b), oack!.port);
      }
      assert.ok(Buffer.concat(got).equals(want), 'content differs');
      assert.equal(await p.next(100), undefined, 'a block was sent twice');
    } finally {
      p.close();
    }
  });

  it('negotiates options in an OACK and sends a whole window per ACK', async () => {
    const p = new RawPeer();
    await p.open();
    try {
      p.send(rrqPacket('initramfs.xz', 'octet', { blksize: 1000, tsize: 0, windowsize: 4, timeout: 3, unknownopt: 'x' }), srv.port);
      const oack = await p.next();
      assert.equal(oack?.msg.readUInt16BE(0), 6);
      const opts = oack!.msg.subarray(2).toString('latin1').split('\0');
      assert.deepEqual(opts.slice(0, -1), ['blksize', '1000', 'tsize', '1000003', 'windowsize', '4', 'timeout', '3']);
      p.send(ackPacket(0), oack!.port);
      const blocks = [];
      for (let i = 0; i < 4; i++) blocks.push((await p.next())!.msg);
      assert.deepEqual(blocks.map((b) => b.readUInt16BE(2)), [1, 2, 3, 4]);
      assert.ok(blocks.every((b) => b.length === 1004));
      assert.equal(await p.next(100), undefined, 'more than a window in flight');
      // ACK 2 (block 3 lost, say): the server goes on from block 3.
      p.send(ackPacket(2), oack!.port);
      assert.equal((await p.next())!.msg.readUInt16BE(2), 3);
      p.send(Buffer.from([0, 5, 0, 0, 0]), oack!.port);
    } finally {
      p.close();
    }
  });

  it('a client error 8 after the OACK (the UEFI tsize probe) ends the transfer quietly', async () => {
    const p = new RawPeer();
    await p.open();
    try {
      const beforeActive = srv.active();
      const results = async () => parseProm(await metrics.registry.metrics());
      const before = await results();
      p.send(rrqPacket('snponly.efi', 'octet', { tsize: 0 }), srv.port);
      const oack = await p.next();
      assert.equal(oack?.msg.readUInt16BE(0), 6);
      assert.equal(srv.active(), beforeActive + 1);
      p.send(Buffer.from([0, 5, 0, 8, ...Buffer.from('User aborted the transfer'), 0]), oack!.port);
      // The transfer ends when the server counts it; wait for that, not for a fixed time.
      let after = await results();
      for (let i = 0; i < 1000 && sum(after, 'hearth_tftp_transfers_total', 'aborted') === sum(before, 'hearth_tftp_transfers_total', 'aborted'); i++) {
        await new Promise((r) => setTimeout(r, 10));
        after = await results();
      }
      assert.equal(sum(after, 'hearth_tftp_transfers_total', 'aborted') - sum(before, 'hearth_tftp_transfers_total', 'aborted'), 1);
      assert.equal(srv.active(), beforeActive);
    } finally {
      p.close();
    }
  });
});
