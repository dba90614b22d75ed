/**
 * hearth's DHCP server (full mode) against real clients in network namespaces: busybox udhcpc and
 * ISC dhclient get leases from the range and fixed addresses (with hostname), renew and release.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable, which } from '../helpers/netns.js';
import { makeLan, serverOptions, startRunner, waitFor, type Lan, type Runner } from './dhcp-lab.js';

const skip = netnsUnavailable() ?? (!which('udhcpc') && !which('busybox') ? 'busybox udhcpc is not installed' : undefined) ?? (!which('dhclient') ? 'isc-dhcp-client (dhclient) is not installed' : undefined);

const MAC_RANGE = '52:54:00:aa:00:01';
const MAC_FIXED = '52:54:00:aa:00:02';
const MAC_DHCLIENT = '52:54:00:aa:00:03';
const MAC_DHCLIENT_FIXED = '52:54:00:aa:00:04';

const UDHCPC_SCRIPT = `#!/bin/sh
# udhcpc event script: log what the server handed out, configure the address like the real one.
echo "$1 ip=$ip subnet=$subnet router=$router dns=$dns hostname=$hostname lease=$lease serverid=$serverid" >> "$LOG"
case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/24" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
`;

function udhcpc(): string[] {
  return which('udhcpc') ? ['udhcpc'] : ['busybox', 'udhcpc'];
}

describe('DHCP full mode with real clients', { skip, timeout: 180_000 }, () => {
  const lab = new NetnsLab('dcli');
  let lan: Lan;
  let server: Runner;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-'));
    lan = await makeLan(lab, [MAC_RANGE, MAC_FIXED, MAC_DHCLIENT, MAC_DHCLIENT_FIXED]);
    server = await startRunner(
      lan.srv,
      serverOptions(path.join(dir, 'state'), {
        reservations: [
          { mac: MAC_FIXED, ip: '192.0.2.11', hostname: 'cp1' },
          { mac: MAC_DHCLIENT_FIXED, ip: '192.0.2.12', hostname: 'worker1' },
        ],
        leaseTimeSec: 600,
      }),
    );
  });

  after(async () => {
    await server?.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function runUdhcpc(index: number, mac: string): Promise<void> {
    const ns = lan.clients[index]!;
    const log = path.join(dir, `udhcpc-${index}.log`);
    const script = path.join(dir, `udhcpc-${index}.sh`);
    await writeFile(script, UDHCPC_SCRIPT);
    await chmod(script, 0o755);
    const proc = ns.spawn([...udhcpc(), '-f', '-i', 'c0', '-s', script, '-t', '5', '-T', '1', '-A', '1'], { env: { ...process.env, LOG: log } });
    // What it prints is not read (the script logs to LOG): drained, so a full pipe can never stall it.
    proc.stdout?.resume();
    proc.stderr?.resume();
    const text = () => readFile(log, 'utf8').catch(() => '');
    const bound = await waitFor(async () => ((await text()).includes('bound ip=') ? await text() : undefined), 20_000);
    assert.ok(bound, `udhcpc got no lease; server stderr: ${server.stderr()}`);
    const isFixed = mac === MAC_FIXED;
    const ip = /bound ip=(\S+)/.exec(bound)![1]!;
    if (isFixed) {
      assert.equal(ip, '192.0.2.11');
      assert.match(bound, /hostname=cp1/);
    } else {
      const last = Number(ip.split('.')[3]);
      assert.ok(ip.startsWith('192.0.2.') && last >= 100 && last <= 199, `address ${ip} is from the range`);
    }
    assert.match(bound, /subnet=255\.255\.255\.0 router=192\.0\.2\.1 dns=192\.0\.2\.1 /);
    assert.match(bound, /lease=600 serverid=192\.0\.2\.1/);
    let leases = await server.leases();
    assert.ok(leases.some((l) => l.mac === mac && l.ip === ip && l.fixed === isFixed), 'server lists the lease');

    // Renew (SIGUSR1): a unicast REQUEST from the bound address, answered with an ACK.
    proc.kill('SIGUSR1');
    const renewed = await waitFor(async () => ((await text()).includes('renew ip=') ? await text() : undefined), 15_000);
    assert.ok(renewed, 'udhcpc renewed');
    assert.match(renewed, new RegExp(`renew ip=${ip.replace(/\./g, '\\.')} `));
    await server.waitEvent((e) => e.kind === 'dhcp-request' && e.mac === mac && e.detail === 'renewing');

    // Release (SIGUSR2).
    proc.kill('SIGUSR2');
    await server.waitEvent((e) => e.kind === 'dhcp-release' && e.mac === mac && e.ip === ip);
    leases = await server.leases();
    assert.ok(!leases.some((l) => l.mac === mac), 'released lease is no longer active');
    proc.kill('SIGKILL');
  }

  test('udhcpc: range address, renew, release', async () => {
    await runUdhcpc(0, MAC_RANGE);
  });

  test('udhcpc: fixed address with hostname, renew, release', async () => {
    await runUdhcpc(1, MAC_FIXED);
  });

  async function runDhclient(index: number, mac: string, expectIp?: string, hostname?: string): Promise<void> {
    const ns = lan.clients[index]!;
    const lf = path.join(dir, `dhclient-${index}.leases`);
    const pf = path.join(dir, `dhclient-${index}.pid`);
    const conf = path.join(dir, `dhclient-${index}.conf`);
    await writeFile(conf, 'request subnet-mask, routers, domain-name-servers, host-name;\ntimeout 20;\nretry 1;\n');
    const base = ['dhclient', '-4', '-cf', conf, '-lf', lf, '-pf', pf, '-sf', '/bin/true'];
    // -sf /bin/true: dhclient only records the lease, the test checks it (no resolv.conf changes).
    const first = await ns.exec([...base, '-1', '-v', 'c0'], { timeoutMs: 40_000 });
    assert.equal(first.code, 0, `dhclient failed: ${first.stderr}\nserver: ${server.stderr()}`);
    const lease1 = await readFile(lf, 'utf8');
    const ip = /fixed-address (\S+);/.exec(lease1)![1]!;
    if (expectIp) assert.equal(ip, expectIp);
    else assert.ok(/^192\.0\.2\.1\d\d$/.test(ip), `range address, got ${ip}`);
    if (hostname) assert.match(lease1, new RegExp(`option host-name "${hostname}"`));
    assert.match(lease1, /option dhcp-lease-time 600;/);
    assert.match(lease1, /option routers 192\.0\.2\.1;/);
    assert.match(lease1, /option dhcp-server-identifier 192\.0\.2\.1;/);
    // dhclient with -sf /bin/true does not configure the address; do it like its script would,
    // then renew: a second dhclient run starts from the recorded lease (INIT-REBOOT REQUEST).
    await ns.must(['ip', 'addr', 'add', `${ip}/24`, 'dev', 'c0']);
    const pid = await waitFor(async () => (await readFile(pf, 'utf8').catch(() => '')).trim() || undefined, 5000);
    assert.ok(pid, 'dhclient wrote its pid file');
    await ns.exec(['kill', pid]);
    await waitFor(async () => ((await ns.exec(['kill', '-0', pid])).code !== 0 ? true : undefined), 5000);
    const again = await ns.exec([...base, '-1', '-v', 'c0'], { timeoutMs: 40_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /DHCPREQUEST for [\d.]+ on c0/);
    assert.doesNotMatch(again.stderr, /DHCPDISCOVER/, 'renewed from the recorded lease, no new discovery');
    assert.match(again.stderr, new RegExp(`bound to ${ip.replace(/\./g, '\\.')}`));
    await server.waitEvent((e) => e.kind === 'dhcp-request' && e.mac === mac && e.detail === 'init-reboot');
    // Release: dhclient -r sends DHCPRELEASE (unicast to the server id).
    const rel = await ns.exec([...base, '-r', '-v', 'c0'], { timeoutMs: 20_000 });
    assert.equal(rel.code, 0, rel.stderr);
    await server.waitEvent((e) => e.kind === 'dhcp-release' && e.mac === mac && e.ip === ip);
    assert.ok(!(await server.leases()).some((l) => l.mac === mac));
  }

  test('dhclient: range address, renew (init-reboot), release', async () => {
    await runDhclient(2, MAC_DHCLIENT);
  });

  test('dhclient: fixed address with hostname, renew, release', async () => {
    await runDhclient(3, MAC_DHCLIENT_FIXED, '192.0.2.12', 'worker1');
  });

  test('events carry mac, ip and the DHCP steps', () => {
    const kinds = new Set(server.events.filter((e) => e.mac === MAC_FIXED).map((e) => e.kind));
    for (const k of ['dhcp-discover', 'dhcp-offer', 'dhcp-request', 'dhcp-ack', 'dhcp-release'] as const) assert.ok(kinds.has(k), `event ${k}`);
    const ack = server.events.find((e) => e.kind === 'dhcp-ack' && e.mac === MAC_FIXED);
    assert.equal(ack?.ip, '192.0.2.11');
    assert.equal(ack?.hostname, 'cp1');
  });
});
