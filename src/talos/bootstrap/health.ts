/**
 * After every node runs: bootstrap etcd once on one control plane's own address (FailedPrecondition
 * is retried with backoff, AlreadyExists means it was done before), then wait until the cluster is
 * healthy — etcd members are the control planes, every node is running and ready, the Kubernetes
 * API answers /readyz with the kubeconfig's certificate and every machine is a Ready Node.
 */
import { machineReadiness, TalosAlreadyExistsError, TalosPreconditionError, TalosTimeoutError, TalosUnavailableError, type TalosApi } from '../api/index.js';
import { backoff, seconds, type Clock } from './clock.js';
import { HealthTimeoutError, InterruptedError } from './errors.js';
import { kubeAccess, nodeReadiness, readyz, type KubeAccess } from './kube.js';

const MAX_POLLS = 10_000;

const transient = (err: unknown): boolean => err instanceof TalosPreconditionError || err instanceof TalosUnavailableError || err instanceof TalosTimeoutError;

/**
 * Polls `check` (undefined = passed, else why not yet) with backoff until it passes or the deadline;
 * HealthTimeoutError naming `what` and the last reason.
 */
export async function pollUntil(what: string, check: () => Promise<string | undefined>, clock: Clock, deadline: number, signal: AbortSignal): Promise<void> {
  const started = clock.now();
  let why = 'not checked';
  for (let attempt = 0; attempt < MAX_POLLS; attempt++) {
    if (signal.aborted) throw new InterruptedError();
    try {
      const r = await check();
      if (r === undefined) return;
      why = r;
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
    const left = deadline - clock.now();
    if (left <= 0) break;
    await clock.sleep(Math.min(backoff(attempt), left), signal).catch(() => undefined);
  }
  if (signal.aborted) throw new InterruptedError();
  throw new HealthTimeoutError(`${what}: not healthy after ${seconds(clock.now() - started)} (${why})`);
}

/** Bootstrap etcd on `api` (a control plane's own address): 'bootstrapped' now or 'already' before. */
export async function bootstrapEtcd(api: TalosApi, clock: Clock, deadline: number, signal: AbortSignal): Promise<'bootstrapped' | 'already'> {
  let result: 'bootstrapped' | 'already' = 'already';
  await pollUntil(
    `etcd bootstrap on ${api.node}`,
    async () => {
      try {
        await api.bootstrap();
        result = 'bootstrapped';
        return undefined;
      } catch (err) {
        if (err instanceof TalosAlreadyExistsError) return undefined;
        if (transient(err)) return (err as Error).message;
        throw Object.assign(new Error((err as Error).message), { fatal: err });
      }
    },
    clock,
    deadline,
    signal,
  ).catch((err: unknown) => {
    const fatal = (err as { fatal?: unknown }).fatal;
    throw fatal ?? err;
  });
  return result;
}

/** etcd's members are exactly the control planes (by hostname); with `exact` false, at least them. */
export function etcdCheck(api: TalosApi, controlPlanes: string[], exact = true): () => Promise<string | undefined> {
  return async () => {
    const members = (await api.etcdMemberList()).filter((m) => !m.isLearner).map((m) => m.hostname);
    const missing = controlPlanes.filter((h) => !members.includes(h));
    const extra = exact ? members.filter((h) => !controlPlanes.includes(h)) : [];
    if (missing.length === 0 && extra.length === 0) return undefined;
    return `etcd members ${members.join(', ') || 'none'}; want ${controlPlanes.join(', ')}`;
  };
}

/** The node is running and ready (MachineStatus). */
export function readyCheck(api: TalosApi, machine: string): () => Promise<string | undefined> {
  return async () => {
    const r = await machineReadiness(api);
    if (r.problem === undefined) return undefined;
    return `${machine} is ${r.stage}${r.unmet ? ` (${r.unmet})` : ', not ready'}`;
  };
}

/** /readyz answers 200 and every hostname is a Ready Node. */
export function kubeCheck(access: KubeAccess, hostnames: string[]): () => Promise<string | undefined> {
  return async () => {
    const r = await readyz(access);
    if (!r.ok) return r.detail;
    const nodes = await nodeReadiness(access);
    const notReady = hostnames.filter((h) => !nodes.get(h));
    return notReady.length === 0 ? undefined : `Nodes not Ready yet: ${notReady.join(', ')}`;
  };
}

export { kubeAccess };
