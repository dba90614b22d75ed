import type { FakeKubeApiServer } from './server.js';
import type { Obj } from './types.js';

/**
 * A stand-in for Flux's helm-controller, driving the double: a HelmRelease turns Ready once every
 * release it depends on is Ready; releases named in `fail` end InstallFailed + Stalled instead.
 * It records the order releases became Ready.
 */
export class FakeHelmController {
  readonly readyOrder: string[] = [];
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly api: FakeKubeApiServer,
    private readonly opts: { tickMs?: number; fail?: Set<string>; hold?: Set<string> } = {},
  ) {}

  start(): this {
    this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 30);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Ready for the object's current generation (a spec change makes it reconcile again). */
  private isReady(o: Obj | undefined): boolean {
    const conds = ((o?.status as { conditions?: { type: string; status: string; observedGeneration?: number }[] })?.conditions ?? []);
    return conds.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === o!.metadata.generation);
  }

  /** One reconcile round: each release whose dependencies were Ready at the start of the round. */
  tick(): void {
    const all = this.api.objects('HelmRelease');
    const readyAtStart = new Set(all.filter((o) => this.isReady(o)).map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
    for (const hr of all) {
      const k = `${hr.metadata.namespace}/${hr.metadata.name}`;
      if (readyAtStart.has(k) || this.opts.hold?.has(hr.metadata.name)) continue;
      const deps = ((hr.spec as { dependsOn?: { name: string; namespace?: string }[] }).dependsOn ?? []).map((d) => `${d.namespace ?? hr.metadata.namespace}/${d.name}`);
      const gen = hr.metadata.generation;
      const now = new Date().toISOString();
      if (!deps.every((d) => readyAtStart.has(d))) {
        const waiting = deps.filter((d) => !readyAtStart.has(d));
        this.api.setStatus('HelmRelease', hr.metadata.name, hr.metadata.namespace, {
          observedGeneration: gen,
          conditions: [{ type: 'Ready', status: 'False', reason: 'DependencyNotReady', message: `dependency '${waiting[0]}' is not ready`, observedGeneration: gen, lastTransitionTime: now }],
        });
        continue;
      }
      if (this.opts.fail?.has(hr.metadata.name)) {
        this.api.setStatus('HelmRelease', hr.metadata.name, hr.metadata.namespace, {
          observedGeneration: gen,
          installFailures: 4,
          conditions: [
            { type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'Helm install failed for release x: context deadline exceeded', observedGeneration: gen, lastTransitionTime: now },
            { type: 'Stalled', status: 'True', reason: 'RetriesExceeded', message: 'Failed to install after 3 attempt(s)', observedGeneration: gen, lastTransitionTime: now },
          ],
        });
        continue;
      }
      this.api.setStatus('HelmRelease', hr.metadata.name, hr.metadata.namespace, {
        observedGeneration: gen,
        conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'Release reconciliation succeeded', observedGeneration: gen, lastTransitionTime: now }],
      });
      this.readyOrder.push(hr.metadata.name);
    }
  }
}
