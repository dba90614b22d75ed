/**
 * A rack for `hearth up` on loopback: the example spec (three control planes behind a VIP, two
 * workers; more workers for benchmarks) moved onto a 127.x.y.0/24 block of this process, netboot on
 * lo (hearth's DHCP server on lo, on test ports, hands out the boot addresses), boot assets in a
 * temporary directory, one machine double per machine that network-boots from hearth and becomes
 * a Talos node double, and the Kubernetes double (HTTPS at the VIP, signed by the applied cluster
 * CA) with a helm-controller stand-in once a control plane runs.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MachineDouble } from '../doubles/machine/index.js';
import { TalosDoubleNetwork, type TalosNodeDouble } from '../doubles/talos-node/index.js';
import { FakeHelmController, FakeKubeApiServer } from '../doubles/kube-api/index.js';
import { fluxInstallManifest } from '../platform/helpers.js';
import { freePort, hardware, loopback } from '../talos/api/fixture.js';
import { configuredAt, loopbackRack, vip } from '../talos/bootstrap/lab.js';
import { tmpDir, writeSpec } from '../talos/helpers.js';

export { configuredAt, vip };
export const bootAt = (i: number): string => loopback(100 + i);

/** A UDP port nothing listens on now (for hearth's DHCP server and its clients). */
function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export interface UpLabOptions {
  /** Machines (default 5: the example's). */
  count?: number;
  version?: string;
  /** The doubles' stage delay (0: as fast as they go). */
  stageDelayMs?: number;
  /** Leave the boot assets out. */
  noAssets?: boolean;
  /** hearth's DHCP server on lo hands out the boot addresses (default); false: each double is given one. */
  dhcp?: boolean;
  /** netboot.talosConfig: false boots machines into maintenance mode (configs applied over the API). */
  talosConfig?: boolean;
  /** How often the helm-controller stand-in reconciles (ms; its default when absent): slower shows releases turning Ready level by level. */
  helmTickMs?: number;
}

export interface UpLab {
  dir: string;
  spec: string;
  out: string;
  talosPort: number;
  httpPort: number;
  names: string[];
  network: TalosDoubleNetwork;
  machines: Map<string, MachineDouble>;
  kube?: FakeKubeApiServer;
  /** hearth up's arguments for this lab. */
  args(...extra: string[]): string[];
  /** Powers machines on (all, by default) once netboot answers; resolves when each one's node answers. */
  powerOn(which?: string[], hangAfter?: 'script' | 'kernel' | 'initrd'): Promise<void>;
  nodes(): TalosNodeDouble[];
  /** RPC counts over every node double. */
  count(method: string): number;
  /** etcd bootstraps that took effect (a Bootstrap RPC on a bootstrapped cluster is refused). */
  bootstraps(): number;
  stop(): Promise<void>;
}

export async function upLab(opts: UpLabOptions = {}): Promise<UpLab> {
  const version = opts.version ?? 'v1.13.9';
  const count = opts.count ?? 5;
  const talosPort = await freePort();
  const kubePort = await freePort();
  const httpPort = await freePort();
  const dhcp = opts.dhcp !== false;
  const dhcpPort = await freeUdpPort();
  const dhcpClientPort = await freeUdpPort();
  const names: string[] = [];
  const { dir, file } = writeSpec((s) => {
    names.push(...loopbackRack(s, { count, version, kubePort }));
    s.netboot.interface = 'lo';
    s.netboot.address = '127.0.0.1';
    s.netboot.dhcp = dhcp ? { mode: 'full', range: `${bootAt(0)}-${bootAt(count + 20)}`, router: loopback(1), dns: [loopback(1)], leaseTime: '1h' } : { mode: 'off' };
    s.netboot.assets = './assets';
    s.netboot.ipxe = './ipxe';
    if (opts.talosConfig !== undefined) s.netboot.talosConfig = opts.talosConfig;
  }, tmpDir('up'));
  if (!opts.noAssets) {
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'assets', 'vmlinuz'), randomBytes(200_000));
    writeFileSync(path.join(dir, 'assets', 'initramfs.xz'), randomBytes(700_000));
  }
  const flux = fluxInstallManifest(dir);
  const network = new TalosDoubleNetwork();
  let bootstraps = 0;
  const bootstrap = network.bootstrap.bind(network);
  network.bootstrap = (clusterId, founder) => {
    bootstraps++;
    bootstrap(clusterId, founder);
  };
  const machines = new Map<string, MachineDouble>();
  const nodes: TalosNodeDouble[] = [];
  let controller: FakeHelmController | undefined;
  let kubeStarting = false;
  const l: UpLab = {
    dir,
    spec: file,
    out: path.join(dir, 'out'),
    talosPort,
    httpPort,
    names,
    network,
    machines,
    args: (...extra) => ['up', '-f', file, '--out', path.join(dir, 'out'), '--port', String(talosPort), '--http-port', String(httpPort), '--tftp-port', '0', '--flux-manifests', flux, ...(dhcp ? ['--dhcp-port', String(dhcpPort), '--dhcp-client-port', String(dhcpClientPort)] : []), ...extra],
    nodes: () => nodes,
    bootstraps: () => bootstraps,
    count: (method) => nodes.reduce((n, d) => n + d.calls.filter((c) => c === method || c.endsWith(`/${method}`)).length, 0),
    async powerOn(which = names, hangAfter) {
      const base = `http://127.0.0.1:${httpPort}`;
      // like iPXE retrying its script: wait (bounded) for netboot to answer
      for (let i = 0; ; i++) {
        const ok = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
        if (ok) break;
        if (i >= 600) throw new Error('netboot never answered');
        await new Promise((r) => setTimeout(r, 100));
      }
      await Promise.all(
        which.map(async (name) => {
          const i = names.indexOf(name);
          const hw = hardware(i + 1);
          const m = new MachineDouble({
            mac: hw.links[0]!.mac,
            ...(dhcp ? { dhcp: { server: '127.0.0.1', serverPort: dhcpPort, clientPort: dhcpClientPort } } : { address: bootAt(i) }),
            httpBase: base,
            hangAfter,
            talos: { version, port: talosPort, hardware: hw, network, stageDelayMs: opts.stageDelayMs ?? 0 },
            onNode: (d) => {
              nodes.push(d);
              d.on('error', (err) => process.stderr.write(`double ${name}: ${String(err)}\n`));
              if (i < 3) d.on('stage', (s) => s === 'running' && startKube(d));
            },
          });
          machines.set(name, m);
          await m.powerOn();
        }),
      );
    },
    async stop() {
      controller?.stop();
      await Promise.all(nodes.map((d) => d.stop()));
      await l.kube?.stop();
    },
  };
  const startKube = (d: TalosNodeDouble): void => {
    if (kubeStarting || !d.config?.clusterCa.key) return;
    kubeStarting = true;
    const cfg = d.config;
    const kube = new FakeKubeApiServer({
      tls: { ca: { crt: cfg.clusterCa.crt, key: cfg.clusterCa.key! }, host: vip(), port: kubePort },
      cluster: {
        ready: () => network.bootstrapped(cfg.clusterId),
        nodes: () => nodes.filter((x) => x.stage === 'running' && x.config).map((x) => ({ name: x.hostname, ready: x.ready })),
      },
    });
    l.kube = kube;
    void kube.start().then(() => (controller = new FakeHelmController(kube, opts.helmTickMs ? { tickMs: opts.helmTickMs } : {}).start()));
  };
  return l;
}
