/**
 * What several Talos node doubles share: who answers at which address (so one node can proxy a
 * call to another, as apid does for the `node` metadata key) and each cluster's etcd membership.
 */
import type { CertAndKey } from '../../../src/talos/pki.js';
import type { TalosNodeDouble } from './double.js';

export class TalosDoubleNetwork {
  private readonly nodes = new Set<TalosNodeDouble>();
  /** clusterId -> etcd members, in join order. */
  private readonly etcd = new Map<string, TalosNodeDouble[]>();

  /** os CAs whose trustd answers although no control plane double plays it (tests of lone workers). */
  private readonly trustd: CertAndKey[] = [];

  addTrustd(osCa: CertAndKey): void {
    this.trustd.push(osCa);
  }

  /**
   * The os CA (with key) a worker's trustd request is signed with: a configured control plane of the
   * same CA on this network, or a CA given to addTrustd.
   */
  trustdFor(caCrt: string): CertAndKey | undefined {
    for (const n of this.nodes) {
      const ca = n.config?.machineCa;
      if (n.answering && ca?.key && ca.crt === caCrt) return { crt: ca.crt, key: ca.key };
    }
    return this.trustd.find((c) => c.crt === caCrt);
  }

  private readonly waiters = new Set<() => void>();

  /** Something about the nodes changed (a config applied, a node answering): wake trustd waiters. */
  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves with an os CA signer for a worker's certificate once a control plane of that CA answers
   * (a real worker keeps asking trustd until one does); undefined after `timeoutMs`.
   */
  waitTrustd(caCrt: string, timeoutMs: number): Promise<CertAndKey | undefined> {
    const now = this.trustdFor(caCrt);
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (v: CertAndKey | undefined): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      const check = (): void => {
        const ca = this.trustdFor(caCrt);
        if (ca) done(ca);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      timer.unref();
      this.waiters.add(check);
    });
  }

  register(node: TalosNodeDouble): void {
    this.nodes.add(node);
  }

  unregister(node: TalosNodeDouble): void {
    this.nodes.delete(node);
  }

  /** The double currently answering at `address`, if any. */
  at(address: string): TalosNodeDouble | undefined {
    return [...this.nodes].find((n) => n.answering && n.address === address);
  }

  bootstrapped(clusterId: string): boolean {
    return (this.etcd.get(clusterId)?.length ?? 0) > 0;
  }

  members(clusterId: string): TalosNodeDouble[] {
    return [...(this.etcd.get(clusterId) ?? [])];
  }

  /** Founds etcd with this member, then lets every running control plane of the cluster join. */
  bootstrap(clusterId: string, founder: TalosNodeDouble): void {
    this.etcd.set(clusterId, [founder]);
    for (const n of this.nodes) n.clusterChanged(clusterId);
  }

  join(clusterId: string, member: TalosNodeDouble): void {
    const list = this.etcd.get(clusterId);
    if (list && !list.includes(member)) list.push(member);
  }

  leave(clusterId: string, member: TalosNodeDouble): void {
    const list = this.etcd.get(clusterId);
    if (list) this.etcd.set(clusterId, list.filter((m) => m !== member));
  }
}
