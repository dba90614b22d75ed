/**
 * `hearth bootstrap`, the engine: discover and match the nodes, pre-flight (every problem at once,
 * nothing applied), secrets (reused or created), render every config, dry-run then apply in
 * parallel, follow each node to `running`, bootstrap etcd once, wait for health, write the
 * kubeconfig and talosconfig. Idempotent: configured nodes whose running config equals the rendered
 * one are not re-applied, and files that are still right are not rewritten.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, OperationError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import type { LoadedSpec, Machine } from '../../spec/index.js';
import { connectTalos, discoverNodes, matchMachines, RESOURCES, type PinStore, type TalosApi } from '../api/index.js';
import { machineIp } from '../node.js';
import { docsToYaml, generateTalos, newSecrets, readSecretsFile, serializeSecrets, type TalosInputs } from '../index.js';
import { backoff, realClock, type Clock } from './clock.js';
import { InterruptedError } from './errors.js';
import { followToRunning } from './follow.js';
import { bootstrapEtcd, etcdCheck, kubeAccess, kubeCheck, pollUntil, readyCheck } from './health.js';
import { sameConfig, talosconfigContext, talosconfigStillValid, type TalosIdentity } from './identity.js';
import { preflight, type Candidate } from './preflight.js';

/** How long a rerun waits for machines that do not answer yet (rebooting into an applied config). */
const REBOOT_GRACE_MS = 180_000;

export type BootstrapEvent =
  | { event: 'discovered'; probed: number; found: number; matched: number }
  | { event: 'waiting'; machines: string[]; elapsedMs: number }
  | { event: 'apply'; machine: string; address: string; dryRun: boolean; mode: string; elapsedMs: number }
  | { event: 'unchanged'; machine: string; address: string; elapsedMs: number }
  | { event: 'stage'; machine: string; stage: string; address: string; elapsedMs: number }
  | { event: 'etcd'; machine: string; result: 'bootstrapped' | 'already'; elapsedMs: number }
  | { event: 'healthy'; check: 'etcd' | 'nodes' | 'kubernetes'; elapsedMs: number }
  | { event: 'file'; file: string; changed: boolean };

export interface BootstrapOptions {
  loaded: LoadedSpec;
  talos: TalosInputs;
  /** DIR: secrets.yaml (read or created), kubeconfig, talosconfig. */
  out: string;
  /** Addresses to probe besides the machines' own (from --endpoints, --scan, netboot leases). */
  targets: string[];
  port?: number;
  pins: PinStore;
  only?: string[];
  /** Bound on the whole run, from the first apply to a healthy cluster. */
  timeoutMs: number;
  /** Per-node bound while discovering. */
  probeTimeoutMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
  onEvent?: (e: BootstrapEvent) => void;
}

export interface MachineSummary {
  name: string;
  role: string;
  address: string;
  action: 'applied' | 'unchanged';
  /** Milliseconds from the start of the run at which each stage was first seen. */
  stages: Record<string, number>;
  runningMs: number;
}

