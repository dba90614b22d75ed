/**
 * The lease: one shape for the whole DHCP server — what the handler binds, what the stores persist
 * and what `DhcpServer.leases()` lists — plus the change records a store applies, the store port
 * (`LeaseStore`) and the in-memory store for unit tests.
 */

export interface Lease {
  /** Lower-case colon MAC. */
  mac: string;
  /** Dotted IPv4 address. */
  ip: string;
  /** Epoch ms when it expires. */
  expiresAt: number;
  /** Fixed address from machines[] rather than from the range. */
  fixed: boolean;
  hostname?: string;
  /** released: given back by the client (kept so it gets the same address next time). */
  state: 'bound' | 'released';
}

export interface DeclineRecord {
  ip: string;
  /** Epoch ms until which the address is not handed out. */
  until: number;
  mac: string;
}

export type LeaseChange =
  | { kind: 'lease'; lease: Lease }
  | { kind: 'forget'; mac: string }
  | { kind: 'decline'; decline: DeclineRecord };

export interface LeaseState {
  leases: Lease[];
  declines: DeclineRecord[];
}

export interface LeaseStore {
  load(): Promise<LeaseState>;
  /** Resolves when the changes are durable, rejects when they are not. Changes are applied in call order. */
  commit(changes: LeaseChange[]): Promise<void>;
  close(): Promise<void>;
}

/** Applies changes to a state mirror (shared by the stores). */
export class Mirror {
  readonly leases = new Map<string, Lease>();
  readonly declines = new Map<string, DeclineRecord>();
  apply(changes: LeaseChange[]): void {
    for (const c of changes) {
      if (c.kind === 'lease') this.leases.set(c.lease.mac, c.lease);
      else if (c.kind === 'forget') this.leases.delete(c.mac);
      else this.declines.set(c.decline.ip, c.decline);
    }
  }
  applyState(s: LeaseState): void {
    for (const lease of s.leases) this.leases.set(lease.mac, lease);
    for (const decline of s.declines) this.declines.set(decline.ip, decline);
  }
  state(now = Date.now()): LeaseState {
    for (const [ip, d] of this.declines) if (d.until <= now) this.declines.delete(ip);
    return { leases: [...this.leases.values()], declines: [...this.declines.values()] };
  }
}

export class MemoryLeaseStore implements LeaseStore {
  private readonly mirror = new Mirror();
  async load(): Promise<LeaseState> {
    return this.mirror.state();
  }
  async commit(changes: LeaseChange[]): Promise<void> {
    this.mirror.apply(changes);
  }
  async close(): Promise<void> {}
}
