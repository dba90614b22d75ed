/**
 * Boot storm: N simulated machines (default 200) at once each do what a network-booting server
 * does — DHCP (busybox udhcpc, a real client), fetch its iPXE script, then the kernel, then the
 * initramfs over HTTP — against hearth (`netboot serve`, DHCP full) and against dnsmasq (DHCP) +
 * nginx (HTTP) doing the same, in the same run. Prints total time to the last machine done.
 *
 *   sudo npx tsx bench/netboot/storm.ts [--machines 200] [--kernel-mib 4] [--initrd-mib 16] [--reps 1]
 *
 * Topology: one server namespace with bridge br0 = 192.0.2.1/24 and one namespace per machine
 * (veth into the bridge, its own MAC). Bounded: udhcpc gives up after 20 tries, curl after 120 s,
 * the whole storm after 300 s. dnsmasq runs with --no-ping (its default 3 s ping check before each
 * new lease would otherwise dominate); hearth's DHCP does not ping.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, netnsUnavailable, run, which, type Netns } from '../../test/helpers/netns.js';
import { ROOT, benchArgs, hearthServe, median, waitPort, writeRandom, runBenchmark } from './lib.js';

const args = benchArgs('usage: sudo npx tsx bench/netboot/storm.ts [--machines 200] [--kernel-mib 4] [--initrd-mib 16] [--reps 1]', { machines: '200', 'kernel-mib': '4', 'initrd-mib': '16', reps: '1' });
const MACHINES = args.number('machines', 1);
const KERNEL = args.number('kernel-mib', 1) * 1048576;
const INITRD = args.number('initrd-mib', 1) * 1048576;
const REPS = args.number('reps', 1);

const mac = (i: number) => `52:54:00:ee:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

/** One machine's boot, as a shell script run in its namespace. */
function machineScript(dir: string, i: number, scriptPath: (m: string) => string): string {
  const m = mac(i);
  return [
    `busybox udhcpc -i eth0 -f -q -n -t 20 -T 1 -A 1 -s ${dir}/udhcpc.sh >/dev/null 2>&1 || exit 11`,
    `curl -sSf --max-time 120 -o /dev/null 'http://192.0.2.1:8080${scriptPath(m)}' || exit 12`,
    `curl -sSf --max-time 120 -o /dev/null http://192.0.2.1:8080/assets/vmlinuz || exit 13`,
    `curl -sSf --max-time 120 -o /dev/null http://192.0.2.1:8080/assets/initramfs || exit 14`,
  ].join(' && ');
}

async function storm(machines: Netns[], dir: string, scriptPath: (m: string) => string): Promise<{ ms: number; ok: number; failures: Record<string, number> }> {
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(
    machines.map((ns, i) => ns.exec(['timeout', '-s', 'KILL', '300', 'sh', '-c', `ip addr flush dev eth0; ${machineScript(dir, i, scriptPath)}`], { timeoutMs: 310_000 })),
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const failures: Record<string, number> = {};
  for (const r of results) if (r.code !== 0) failures[String(r.code)] = (failures[String(r.code)] ?? 0) + 1;
  return { ms, ok: results.filter((r) => r.code === 0).length, failures };
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.pid === undefined) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 5000);
    p.once('exit', () => (clearTimeout(t), resolve()));
    process.kill(p.pid!, 'SIGTERM');
  });
}

