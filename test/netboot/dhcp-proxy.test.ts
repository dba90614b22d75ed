/**
 * proxy mode beside a plain DHCP server (dnsmasq, address-only) that the test runs in its own
 * namespace on the same bridge: a PXE client (crafted packets from a socket in the client
 * namespace, as a PXE ROM sends them) gets its address from dnsmasq and its boot information from
 * hearth, on port 67 and on the PXE boot-server port 4011; a plain client (udhcpc) is left to dnsmasq.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable, which, type Netns } from '../helpers/netns.js';
import { clientPacket, makeLan, metricSum, pxeOptions, serverOptions, startRunner, udpPeer, waitFor, ipNum, type Lan, type Runner, type UdpPeer } from './dhcp-lab.js';
import { decode, isDecodeError, type DhcpPacket } from '../../src/netboot/dhcp/packet.js';
import { MessageType, Opt, numToIp } from '../../src/netboot/dhcp/options.js';

const skip = netnsUnavailable() ?? (!which('dnsmasq') ? 'dnsmasq (dnsmasq-base) is not installed' : undefined);

const PXE_MAC = '52:54:00:bb:00:01';
const PLAIN_MAC = '52:54:00:bb:00:02';

function parse(d: { data: Buffer } | undefined): DhcpPacket | undefined {
  if (!d) return undefined;
  const p = decode(d.data);
  return isDecodeError(p) ? undefined : p;
}
const typeOf = (p: DhcpPacket) => p.options.get(Opt.MESSAGE_TYPE)?.[0];
const serverId = (p: DhcpPacket) => numToIp(p.options.get(Opt.SERVER_ID)!.readUInt32BE(0));

describe('DHCP proxy mode beside dnsmasq', { skip, timeout: 120_000 }, () => {
  const lab = new NetnsLab('dprx');
  let lan: Lan;
  let site: Netns;
  let server: Runner;
  let peer: UdpPeer;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-proxy-'));
    lan = await makeLan(lab, [PXE_MAC, PLAIN_MAC]);
    site = await lab.ns('site');
    await lab.veth(lan.srv, 'ps', undefined, site, 's0', '192.0.2.2/24');
    await lab.attach(lan.srv, 'ps', 'br0');
    const dnsmasq = site.spawn(['dnsmasq', '--no-daemon', '--port=0', '--interface=s0', '--bind-interfaces', '--no-ping', '--dhcp-authoritative',
      '--dhcp-range=192.0.2.150,192.0.2.170,1h', `--dhcp-leasefile=${path.join(dir, 'dnsmasq.leases')}`, '--log-dhcp', `--pid-file=${path.join(dir, 'dnsmasq.pid')}`]);
    // --log-dhcp writes a paragraph per packet to stderr (--no-daemon): drained, so a full pipe can never stall it.
    dnsmasq.stdout?.resume();
    dnsmasq.stderr?.resume();
    server = await startRunner(lan.srv, serverOptions(path.join(dir, 'state'), { mode: 'proxy', range: undefined, reservations: [] }));
    // The PXE client has no address yet: it broadcasts from 0.0.0.0 like a ROM.
    await lan.clients[0]!.must(['ip', 'route', 'add', '255.255.255.255/32', 'dev', 'c0']);
    peer = await udpPeer(lan.clients[0]!, 68);
    // dnsmasq serves once it holds UDP port 67 in its namespace: wait for that, not for a fixed time.
    const listening = await waitFor(async () => ((await site.exec(['ss', '-Hlun', 'sport = :67'])).stdout.trim() ? true : undefined), 30_000);
    assert.ok(listening, 'dnsmasq listens on port 67');
  });

  after(async () => {
    await peer?.close();
    await server?.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('PXE client: address from dnsmasq, boot file from hearth (port 67 and 4011)', async () => {
    const xid = 0x5a5a0001;
    peer.send(clientPacket({ type: 'DISCOVER', mac: PXE_MAC, xid, options: pxeOptions(0) }), '255.255.255.255', 67);
    const offers: DhcpPacket[] = [];
    await waitFor(async () => {
      const p = parse(await peer.recv(() => true, 500));
      if (p && p.xid === xid && typeOf(p) === MessageType.OFFER) offers.push(p);
      return offers.length >= 2 ? true : undefined;
    }, 10_000);
    const site = offers.find((p) => serverId(p) === '192.0.2.2');
    const proxy = offers.find((p) => serverId(p) === '192.0.2.1');
    assert.ok(site, 'dnsmasq offered an address');
    assert.ok(proxy, `hearth answered the PXE DISCOVER; stderr: ${server.stderr()}`);
    assert.ok(numToIp(site.yiaddr).startsWith('192.0.2.1'), 'dnsmasq offer has an address');
    assert.equal(proxy.yiaddr, 0, 'proxy offer carries no address');
    assert.equal(proxy.file, 'undionly.kpxe');
    assert.equal(numToIp(proxy.siaddr), '192.0.2.1');
    assert.equal(proxy.options.get(Opt.VENDOR_CLASS)?.toString(), 'PXEClient');
    assert.deepEqual([...proxy.options.get(Opt.VENDOR_SPECIFIC)!], [6, 1, 8, 255]);
    assert.ok(!proxy.options.has(Opt.LEASE_TIME) && !proxy.options.has(Opt.SUBNET_MASK), 'no address information');

    // REQUEST for dnsmasq's offer: dnsmasq ACKs, hearth stays out of it.
    const ip = numToIp(site.yiaddr);
    peer.send(clientPacket({ type: 'REQUEST', mac: PXE_MAC, xid: xid + 1, requestedIp: ip, serverId: '192.0.2.2', options: pxeOptions(0) }), '255.255.255.255', 67);
    const ack = parse(await peer.recv((d) => { const p = parse(d); return p?.xid === xid + 1; }, 5000));
    assert.ok(ack && typeOf(ack) === MessageType.ACK && serverId(ack) === '192.0.2.2');

    // Configured, the ROM asks the boot server on port 4011 (unicast): hearth ACKs with the boot file.
    await lan.clients[0]!.must(['ip', 'addr', 'add', `${ip}/24`, 'dev', 'c0']);
    peer.send(clientPacket({ type: 'REQUEST', mac: PXE_MAC, xid: xid + 2, ciaddr: ipNum(ip), flags: 0, options: pxeOptions(0) }), '192.0.2.1', 4011);
    const bootAck = parse(await peer.recv((d) => parse(d)?.xid === xid + 2, 5000));
    assert.ok(bootAck, 'hearth answered on 4011');
    assert.equal(typeOf(bootAck), MessageType.ACK);
    assert.equal(bootAck.file, 'undionly.kpxe');
    assert.equal(bootAck.yiaddr, 0);
    await server.waitEvent((e) => e.kind === 'dhcp-ack' && e.mac === PXE_MAC && e.ip === ip);
    const m = await server.metrics();
    assert.ok(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="not-for-us"') >= 1, 'REQUEST to dnsmasq counted as not for us');
    assert.equal(metricSum(m, 'hearth_dhcp_packets_sent_total', 'type="offer"'), 1);
    assert.equal(metricSum(m, 'hearth_dhcp_packets_sent_total', 'type="ack"'), 1);
  });

  test('a plain client (udhcpc) gets its lease from dnsmasq; hearth ignores it', async () => {
    const log = path.join(dir, 'udhcpc.log');
    const script = path.join(dir, 'udhcpc.sh');
    await writeFile(script, '#!/bin/sh\necho "$1 ip=$ip serverid=$serverid boot_file=$boot_file" >> "$LOG"\n');
    await chmod(script, 0o755);
    const cmd = which('udhcpc') ? ['udhcpc'] : ['busybox', 'udhcpc'];
    const r = await lan.clients[1]!.exec([...cmd, '-i', 'c0', '-n', '-q', '-f', '-s', script, '-t', '5', '-T', '1'], { timeoutMs: 20_000, env: { ...process.env, LOG: log } });
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(log, 'utf8');
    assert.match(text, /bound ip=192\.0\.2\.1[5-7]\d serverid=192\.0\.2\.2 boot_file=$/m);
    const m = await server.metrics();
    assert.ok(metricSum(m, 'hearth_dhcp_packets_dropped_total', 'reason="not-boot-client"') >= 1);
    assert.ok(!server.events.some((e) => e.mac === PLAIN_MAC && e.kind === 'dhcp-offer'));
  });
});
