/**
 * hearth's DHCP with a real firmware client: QEMU's e1000 iPXE option ROM (BIOS, TCG) network-boots
 * against it, in namespaces the test creates.
 *   - proxy mode: dnsmasq (address-only, its own namespace on the bridge) gives the address,
 *     hearth the boot information (the ROM's ProxyDHCP request goes to port 4011);
 *   - full mode with chainload: the ROM gets undionly.kpxe over TFTP (dnsmasq as a TFTP-only
 *     server here), and the chained iPXE — recognised by the user class marker — gets boot.ipxe.
 * Success = the VM fetches http://192.0.2.1:8080/boot.ipxe from the right address. (The full boot to a kernel is the
 * netboot end-to-end test's job.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { NetnsLab, netnsUnavailable, which, type Netns } from '../helpers/netns.js';
import { serverOptions, startRunner, waitFor, type Runner } from './dhcp-lab.js';
import { CHAIN_MARKER } from '../../src/netboot/dhcp/boot.js';

const UNDIONLY = '/usr/lib/ipxe/undionly.kpxe';
const skip =
  netnsUnavailable() ??
  (!which('qemu-system-x86_64') ? 'qemu-system-x86 is not installed' : undefined) ??
  (!which('dnsmasq') ? 'dnsmasq (dnsmasq-base) is not installed' : undefined) ??
  (!existsSync(UNDIONLY) ? 'ipxe (undionly.kpxe) is not installed' : undefined);

const HTTP_SCRIPT = `
import http from 'node:http';
const s = http.createServer((req, res) => {
  process.stdout.write(JSON.stringify({ get: req.url, from: req.socket.remoteAddress }) + '\\n');
  res.end('#!ipxe\\necho hearth dhcp test\\nexit\\n');
});
s.listen(8080, '192.0.2.1');
`;

interface Boot {
  gets: { get: string; from: string }[];
}

async function lanWithTap(lab: NetnsLab): Promise<Netns> {
  const ns = await lab.ns('q');
  await lab.bridge(ns, 'br0', '192.0.2.1/24');
  await lab.tap(ns, 'tap0', 'br0');
  return ns;
}

function httpServer(ns: Netns): Boot {
  const proc = ns.spawn([process.execPath, '--input-type=module', '-e', HTTP_SCRIPT]);
  proc.stderr?.resume();
  const boot: Boot = { gets: [] };
  createInterface({ input: proc.stdout! }).on('line', (l) => boot.gets.push(JSON.parse(l) as { get: string; from: string }));
  return boot;
}

/** QEMU runs as the spawned PID itself (no wrapper), so cleanup's kill by PID ends the VM. */
function qemu(ns: Netns, mac: string): void {
  ns.spawn(['qemu-system-x86_64', '-m', '256', '-display', 'none', '-serial', 'none', '-monitor', 'none', '-no-reboot', '-boot', 'n',
    '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', `e1000,netdev=n0,mac=${mac}`], { stdio: 'ignore' });
}