async function main() {
  const why = netnsUnavailable();
  if (why) throw new Error(`needs root and network namespaces: ${why}`);
  for (const b of ['dnsmasq', 'nginx', 'curl', 'busybox']) if (!which(b)) throw new Error(`${b} is not installed`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-storm-'));
  const lab = new NetnsLab('storm');
  try {
    writeRandom(path.join(dir, 'vmlinuz'), KERNEL);
    writeRandom(path.join(dir, 'initramfs'), INITRD);
    await writeFile(path.join(dir, 'udhcpc.sh'), '#!/bin/sh\n[ "$1" = bound ] || [ "$1" = renew ] || exit 0\nip addr add "$ip/$subnet" dev "$interface"\n', { mode: 0o755 });
    await writeFile(path.join(dir, 'ipxe'), '#!ipxe\nkernel http://192.0.2.1:8080/assets/vmlinuz initrd=initramfs console=ttyS0\ninitrd http://192.0.2.1:8080/assets/initramfs\nboot\n');
    const spec = path.join(dir, 'hearth.yaml');
    await writeFile(
      spec,
      `apiVersion: hearth.dev/v1alpha1
kind: Cluster
metadata: { name: storm }
talos: { version: v1.13.9 }
cluster: { endpoint: https://192.0.2.10:6443 }
netboot:
  interface: br0
  address: 192.0.2.1
  dhcp: { mode: full, range: 192.0.2.10-192.0.2.250, leaseTime: 1h }
  assets: ${dir}
  ipxe: ${dir}
  kernel: vmlinuz
  initrd: [initramfs]
  kernelArgs: [console=ttyS0]
`,
    );
    await writeFile(
      path.join(dir, 'nginx.conf'),
      `daemon off; worker_processes 2; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${dir}/t; proxy_temp_path ${dir}/t; fastcgi_temp_path ${dir}/t; uwsgi_temp_path ${dir}/t; scgi_temp_path ${dir}/t;
  server { listen 192.0.2.1:8080; root ${dir}; location /assets/ { alias ${dir}/; } location = /ipxe { default_type text/plain; alias ${dir}/ipxe; } } }
`,
    );
    console.error(`setting up ${MACHINES} machine namespaces...`);
    const server = await lab.ns('s');
    await lab.bridge(server, 'br0', '192.0.2.1/24');
    const machines: Netns[] = [];
    for (let i = 0; i < MACHINES; i++) {
      const ns = await lab.ns('m');
      await lab.veth(server, `p${i}`, undefined, ns, 'eth0', undefined, { mac: mac(i) });
      await lab.attach(server, `p${i}`, 'br0');
      machines.push(ns);
    }
    const rows: string[][] = [];
    const times = { hearth: [] as number[], peer: [] as number[] };
    for (let rep = 0; rep < REPS; rep++) {
      // hearth: DHCP + TFTP + HTTP in one process, fresh lease state every run.
      const state = path.join(dir, `state${rep}`);
      const h = server.spawn(hearthServe(spec, ['--state', state, '--http-port', '8080', '--tftp-port', '6969']), { cwd: ROOT });
      let hlog = '';
      h.stderr?.on('data', (d) => (hlog = (hlog + d).slice(-4000)));
      h.stdout?.resume();
      await waitPort(server, ['curl', '-sf', '-o', '/dev/null', 'http://192.0.2.1:8080/healthz']).catch((e) => {
        throw new Error(`${e.message}\n${hlog}`);
      });
      const hr = await storm(machines, dir, (m) => `/ipxe?mac=${m}&buildarch=x86_64&platform=pcbios`);
      await stop(h);
      times.hearth.push(hr.ms);
      rows.push(['hearth', String(rep + 1), (hr.ms / 1000).toFixed(2), `${hr.ok}/${MACHINES}`, JSON.stringify(hr.failures)]);
      // dnsmasq (DHCP only) + nginx (HTTP).
      const d = server.spawn(['dnsmasq', '--no-daemon', '-C', '/dev/null', '--port=0', '--interface=br0', '--bind-interfaces', '--no-ping', '--dhcp-range=192.0.2.10,192.0.2.250,1h', `--dhcp-leasefile=${dir}/dnsmasq${rep}.leases`, '--dhcp-lease-max=1000', '--pid-file=']);
      d.stderr?.resume();
      const n = server.spawn(['nginx', '-c', path.join(dir, 'nginx.conf'), '-e', `${dir}/nginx.err`]);
      n.stderr?.resume();
      await waitPort(server, ['curl', '-sf', '-o', '/dev/null', 'http://192.0.2.1:8080/ipxe']);
      const pr = await storm(machines, dir, () => '/ipxe');
      await stop(d);
      await stop(n);
      times.peer.push(pr.ms);
      rows.push(['dnsmasq+nginx', String(rep + 1), (pr.ms / 1000).toFixed(2), `${pr.ok}/${MACHINES}`, JSON.stringify(pr.failures)]);
    }
    console.log(`Boot storm: ${MACHINES} machines at once, DHCP + script + ${KERNEL >> 20} MiB kernel + ${INITRD >> 20} MiB initramfs each`);
    console.log(['server', 'run', 'seconds', 'booted', 'failures (exit code: count; 11 dhcp, 12 script, 13 kernel, 14 initrd)'].join('\t'));
    for (const r of rows) console.log(r.join('\t'));
    const hm = median(times.hearth);
    const pm = median(times.peer);
    console.log(`median total time: hearth ${(hm / 1000).toFixed(2)} s, dnsmasq+nginx ${(pm / 1000).toFixed(2)} s; speed ratio hearth/peer ${(pm / hm).toFixed(2)}x`);
  } finally {
    await lab.cleanup();
    await rm(dir, { recursive: true, force: true });
    await run(['true']);
  }
}

runBenchmark(main);
