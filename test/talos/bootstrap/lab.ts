/**
 * A five-machine lab for `hearth bootstrap` on loopback: the example spec (three control planes
 * with a VIP, two workers, cp3 bonded) moved onto a 127.x.y.0/24 block of this process, one Talos
 * node double per machine in maintenance mode at a "DHCP" address, and the Kubernetes API double
 * over HTTPS at the VIP once a control plane runs (its certificate signed by the applied cluster CA).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TalosDoubleNetwork, TalosNodeDouble, type DoubleHardware } from '../../doubles/talos-node/index.js';
import { FakeKubeApiServer } from '../../doubles/kube-api/index.js';
import { freePort, hardware, loopback } from '../api/fixture.js';
import { tmpDir, writeSpec } from '../helpers.js';
import { within } from '../../helpers/within.js';

export { loopback };

export const MACHINES = ['cp1', 'cp2', 'cp3', 'worker1', 'worker2'] as const;
export const CONTROL_PLANES = ['cp1', 'cp2', 'cp3'];

/** Where machine i (0-based, spec order) answers once configured, and in maintenance mode. */
export const configuredAt = (i: number): string => loopback(10 + i);
export const maintenanceAt = (i: number): string => loopback(100 + i);
export const vip = (): string => loopback(9);

export interface LabOptions {
  /** Talos version of each double (default: the spec's). */
  versions?: Partial<Record<number, string>>;
  /** Hardware changes per machine index. */
  hardware?: Partial<Record<number, (hw: DoubleHardware) => DoubleHardware>>;
  /** Machine indexes with no double at all. */
  absent?: number[];
  /** Machine indexes whose double moves only when the test steps it. */
  manual?: number[];
  stageDelayMs?: number;
  /** More machines than the example's five: workers cloned from worker2 (benchmarks). */
  count?: number;
}

export interface Lab {
  version: string;
  dir: string;
  spec: string;
  out: string;
  port: number;
  kubePort: number;
  network: TalosDoubleNetwork;
  doubles: Map<string, TalosNodeDouble>;
  /** Machine names in spec order. */
  names: string[];
  kube?: FakeKubeApiServer;
  /** The --endpoints argument: every double's maintenance address. */
  endpoints: string;
  args(...extra: string[]): string[];
  /** Resolves when every double is in `stage`. */
  allIn(stage: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The example spec (parsed, edited in place) moved onto this process's loopback block: `count`
 * machines (workers beyond the example's cloned from worker2) at configuredAt(i), the VIP as the
 * Kubernetes endpoint on `kubePort`, a platform whose load balancer needs no real addresses.
 * Returns the machine names in spec order.
 */
export function loopbackRack(s: any, o: { count: number; version: string; kubePort: number }): string[] {
  for (let i = s.machines.length; i < o.count; i++) {
    const hex = (i + 1).toString(16).padStart(2, '0');
    s.machines.push({ ...s.machines[4], name: `worker${i - 2}`, mac: `52:54:00:00:00:${hex}` });
  }
  s.talos.version = o.version;
  s.image.firmware = ['intel-ucode']; // a name every release uses
  s.machines.forEach((m: any, i: number) => {
    m.address = `${configuredAt(i)}/8`;
    m.gateway = loopback(1);
    m.nameservers = [loopback(1)];
  });
  s.cluster.vip = vip();
  s.cluster.endpoint = `https://${vip()}:${o.kubePort}`;
  s.platform = { loadBalancer: { addresses: ['192.0.2.200-192.0.2.220'] } };
  return s.machines.map((m: any) => m.name);
}

export async function lab(version: string, opts: LabOptions = {}): Promise<Lab> {
  const port = await freePort();
  const kubePort = await freePort();
  const count = opts.count ?? MACHINES.length;
  const names: string[] = [];
  const { dir, file } = writeSpec((s) => {
    names.push(...loopbackRack(s, { count, version, kubePort }));
    s.netboot.address = loopback(1);
    s.netboot.dhcp = { ...s.netboot.dhcp, range: `${loopback(200)}-${loopback(220)}`, router: loopback(1), dns: [loopback(1)] };
  }, tmpDir('bootstrap'));
  const network = new TalosDoubleNetwork();
  const doubles = new Map<string, TalosNodeDouble>();
  const l: Lab = {
    version,
    dir,
    spec: file,
    out: path.join(dir, 'out'),
    port,
    kubePort,
    network,
    doubles,
    names,
    endpoints: '',
    args: (...extra) => ['bootstrap', '-f', file, '--out', path.join(dir, 'out'), '--endpoints', l.endpoints, '--port', String(port), ...extra],
    allIn: (stage) =>
      within(
        60_000,
        `every double in stage ${stage}`,
        Promise.all([...doubles.values()].map((d) => (d.stage === stage ? undefined : new Promise<void>((r) => d.on('stage', (s) => s === stage && r()))))),
      ).then(() => undefined),
    stop: async () => {
      await Promise.all([...doubles.values()].map((d) => d.stop()));
      await l.kube?.stop();
    },
  };
  let kubeStarting: Promise<unknown> | undefined;
  const startKube = (d: TalosNodeDouble): void => {
    if (kubeStarting || !d.config?.clusterCa.key) return;
    const cfg = d.config;
    const kube = new FakeKubeApiServer({
      tls: { ca: { crt: cfg.clusterCa.crt, key: cfg.clusterCa.key! }, host: vip(), port: kubePort },
      cluster: {
        ready: () => network.bootstrapped(cfg.clusterId),
        nodes: () => [...doubles.values()].filter((x) => x.stage === 'running' && x.config).map((x) => ({ name: x.hostname, ready: x.ready })),
      },
    });
    l.kube = kube;
    kubeStarting = kube.start();
  };
  const addrs: string[] = [];
  for (let i = 0; i < count; i++) {
    if (opts.absent?.includes(i)) continue;
    const hw = (opts.hardware?.[i] ?? ((h) => h))(hardware(i + 1));
    const manual = opts.manual?.includes(i);
    const d = new TalosNodeDouble({ version: opts.versions?.[i] ?? version, address: maintenanceAt(i), port, hardware: hw, network, ...(manual ? {} : { stageDelayMs: opts.stageDelayMs ?? 150 }) });
    d.on('error', (err) => process.stderr.write(`double ${names[i]}: ${String(err)}\n`));
    if (i < CONTROL_PLANES.length) d.on('stage', (s) => s === 'running' && startKube(d));
    doubles.set(names[i]!, d);
    await d.start();
    addrs.push(maintenanceAt(i));
  }
  l.endpoints = addrs.join(',');
  return l;
}

export const outFile = (l: Lab, name: string): string => path.join(l.out, name);
export const has = (l: Lab, name: string): boolean => existsSync(outFile(l, name));
