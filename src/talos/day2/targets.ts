/**
 * Which machines a day-two command acts on (--machine NAME ... or --all), and a mutual-TLS client
 * to each at its own address from the spec, with the talosconfig's identity.
 */
import { X509Certificate } from 'node:crypto';
import { InputError, OperationError } from '../../common/errors.js';
import type { Machine, Spec } from '../../spec/index.js';
import { didYouMean } from '../../spec/index.js';
import { machineIp } from '../node.js';
import { connectTalos, TalosPermissionError, type TalosApi } from '../api/index.js';
import type { TalosIdentity } from '../api/talosconfig.js';

export interface Target {
  machine: Machine;
  address: string;
  api: TalosApi;
}

export interface ConnectOptions {
  identity: TalosIdentity;
  port?: number;
  /** Deadline of each call. */
  callTimeoutMs?: number;
}

/**
 * The machines named (in the spec's order), or every machine with --all. `required`: refuse when
 * neither is given (commands that change machines); otherwise every machine.
 */
export function selectMachines(spec: Spec, names: string[], all: boolean, required: boolean): Machine[] {
  if (all && names.length > 0) throw new InputError('give --machine or --all, not both');
  if (!all && names.length === 0) {
    if (required) throw new InputError('say which machines: --machine NAME (repeatable) or --all');
    return spec.machines;
  }
  if (all) return spec.machines;
  const known = spec.machines.map((m) => m.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new InputError(`no machine ${unknown.join(', ')} in the spec${didYouMean(unknown[0]!, known)}`);
  return spec.machines.filter((m) => names.includes(m.name));
}

/** One client per machine (nothing is dialled yet); InputError for a machine without an address. */
export function connectMachines(machines: Machine[], opts: ConnectOptions): Target[] {
  const missing = machines.filter((m) => !machineIp(m));
  if (missing.length > 0) throw new InputError(`no address in the spec for ${missing.map((m) => m.name).join(', ')}: day-two commands reach each machine at its address`);
  return machines.map((machine) => {
    const address = machineIp(machine)!;
    const api = connectTalos({ endpoint: address, port: opts.port, timeoutMs: opts.callTimeoutMs ?? 10_000, tls: { mode: 'configured', ...opts.identity } });
    return { machine, address, api };
  });
}

export function closeAll(targets: Target[]): void {
  for (const t of targets) t.api.close();
}

/** The roles (Organization) of the talosconfig's client certificate. */
export function identityRoles(identity: TalosIdentity): string[] {
  try {
    const subject = new X509Certificate(identity.crt).subject;
    return subject.split('\n').filter((l) => l.startsWith('O=')).map((l) => l.slice(2));
  } catch {
    return [];
  }
}

/**
 * A PermissionDenied turned into what to do about it: which identity was used and which role the
 * operation needs. Other errors pass through.
 */
export function explainPermission(err: unknown, t: Target, what: string, needs: string, identity: TalosIdentity): unknown {
  if (!(err instanceof TalosPermissionError)) return err;
  const roles = identityRoles(identity);
  return new OperationError(
    `machine ${t.machine.name} (${t.address}): permission denied for ${what}: the talosconfig's certificate has role ${roles.join(', ') || '(none)'}, ${what} needs ${needs}`,
  );
}
