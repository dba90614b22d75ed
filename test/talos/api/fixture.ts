/** Shared set-up for the Talos API tests: secrets, identities, machine configs and node doubles on loopback. */
import { randomInt } from 'node:crypto';
import net from 'node:net';
import { stringify } from 'yaml';
import { contractFor } from '../../../src/talos/contract.js';
import { generateSecrets, talosClientCert, type SecretsBundle } from '../../../src/talos/secrets.js';
import { connectTalos, MemoryPinStore, type PinStore, type TalosApi } from '../../../src/talos/api/index.js';
import { TalosDoubleNetwork, TalosNodeDouble, type DoubleHardware } from '../../doubles/talos-node/index.js';
import { writeSpec } from '../helpers.js';

/** A 127.x.y.0/24 block of this process (any 127/8 address answers on Linux lo). */
const block = `127.${100 + (process.pid % 100)}.${randomInt(1, 250)}`;
export const loopback = (host: number): string => `${block}.${host}`;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function hardware(n: number): DoubleHardware {
  const hex = n.toString(16).padStart(2, '0');
  return {
    uuid: `4c4c4544-00${hex}-1000-8000-0000000000${hex}`,
    serialNumber: `SN${n}`,
    links: [
      { name: 'eth0', mac: `52:54:00:00:00:${hex}` },
      { name: 'eth1', mac: `52:54:00:00:01:${hex}` },
    ],
    disks: [
      { name: 'sda', size: 256e9, model: 'QEMU HARDDISK', serial: `QM000${n}`, wwid: `t10.ATA QEMU HARDDISK QM000${n}`, transport: 'sata', rotational: true },
      { name: 'nvme0n1', size: 512e9, model: 'QEMU NVMe Ctrl', serial: `deadbeef${n}`, wwid: `nvme.1b36-${hex}`, transport: 'nvme', rotational: false },
    ],
  };
}

export interface Cluster {
  version: string;
  secrets: SecretsBundle;
  admin: { crt: string; key: string };
  reader: { crt: string; key: string };
  port: number;
  network: TalosDoubleNetwork;
  doubles: TalosNodeDouble[];
}

export async function cluster(version: string): Promise<Cluster> {
  const secrets = await generateSecrets(contractFor(version));
  const network = new TalosDoubleNetwork();
  // workers get their API certificate from trustd on a control plane; stand one in for lone workers
  network.addTrustd({ crt: secrets.certs.os.crt, key: secrets.certs.os.key! });
  return {
    version,
    secrets,
    admin: await talosClientCert(secrets, ['os:admin']),
    reader: await talosClientCert(secrets, ['os:reader']),
    port: await freePort(),
    network,
    doubles: [],
  };
}

export async function startDouble(c: Cluster, n: number, address = loopback(n)): Promise<TalosNodeDouble> {
  const d = new TalosNodeDouble({ version: c.version, address, port: c.port, hardware: hardware(n), network: c.network });
  c.doubles.push(d);
  await d.start();
  return d;
}

export async function stopAll(c: Cluster): Promise<void> {
  await Promise.all(c.doubles.map((d) => d.stop()));
}

/** A minimal machine config of the version's shape: v1.6 machine.network, v1.13 LinkConfig/HostnameConfig. */
export function machineConfig(c: Cluster, opts: { type: 'controlplane' | 'worker'; address: string; hostname: string }): string {
  const b = c.secrets;
  const v113 = !c.version.startsWith('v1.6');
  const main = {
    version: 'v1alpha1',
    machine: {
      type: opts.type,
      token: b.trustdinfo.token,
      // as talosctl renders them: workers get the CA certificates without keys
      ca: { crt: Buffer.from(b.certs.os.crt).toString('base64'), key: opts.type === 'worker' ? '' : Buffer.from(b.certs.os.key!).toString('base64') },
      install: { disk: '/dev/sda', image: `ghcr.io/siderolabs/installer:${c.version}` },
      ...(v113 ? {} : { network: { hostname: opts.hostname, interfaces: [{ interface: 'eth0', addresses: [`${opts.address}/8`] }] } }),
    },
    cluster: {
      id: b.cluster.id,
      secret: b.cluster.secret,
      clusterName: 'lab',
      controlPlane: { endpoint: 'https://192.0.2.100:6443' },
      ca: { crt: Buffer.from(b.certs.k8s.crt).toString('base64'), key: opts.type === 'worker' ? '' : Buffer.from(b.certs.k8s.key!).toString('base64') },
    },
  };
  const docs: object[] = [main];
  if (v113) {
    docs.push({ apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'off', hostname: opts.hostname });
    docs.push({ apiVersion: 'v1alpha1', kind: 'LinkConfig', name: 'eth0', up: true, addresses: [{ address: `${opts.address}/8` }] });
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

/**
 * The example spec moved onto loopback: machine i at loopback(first + i)/8, the API endpoint on the
 * first machine, no VIP, and the netboot addresses inside the same subnet (only so the spec is valid).
 */
export function loopbackSpec(version: string | undefined, first: number): string {
  return writeSpec((s) => {
    if (version) s.talos.version = version;
    s.machines.forEach((m: any, i: number) => {
      m.address = `${loopback(first + i)}/8`;
      m.gateway = loopback(1);
      m.nameservers = [loopback(1)];
    });
    s.cluster.endpoint = `https://${loopback(first)}:6443`;
    delete s.cluster.vip;
    s.netboot.address = loopback(1);
    s.netboot.dhcp = { ...s.netboot.dhcp, range: `${loopback(200)}-${loopback(220)}`, router: loopback(1), dns: [loopback(1)] };
  }).file;
}

export function maintenanceClient(c: Cluster, address: string, pins: PinStore = new MemoryPinStore(), extra: { node?: string } = {}): TalosApi {
  return connectTalos({ endpoint: address, port: c.port, tls: { mode: 'maintenance', pins }, timeoutMs: 5000, talosVersion: undefined, ...extra });
}

export function configuredClient(c: Cluster, address: string, who: 'admin' | 'reader' = 'admin', extra: { node?: string; talosVersion?: string } = {}): TalosApi {
  const id = who === 'admin' ? c.admin : c.reader;
  return connectTalos({ endpoint: address, port: c.port, tls: { mode: 'configured', ca: c.secrets.certs.os.crt, crt: id.crt, key: id.key }, timeoutMs: 5000, ...extra });
}