describe('DHCP with QEMU iPXE ROMs', { skip, timeout: 240_000 }, () => {
  const lab = new NetnsLab('dqem');
  let dir: string;
  const runners: Runner[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-qemu-'));
  });

  after(async () => {
    for (const r of runners) await r.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // Both VMs boot at the same time (separate namespaces) to keep the suite short.
  test('proxy mode beside dnsmasq, and full mode with chainload, boot to boot.ipxe', async (t) => {
    // proxy
    const pns = await lanWithTap(lab);
    const site = await lab.ns('site');
    await lab.veth(pns, 'ps', undefined, site, 's0', '192.0.2.2/24');
    await lab.attach(pns, 'ps', 'br0');
    const siteDhcp = site.spawn(['dnsmasq', '--no-daemon', '--port=0', '--interface=s0', '--bind-interfaces', '--dhcp-range=192.0.2.160,192.0.2.170,1h',
      `--dhcp-leasefile=${path.join(dir, 'site.leases')}`, `--pid-file=${path.join(dir, 'site.pid')}`]);
    // Its log goes to stderr (--no-daemon): drained, so a full pipe can never stall it.
    siteDhcp.stdout?.resume();
    siteDhcp.stderr?.resume();
    const pboot = httpServer(pns);
    const proxy = await startRunner(pns, serverOptions(path.join(dir, 'proxy'), { mode: 'proxy', range: undefined }));
    runners.push(proxy);

    // full + chainload
    const cns = await lanWithTap(lab);
    const tftp = path.join(dir, 'tftp');
    await mkdir(tftp);
    await copyFile(UNDIONLY, path.join(tftp, 'undionly.kpxe'));
    const tftpLog: string[] = [];
    const tftpd = cns.spawn(['dnsmasq', '--no-daemon', '--port=0', '--enable-tftp', `--tftp-root=${tftp}`, '--interface=br0', '--bind-interfaces', `--pid-file=${path.join(dir, 'tftp.pid')}`]);
    createInterface({ input: tftpd.stderr! }).on('line', (l) => tftpLog.push(l));
    const cboot = httpServer(cns);
    const chain = await startRunner(cns, serverOptions(path.join(dir, 'chain'), { boot: { httpBase: 'http://192.0.2.1:8080', tftpServer: '192.0.2.1', chainload: true } }));
    runners.push(chain);
    await writeFile(path.join(dir, 'started'), '');

    qemu(pns, '52:54:00:ff:00:01');
    qemu(cns, '52:54:00:ff:00:02');
    const t0 = Date.now();
    const [p, c] = await Promise.all([
      waitFor(() => pboot.gets.find((g) => g.get === '/boot.ipxe'), 150_000, 500),
      waitFor(() => cboot.gets.find((g) => g.get === '/boot.ipxe'), 150_000, 500),
    ]);

    t.diagnostic(`boot.ipxe fetched after ${Date.now() - t0} ms`);
    assert.ok(p, `proxy: the VM fetched boot.ipxe; hearth events: ${JSON.stringify(proxy.events.map((e) => `${e.kind}:${e.detail ?? ''}`))}`);
    assert.match(p.from, /^192\.0\.2\.1[67]\d$/, 'with the address dnsmasq gave it');
    assert.ok(proxy.events.some((e) => e.kind === 'dhcp-offer' && e.mac === '52:54:00:ff:00:01' && e.ip === undefined), 'proxy offer without an address');
    // iPXE takes the boot file straight from a ProxyDHCP offer that has next-server and a file;
    // it asks port 4011 only when the offer lacks them (covered with crafted packets in dhcp-proxy).
    assert.ok(!proxy.events.some((e) => e.ip !== undefined && e.kind === 'dhcp-offer'), 'hearth offered no address');

    assert.ok(c, `chain: the VM fetched boot.ipxe; hearth events: ${JSON.stringify(chain.events.map((e) => `${e.kind}:${e.detail ?? ''}`))}`);
    assert.match(c.from, /^192\.0\.2\.1\d\d$/);
    const acks = chain.events.filter((e) => e.kind === 'dhcp-ack' && e.mac === '52:54:00:ff:00:02').map((e) => e.detail);
    // (The ROM may retransmit its REQUEST under load: several binary ACKs before the script.)
    assert.equal(acks[0], 'undionly.kpxe', `ROM got the binary first: ${JSON.stringify(acks)}`);
    assert.ok(acks.includes('http://192.0.2.1:8080/boot.ipxe'), `the chained iPXE got the script: ${JSON.stringify(acks)}`);
    assert.ok(tftpLog.some((l) => /sent .*undionly\.kpxe/.test(l)), `undionly.kpxe went over TFTP: ${tftpLog.join(' | ')}`);
    assert.ok(CHAIN_MARKER.length > 0);
  });
});