export interface BootstrapSummary {
  cluster: string;
  endpoint: string;
  /** False when the run found everything as it should be and changed nothing. */
  changed: boolean;
  elapsedMs: number;
  machines: MachineSummary[];
  etcd: { machine: string; result: 'bootstrapped' | 'already' };
  files: { file: string; changed: boolean }[];
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OperationError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

interface Track extends Candidate {
  config: string;
  to: string;
  action: 'applied' | 'unchanged';
  stages: Record<string, number>;
  runningMs: number;
}

const SECRET = { mode: 0o600 };

export async function bootstrapCluster(o: BootstrapOptions): Promise<BootstrapSummary> {
  const clock = o.clock ?? realClock;
  const signal = o.signal ?? new AbortController().signal;
  const t0 = clock.now();
  const since = () => clock.now() - t0;
  const emit = (e: BootstrapEvent) => o.onEvent?.(e);
  const spec = o.loaded.spec;
  const check = () => {
    if (signal.aborted) throw new InterruptedError();
  };

  // secrets and configs first: everything after talks with the identity they give
  const secretsFile = path.join(o.out, 'secrets.yaml');
  const haveSecrets = (await readIfThere(secretsFile)) !== undefined;
  const secrets = haveSecrets ? readSecretsFile(secretsFile) : await newSecrets(spec);
  const { rendered } = await generateTalos(o.loaded, secrets, o.talos);
  const talosconfigFile = path.join(o.out, 'talosconfig');
  const oldTalosconfig = await readIfThere(talosconfigFile);
  const keepTalosconfig = talosconfigStillValid(oldTalosconfig, secrets.certs.os.crt, rendered.endpoints);
  const talosconfig = keepTalosconfig ? oldTalosconfig! : rendered.talosconfig;
  const identity: TalosIdentity = talosconfigContext(talosconfig)!.identity;
  const connect = (address: string, version?: string): TalosApi =>
    connectTalos({ endpoint: address, port: o.port, tls: { mode: 'configured', ...identity }, talosVersion: version ?? spec.talos.version });

  // discover + match + pre-flight
  const own = spec.machines.map(machineIp).filter((a): a is string => Boolean(a));
  const targets = [...new Set([...o.targets, ...own])];
  const probe = (addresses: string[]) => discoverNodes(addresses, { port: o.port, timeoutMs: o.probeTimeoutMs ?? 2000, pins: o.pins, identity, concurrency: 32 });
  let nodes = matchMachines(await probe(targets), spec.machines);
  check();
  if (haveSecrets) {
    // A rerun after an interrupted run: a machine that is silent may be rebooting into the config
    // the last run applied. Give it a bounded while to answer at its configured address.
    const wanted = spec.machines.filter((m) => (o.only ? o.only.includes(m.name) : true) && machineIp(m));
    const silent = () => wanted.filter((m) => !nodes.some((n) => n.machine === m.name));
    const until = clock.now() + Math.min(o.timeoutMs, REBOOT_GRACE_MS);
    for (let attempt = 0; silent().length > 0 && clock.now() < until; attempt++) {
      if (attempt === 0) emit({ event: 'waiting', machines: silent().map((m) => m.name), elapsedMs: since() });
      await clock.sleep(backoff(attempt), signal).catch(() => check());
      check();
      nodes = [...nodes, ...matchMachines(await probe(silent().map((m) => machineIp(m)!)), spec.machines)];
    }
  }
  const { matched, problems } = preflight(spec.talos.version, spec.machines, nodes, o.only);
  emit({ event: 'discovered', probed: targets.length, found: nodes.length, matched: matched.length });
  if (problems.length > 0) {
    throw new InputError(`pre-flight found ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was applied`, problems);
  }
  if (!haveSecrets) await writeFileAtomic(secretsFile, serializeSecrets(secrets), { ...SECRET, exclusive: true });

  const configs = new Map(rendered.nodes.map((n) => [n.name, docsToYaml(n.docs)]));
  const tracks: Track[] = matched.map((c) => ({
    ...c,
    config: configs.get(c.machine.name)!,
    to: machineIp(c.machine) ?? c.node.address,
    action: 'unchanged',
    stages: {},
    runningMs: 0,
  }));
  const deadline = clock.now() + o.timeoutMs;

  // which nodes need the config: every maintenance node; a configured one whose running config differs
  const clients = new Map<string, TalosApi>();
  const clientFor = (t: Track): TalosApi => {
    let c = clients.get(t.machine.name);
    if (!c) {
      const version = t.node.talosVersion ?? spec.talos.version;
      c =
        t.node.mode === 'maintenance'
          ? connectTalos({ endpoint: t.node.address, port: o.port, tls: { mode: 'maintenance', pins: o.pins }, talosVersion: version })
          : connect(t.node.address, version);
      clients.set(t.machine.name, c);
    }
    return c;
  };
  try {
    const needs = await Promise.all(
      tracks.map(async (t) => {
        if (t.node.mode === 'maintenance') return true;
        const mc = await clientFor(t).get<unknown>(RESOURCES.machineConfig.namespace, RESOURCES.machineConfig.type, 'v1alpha1');
        const running = typeof mc.spec === 'string' ? mc.spec : JSON.stringify(mc.spec);
        return !sameConfig(running, t.config);
      }),
    );
    const toApply = tracks.filter((_, i) => needs[i]);
    check();
    // every dry run must pass before the first real apply
    const dry = await Promise.allSettled(toApply.map((t) => clientFor(t).applyConfiguration(t.config, { mode: 'AUTO', dryRun: true })));
    const refused = dry.flatMap((r, i) => (r.status === 'rejected' ? [`${toApply[i]!.machine.name}: dry run refused: ${(r.reason as Error).message}`] : []));
    if (refused.length > 0) throw new OperationError(`${refused.join('; ')}; nothing was applied`);
    dry.forEach((r, i) => {
      const t = toApply[i]!;
      if (r.status === 'fulfilled') emit({ event: 'apply', machine: t.machine.name, address: t.node.address, dryRun: true, mode: r.value.mode, elapsedMs: since() });
    });
    check();
    const real = await Promise.allSettled(
      toApply.map(async (t) => {
        const r = await clientFor(t).applyConfiguration(t.config, { mode: 'AUTO' });
        t.action = 'applied';
        emit({ event: 'apply', machine: t.machine.name, address: t.node.address, dryRun: false, mode: r.mode, elapsedMs: since() });
      }),
    );
    const failed = real.flatMap((r, i) => (r.status === 'rejected' ? [`${toApply[i]!.machine.name}: apply failed: ${(r.reason as Error).message}`] : []));
    if (failed.length > 0) throw new OperationError(failed.join('; '));
    for (const t of tracks) if (t.action === 'unchanged') emit({ event: 'unchanged', machine: t.machine.name, address: t.node.address, elapsedMs: since() });
  } finally {
    for (const c of clients.values()) c.close();
  }

  // follow every node to running
  const followed = await Promise.allSettled(
    tracks.map((t) =>
      followToRunning(
        {
          machine: t.machine.name,
          from: t.node.address,
          to: t.to,
          connect: (a) => connect(a, t.node.talosVersion ?? undefined),
          lastStage: t.action === 'applied' ? (t.node.mode === 'maintenance' ? 'installing' : undefined) : undefined,
          onStage: (stage, address) => {
            const at = since();
            t.stages[stage] ??= at;
            if (stage === 'running') t.runningMs = at;
            emit({ event: 'stage', machine: t.machine.name, stage, address, elapsedMs: at });
          },
        },
        clock,
        deadline,
        signal,
      ),
    ),
  );
  if (signal.aborted) throw new InterruptedError();
  const lost = followed.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (lost.length > 0) throw new OperationError(lost.join('; '));

  // etcd, once, on one control plane's own address (never the VIP)
  const cps = spec.machines.filter((m) => m.role === 'controlplane');
  const first = tracks.find((t) => t.machine.role === 'controlplane')?.machine ?? cps[0];
  if (!first) throw new InputError('the spec has no control plane');
  const firstAddr = tracks.find((t) => t.machine === first)?.to ?? machineIp(first);
  if (!firstAddr) throw new InputError(`${first.name} has no static address to bootstrap etcd on`);
  const hostname = (m: Machine) => m.hostname ?? m.name;
  const cpApi = connect(firstAddr);
  let etcd: 'bootstrapped' | 'already';
  let kubeconfig: string;
  let kubeconfigChanged = false;
  const kubeconfigFile = path.join(o.out, 'kubeconfig');
  try {
    etcd = await bootstrapEtcd(cpApi, clock, deadline, signal);
    emit({ event: 'etcd', machine: first.name, result: etcd, elapsedMs: since() });
    const wantCps = (o.only ? tracks.filter((t) => t.machine.role === 'controlplane').map((t) => t.machine) : cps).map(hostname);
    await pollUntil('etcd members', etcdCheck(cpApi, wantCps, !o.only), clock, deadline, signal);
    emit({ event: 'healthy', check: 'etcd', elapsedMs: since() });
    await Promise.all(
      tracks.map(async (t) => {
        const api = connect(t.to, t.node.talosVersion ?? undefined);
        try {
          await pollUntil(`${t.machine.name} ready`, readyCheck(api, t.machine.name), clock, deadline, signal);
        } finally {
          api.close();
        }
      }),
    );
    emit({ event: 'healthy', check: 'nodes', elapsedMs: since() });
    // an existing kubeconfig of this cluster's CA and endpoint stays; else the node's admin kubeconfig
    const old = await readIfThere(kubeconfigFile);
    const oldAccess = old === undefined ? undefined : kubeAccess(old);
    if (old !== undefined && oldAccess && oldAccess.ca.trim() === secrets.certs.k8s.crt.trim() && oldAccess.server === spec.cluster.endpoint) {
      kubeconfig = old;
    } else {
      let fetched = '';
      await pollUntil(`kubeconfig from ${first.name}`, async () => ((fetched = await cpApi.kubeconfig()), undefined), clock, deadline, signal);
      kubeconfig = fetched;
      kubeconfigChanged = true;
    }
  } finally {
    cpApi.close();
  }
  const access = kubeAccess(kubeconfig);
  if (!access) throw new OperationError(`the kubeconfig from ${first.name} has no server, CA or client certificate`);
  const wantNodes = tracks.map((t) => hostname(t.machine));
  await pollUntil(`Kubernetes API ${access.server}`, kubeCheck(access, wantNodes), clock, deadline, signal);
  emit({ event: 'healthy', check: 'kubernetes', elapsedMs: since() });

  // files last, each atomic and 0600
  const files = [
    { file: kubeconfigFile, changed: kubeconfigChanged },
    { file: talosconfigFile, changed: !keepTalosconfig },
  ];
  if (kubeconfigChanged) await writeFileAtomic(kubeconfigFile, kubeconfig, SECRET);
  if (!keepTalosconfig) await writeFileAtomic(talosconfigFile, talosconfig, SECRET);
  files.forEach((f) => emit({ event: 'file', ...f }));
  if (!haveSecrets) files.unshift({ file: secretsFile, changed: true });

  const changed = !haveSecrets || etcd === 'bootstrapped' || files.some((f) => f.changed) || tracks.some((t) => t.action === 'applied');
  return {
    cluster: spec.metadata.name,
    endpoint: spec.cluster.endpoint,
    changed,
    elapsedMs: since(),
    machines: tracks.map((t) => ({ name: t.machine.name, role: t.machine.role, address: t.to, action: t.action, stages: t.stages, runningMs: t.runningMs })),
    etcd: { machine: first.name, result: etcd },
    files,
  };
}
