/**
 * DHCP codec, boot-file choice and the full-mode state machine, in process (no network):
 * the handler runs against a MemoryLeaseStore and crafted packets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, isDecodeError } from '../../src/netboot/dhcp/packet.js';
import { Opt, MessageType, clientUuid, userClasses, ipToNum, macText, numToIp } from '../../src/netboot/dhcp/options.js';
import { chooseBoot, classify, CHAIN_MARKER } from '../../src/netboot/dhcp/boot.js';
import { FullHandler } from '../../src/netboot/dhcp/full/handler.js';
import { ProxyHandler } from '../../src/netboot/dhcp/proxy/handler.js';
import { MemoryLeaseStore } from '../../src/netboot/dhcp/leases/store.js';
import type { BootEvent } from '../../src/netboot/events.js';
import { clientPacket, decodeOk as dec, dhcpRequest as req, fullConfig, pxeOptions, replyPacket as reply } from './dhcp-lab.js';


describe('DHCP packet codec', () => {
  test('round-trips header fields and options', () => {
    const buf = clientPacket({ type: 'REQUEST', mac: '52:54:00:12:34:56', xid: 0xdeadbeef, requestedIp: '192.0.2.5', serverId: '192.0.2.1', options: pxeOptions(7) });
    assert.ok(buf.length >= 300);
    const p = dec(buf);
    assert.equal(p.op, 1);
    assert.equal(p.xid, 0xdeadbeef);
    assert.equal(p.flags, 0x8000);
    assert.equal(p.options.get(Opt.MESSAGE_TYPE)![0], MessageType.REQUEST);
    assert.equal(numToIp(p.options.get(Opt.REQUESTED_IP)!.readUInt32BE(0)), '192.0.2.5');
    assert.equal(p.options.get(Opt.VENDOR_CLASS)!.toString(), 'PXEClient:Arch:00007:UNDI:002001');
  });

  test('splits options longer than 255 bytes and joins them again (RFC 3396)', () => {
    const long = Buffer.alloc(600, 0x41);
    const buf = encode({ op: 2, xid: 1, chaddr: Buffer.alloc(16), options: [[Opt.MESSAGE_TYPE, Buffer.from([2])], [224, long]] }, 1500);
    const p = dec(buf);
    assert.deepEqual(p.options.get(224), long);
  });

  test('uses the file and sname fields (option overload) when the client maximum is small', () => {
    const options: [number, Buffer][] = [[Opt.MESSAGE_TYPE, Buffer.from([5])]];
    for (let code = 200; code < 208; code++) options.push([code, Buffer.alloc(60, code)]);
    const buf = encode({ op: 2, xid: 1, chaddr: Buffer.alloc(16), options }, 576);
    assert.ok(buf.length <= 576, `fits 576 bytes (${buf.length})`);
    const p = dec(buf);
    assert.ok(p.options.has(Opt.OVERLOAD));
    for (let code = 200; code < 208; code++) assert.deepEqual(p.options.get(code), Buffer.alloc(60, code), `option ${code}`);
    assert.equal(p.file, '');
  });

  test('reads overloaded requests: options in file then sname', () => {
    const buf = clientPacket({ type: 'DISCOVER', mac: '52:54:00:00:00:09' });
    const b = Buffer.from(buf);
    // Move nothing but add an overload option pointing at a file field holding option 12.
    const fileOpts = Buffer.from([12, 3, 0x61, 0x62, 0x63, 255]);
    fileOpts.copy(b, 108);
    const end = b.indexOf(255, 240);
    Buffer.from([52, 1, 1, 255]).copy(b, end);
    const p = dec(b);
    assert.equal(p.options.get(Opt.HOSTNAME)!.toString(), 'abc');
    assert.equal(p.file, '');
  });

  test('rejects malformed input with a reason and never throws', () => {
    const good = clientPacket({ type: 'DISCOVER', mac: '52:54:00:00:00:01' });
    const cases: [string, Buffer][] = [
      ['too-short', good.subarray(0, 239)],
      ['bad-op', Buffer.concat([Buffer.from([3]), good.subarray(1)])],
      ['bad-hlen', (() => { const b = Buffer.from(good); b[2] = 17; return b; })()],
      ['bad-magic', (() => { const b = Buffer.from(good); b[236] = 0; return b; })()],
      ['truncated-option', Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 1, 61, 40, 1, 2])])],
      ['bad-overload', Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 1, 52, 1, 9, 255])])],
      ['overload-missing-end', (() => { const b = Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 1, 52, 1, 1, 255])]); b.fill(0, 108, 236); b[108] = 12; b[109] = 1; b[110] = 0x61; return b; })()],
    ];
    for (const [reason, buf] of cases) {
      const p = decode(buf);
      assert.ok(isDecodeError(p), reason);
      assert.equal(p.error, reason);
    }
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.from(good);
      for (let k = 0; k < 8; k++) b[240 + Math.floor(Math.random() * (b.length - 240))] = Math.floor(Math.random() * 256);
      decode(b.subarray(0, 240 + Math.floor(Math.random() * (b.length - 240))));
    }
  });

  test('user class: RFC 3004 list and plain string; UUID in SMBIOS text form', () => {
    assert.ok(userClasses(Buffer.from('iPXE')).includes('iPXE'));
    assert.ok(userClasses(Buffer.from([4, 0x69, 0x50, 0x58, 0x45])).includes('iPXE'));
    const uuid = Buffer.concat([Buffer.from([0]), Buffer.from('33221100554477668899aabbccddeeff', 'hex')]);
    assert.equal(clientUuid(uuid), '00112233-4455-6677-8899-aabbccddeeff');
    assert.equal(clientUuid(Buffer.from([1, 2])), undefined);
  });
});

test('macText: lower-case colon hex of the first hlen bytes of chaddr', () => {
  const chaddr = Buffer.from([0x00, 0x0c, 0xab, 0xf0, 0x9f, 0xff, 0x10, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(macText(chaddr), '00:0c:ab:f0:9f:ff');
  assert.equal(macText(chaddr, 6), '00:0c:ab:f0:9f:ff');
  assert.equal(macText(chaddr, 8), '00:0c:ab:f0:9f:ff:10:01');
  assert.equal(macText(chaddr, 1), '00');
  assert.equal(macText(chaddr, 0), '');
  // Every byte value, against the obvious formatting.
  for (let b = 0; b < 256; b++) assert.equal(macText(Buffer.from([b, 255 - b, b, 0, 1, 2])), [b, 255 - b, b, 0, 1, 2].map((x) => x.toString(16).padStart(2, '0')).join(':'));
});

describe('boot file choice', () => {
  const cfg = { httpBase: 'http://192.0.2.1:8080', chainload: false };
  const opts = (o: [number, Buffer][]) => new Map(o);
  test('BIOS PXE → undionly.kpxe over TFTP', () => {
    assert.deepEqual(chooseBoot(classify(opts(pxeOptions(0))), cfg), { file: 'undionly.kpxe', tftp: true, markChain: false });
  });
  test('UEFI x64 (7 and 9) → snponly.efi; arm64 (11) → snponly-arm64.efi', () => {
    assert.equal((chooseBoot(classify(opts(pxeOptions(7))), cfg) as { file: string }).file, 'snponly.efi');
    assert.equal((chooseBoot(classify(opts(pxeOptions(9))), cfg) as { file: string }).file, 'snponly.efi');
    assert.equal((chooseBoot(classify(opts(pxeOptions(11))), cfg) as { file: string }).file, 'snponly-arm64.efi');
  });
  test('UEFI HTTP boot → URL of the EFI binary and HTTPClient echoed', () => {
    assert.deepEqual(chooseBoot(classify(opts(pxeOptions(16, { http: true }))), cfg), {
      file: 'http://192.0.2.1:8080/snponly.efi',
      tftp: false,
      vendorClass: 'HTTPClient',
      markChain: false,
    });
    assert.equal((chooseBoot(classify(opts(pxeOptions(19, { http: true }))), cfg) as { file: string }).file, 'http://192.0.2.1:8080/snponly-arm64.efi');
  });
  test('iPXE → boot.ipxe; with chainload the ROM first gets our binary and the marker', () => {
    const ipxe = classify(opts(pxeOptions(0, { ipxe: true })));
    assert.equal((chooseBoot(ipxe, cfg) as { file: string }).file, 'http://192.0.2.1:8080/boot.ipxe');
    assert.deepEqual(chooseBoot(ipxe, { ...cfg, chainload: true }), { file: 'undionly.kpxe', tftp: true, markChain: true });
    const chained = classify(opts(pxeOptions(0, { ipxe: true, userClass: CHAIN_MARKER })));
    assert.equal((chooseBoot(chained, { ...cfg, chainload: true }) as { file: string }).file, 'http://192.0.2.1:8080/boot.ipxe');
    // user class "iPXE" alone (no option 175) is iPXE too
    const byClass = classify(opts([[Opt.USER_CLASS, Buffer.from('iPXE')]]));
    assert.ok(byClass.ipxe);
  });
  test('a plain DHCP client gets no boot file', () => {
    assert.ok('none' in chooseBoot(classify(opts([[Opt.VENDOR_CLASS, Buffer.from('udhcp 1.35.0')]])), cfg));
  });
});


describe('full mode state machine (RFC 2131 §4.3)', () => {
  function handler(range = { first: '192.0.2.100', last: '192.0.2.102' }) {
    const events: BootEvent[] = [];
    const h = new FullHandler(
      fullConfig({
        range: { first: ipToNum(range.first), last: ipToNum(range.last) },
        router: ipToNum('192.0.2.1'),
        dns: [ipToNum('192.0.2.1')],
        leaseTimeSec: 3600,
        reservations: new Map([['52:54:00:00:00:0b', { ip: ipToNum('192.0.2.11'), hostname: 'cp1' }]]),
      }),
      new MemoryLeaseStore(),
      { emit: (e) => events.push(e) },
    );
    return { h, events };
  }
  const mac = (n: number) => `52:54:00:00:01:${n.toString(16).padStart(2, '0')}`;

  test('DORA, fixed address with hostname and boot info for PXE', async () => {
    const { h, events } = handler();
    const offer = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: '52:54:00:00:00:0b', options: pxeOptions(0) }))));
    assert.equal(offer.options.get(Opt.MESSAGE_TYPE)![0], MessageType.OFFER);
    assert.equal(numToIp(offer.yiaddr), '192.0.2.11');
    assert.equal(offer.options.get(Opt.HOSTNAME)!.toString(), 'cp1');
    assert.equal(offer.file, 'undionly.kpxe');
    assert.equal(numToIp(offer.siaddr), '192.0.2.1');
    const ack = reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac: '52:54:00:00:00:0b', requestedIp: '192.0.2.11', serverId: '192.0.2.1', options: pxeOptions(0) }))));
    assert.equal(ack.options.get(Opt.MESSAGE_TYPE)![0], MessageType.ACK);
    assert.equal(ack.options.get(Opt.LEASE_TIME)!.readUInt32BE(0), 3600);
    assert.equal(ack.options.get(Opt.RENEWAL_TIME)!.readUInt32BE(0), 1800);
    assert.deepEqual(events.map((e) => e.kind), ['dhcp-discover', 'dhcp-offer', 'dhcp-request', 'dhcp-ack']);
    assert.equal(events[1]!.arch, 'bios');
    assert.equal(events[1]!.detail, 'undionly.kpxe');
  });

  test('an address is never given to two MACs; the pool runs dry cleanly; DECLINE rests the address', async () => {
    const { h } = handler();
    const got = new Map<string, string>();
    for (let i = 1; i <= 3; i++) {
      const offer = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(i) }))));
      const ip = numToIp(offer.yiaddr);
      const ack = reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(i), requestedIp: ip, serverId: '192.0.2.1' }))));
      assert.equal(ack.options.get(Opt.MESSAGE_TYPE)![0], MessageType.ACK);
      got.set(mac(i), ip);
    }
    assert.equal(new Set(got.values()).size, 3);
    assert.deepEqual(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(4) }))), { drop: 'pool-exhausted' });
    // mac 4 asks for mac 1's address: NAK.
    const nak = reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(4), requestedIp: got.get(mac(1)), serverId: '192.0.2.1' }))));
    assert.equal(nak.options.get(Opt.MESSAGE_TYPE)![0], MessageType.NAK);
    // mac 2 declines: its address rests, nobody gets it.
    assert.deepEqual(await h.handle(req(clientPacket({ type: 'DECLINE', mac: mac(2), requestedIp: got.get(mac(2)), serverId: '192.0.2.1' }))), {});
    assert.deepEqual(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(4) }))), { drop: 'pool-exhausted' });
    // mac 3 releases: mac 4 can get that one.
    assert.deepEqual(await h.handle(req(clientPacket({ type: 'RELEASE', mac: mac(3), ciaddr: ipToNum(got.get(mac(3))!), serverId: '192.0.2.1' }))), {});
    const offer = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(4) }))));
    assert.equal(numToIp(offer.yiaddr), got.get(mac(3)));
  });

  test('INIT-REBOOT: ACK own address, NAK a wrong one, silence without a record', async () => {
    const { h } = handler();
    const offer = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(1) }))));
    const ip = numToIp(offer.yiaddr);
    reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(1), requestedIp: ip, serverId: '192.0.2.1' }))));
    const ack = reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(1), requestedIp: ip }))));
    assert.equal(ack.options.get(Opt.MESSAGE_TYPE)![0], MessageType.ACK);
    const nak = reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(1), requestedIp: '192.0.2.102' }))));
    assert.equal(nak.options.get(Opt.MESSAGE_TYPE)![0], MessageType.NAK);
    const wrongNet = reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(2), requestedIp: '198.51.100.7' }))));
    assert.equal(wrongNet.options.get(Opt.MESSAGE_TYPE)![0], MessageType.NAK);
    assert.deepEqual(await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(2), requestedIp: '192.0.2.101' }))), { drop: 'unknown-client' });
    // SELECTING with another server's id: silently drop our offer.
    assert.deepEqual(await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(3), requestedIp: '192.0.2.101', serverId: '192.0.2.2' }))), { drop: 'other-server' });
  });

  test('RENEWING: unicast ACK to ciaddr; INFORM: ACK without lease time', async () => {
    const { h } = handler();
    const offer = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(1) }))));
    const ip = numToIp(offer.yiaddr);
    reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(1), requestedIp: ip, serverId: '192.0.2.1' }))));
    const o = await h.handle(req(clientPacket({ type: 'REQUEST', mac: mac(1), ciaddr: ipToNum(ip), flags: 0 }), { dstIp: '192.0.2.1', srcIp: ip }));
    assert.equal(o.reply?.ip, ip);
    assert.equal(reply(o).options.get(Opt.MESSAGE_TYPE)![0], MessageType.ACK);
    const inf = await h.handle(req(clientPacket({ type: 'INFORM', mac: mac(9), ciaddr: ipToNum('192.0.2.50'), flags: 0 }), { srcIp: '192.0.2.50' }));
    const ip2 = reply(inf);
    assert.equal(inf.reply?.ip, '192.0.2.50');
    assert.equal(ip2.yiaddr, 0);
    assert.ok(!ip2.options.has(Opt.LEASE_TIME));
  });

  test('chainload: iPXE ROM gets undionly.kpxe with the marker, the chained iPXE gets the script', async () => {
    const events: BootEvent[] = [];
    const h = new FullHandler(
      fullConfig({ boot: { httpBase: 'http://192.0.2.1:8080', tftpServer: '192.0.2.1', chainload: true } }),
      new MemoryLeaseStore(),
      { emit: (e) => events.push(e) },
    );
    const rom = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(1), options: pxeOptions(0, { ipxe: true }) }))));
    assert.equal(rom.file, 'undionly.kpxe');
    assert.equal(rom.options.get(Opt.USER_CLASS)!.toString(), CHAIN_MARKER);
    const chained = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac: mac(2), options: pxeOptions(0, { ipxe: true, userClass: CHAIN_MARKER }) }))));
    assert.equal(chained.file, 'http://192.0.2.1:8080/boot.ipxe');
    assert.ok(!chained.options.has(Opt.USER_CLASS));
  });
});

describe('proxy mode replies', () => {
  const h = new ProxyHandler({ serverIp: ipToNum('192.0.2.1'), netmask: ipToNum('255.255.255.0'), boot: { httpBase: 'http://192.0.2.1:8080', tftpServer: '192.0.2.1', chainload: false }, tftpServer: ipToNum('192.0.2.1') }, { emit: () => undefined });
  test('PXE DISCOVER → boot-only OFFER with PXEClient, option 43 discovery control and UUID echo', () => {
    const o = h.handle(req(clientPacket({ type: 'DISCOVER', mac: '52:54:00:00:02:01', options: pxeOptions(7) })));
    const p = reply(o);
    assert.equal(p.yiaddr, 0);
    assert.equal(p.file, 'snponly.efi');
    assert.equal(p.options.get(Opt.VENDOR_CLASS)!.toString(), 'PXEClient');
    assert.deepEqual([...p.options.get(Opt.VENDOR_SPECIFIC)!], [6, 1, 8, 255]);
    assert.equal(p.options.get(Opt.CLIENT_UUID)!.length, 17);
    assert.equal(o.reply!.ip, '255.255.255.255');
  });
  test('plain clients and REQUESTs for the site server are left alone', () => {
    assert.deepEqual(h.handle(req(clientPacket({ type: 'DISCOVER', mac: '52:54:00:00:02:02' }))), { drop: 'not-boot-client' });
    assert.deepEqual(h.handle(req(clientPacket({ type: 'REQUEST', mac: '52:54:00:00:02:02', serverId: '192.0.2.2', requestedIp: '192.0.2.50', options: pxeOptions(0) }))), { drop: 'not-for-us' });
  });
  test('port 4011 REQUEST → ACK unicast to the client, boot item echoed', () => {
    const opts = [...pxeOptions(0), [Opt.VENDOR_SPECIFIC, Buffer.from([71, 4, 0x80, 0x00, 0x00, 0x00, 255])] as [number, Buffer]];
    const o = h.handle(req(clientPacket({ type: 'REQUEST', mac: '52:54:00:00:02:03', ciaddr: ipToNum('192.0.2.60'), flags: 0, options: opts }), { localPort: 4011, srcIp: '192.0.2.60', srcPort: 68, dstIp: '192.0.2.1' }));
    const p = reply(o);
    assert.equal(p.options.get(Opt.MESSAGE_TYPE)![0], MessageType.ACK);
    assert.equal(o.reply!.ip, '192.0.2.60');
    assert.equal(p.file, 'undionly.kpxe');
    assert.deepEqual([...p.options.get(Opt.VENDOR_SPECIFIC)!], [6, 1, 8, 71, 4, 0x80, 0, 0, 0, 255]);
  });
});

describe('hot-path encoder', () => {
  test('encodeTransient produces the same bytes as encode', async () => {
    const { encodeTransient } = await import('../../src/netboot/dhcp/packet.js');
    const input = { op: 2, xid: 7, yiaddr: ipToNum('192.0.2.5'), chaddr: Buffer.alloc(16, 1), file: 'undionly.kpxe', options: [[Opt.MESSAGE_TYPE, Buffer.from([2])], [Opt.DNS, Buffer.alloc(8, 9)], [224, Buffer.alloc(300, 3)]] as [number, Buffer][] };
    assert.deepEqual(Buffer.from(encodeTransient(input, 1500)), encode(input, 1500));
    const big = { ...input, options: [...input.options, [225, Buffer.alloc(400, 4)]] as [number, Buffer][] };
    assert.deepEqual(Buffer.from(encodeTransient(big, 576)), encode(big, 576));
  });

  test('relayed request from our own link: reply to the relay on the server port', async () => {
    const h = new FullHandler(
      fullConfig(),
      new MemoryLeaseStore(),
      { emit: () => undefined },
    );
    const b = clientPacket({ type: 'DISCOVER', mac: '52:54:00:00:03:01' });
    b.writeUInt32BE(ipToNum('192.0.2.250'), 24);
    const o = await h.handle(req(b));
    assert.equal(o.reply?.ip, '192.0.2.250');
    assert.equal(o.reply?.port, 67);
    const foreign = clientPacket({ type: 'DISCOVER', mac: '52:54:00:00:03:02' });
    foreign.writeUInt32BE(ipToNum('198.51.100.1'), 24);
    assert.deepEqual(await h.handle(req(foreign)), { drop: 'relayed' });
  });
});

describe('found with QEMU iPXE ROMs', () => {
  const boot = { httpBase: 'http://192.0.2.1:8080', tftpServer: '192.0.2.1', chainload: true };
  test('proxy replies carry next-server also for HTTP URLs (iPXE needs siaddr + file to accept a ProxyDHCPACK)', () => {
    const h = new ProxyHandler({ serverIp: ipToNum('192.0.2.1'), netmask: ipToNum('255.255.255.0'), boot: { ...boot, chainload: false }, tftpServer: ipToNum('192.0.2.1') }, { emit: () => undefined });
    const o = h.handle(req(clientPacket({ type: 'REQUEST', mac: '52:54:00:00:04:01', ciaddr: ipToNum('192.0.2.60'), flags: 0x8000, options: pxeOptions(0, { ipxe: true }) }), { localPort: 4011, srcIp: '192.0.2.60' }));
    const p = reply(o);
    assert.equal(p.file, 'http://192.0.2.1:8080/boot.ipxe');
    assert.equal(numToIp(p.siaddr), '192.0.2.1');
  });
  test("chainload: the ROM's retransmitted DISCOVER and its REQUEST (same xid) still get the binary; a new session gets the script", async () => {
    const h = new FullHandler(
      fullConfig({ boot }),
      new MemoryLeaseStore(),
      { emit: () => undefined },
    );
    const mac = '52:54:00:00:04:02';
    const efi = pxeOptions(7, { ipxe: true }); // UEFI iPXE: the marker does not survive the chain
    const first = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac, xid: 1, options: efi }))));
    assert.equal(first.file, 'snponly.efi');
    const again = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac, xid: 1, options: efi }))));
    assert.equal(again.file, 'snponly.efi');
    const ack = reply(await h.handle(req(clientPacket({ type: 'REQUEST', mac, xid: 1, requestedIp: numToIp(first.yiaddr), serverId: '192.0.2.1', options: efi }))));
    assert.equal(ack.file, 'snponly.efi');
    const chained = reply(await h.handle(req(clientPacket({ type: 'DISCOVER', mac, xid: 2, options: efi }))));
    assert.equal(chained.file, 'http://192.0.2.1:8080/boot.ipxe');
  });
});
