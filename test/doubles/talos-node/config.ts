/**
 * What a Talos node double reads from the machine config applied to it: its role, the os CA it signs
 * its API certificate with, the cluster CA for kubeconfigs, its hostname, and the address it comes
 * back at after the reboot (v1.6: machine.network.interfaces; v1.13: LinkConfig / BondConfig docs).
 */
import { parseAllDocuments } from 'yaml';

export interface AppliedConfig {
  text: string;
  machineType: 'controlplane' | 'worker' | 'init';
  /** Workers get the CA certificates without keys; their API certificate comes from trustd. */
  machineCa: { crt: string; key?: string };
  clusterCa: { crt: string; key?: string };
  clusterName: string;
  clusterId: string;
  endpoint: string;
  hostname?: string;
  /** Static addresses as CIDRs, with the link they sit on. */
  addresses: { link: string; cidr: string }[];
}

export class ConfigParseError extends Error {}

const pem = (b64: unknown, what: string): string => {
  if (typeof b64 !== 'string' || b64 === '') throw new ConfigParseError(`${what} is missing`);
  return Buffer.from(b64, 'base64').toString('utf8');
};
const optionalPem = (b64: unknown): { key?: string } => (typeof b64 === 'string' && b64 !== '' ? { key: Buffer.from(b64, 'base64').toString('utf8') } : {});

export function parseAppliedConfig(data: Buffer): AppliedConfig {
  const text = data.toString('utf8');
  const docs = parseAllDocuments(text);
  const objs: any[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new ConfigParseError(`failed to parse config: ${d.errors[0]!.message.split('\n')[0]}`);
    const js = d.toJS();
    if (js !== null && js !== undefined) objs.push(js);
  }
  const main = objs.find((o) => o.kind === undefined && o.machine);
  if (!main) throw new ConfigParseError('failed to parse config: no v1alpha1 machine configuration document');
  const m = main.machine;
  const type = m.type;
  if (type !== 'controlplane' && type !== 'worker' && type !== 'init') throw new ConfigParseError(`unknown machine type "${type}"`);
  if (type !== 'worker' && !m.ca?.key) throw new ConfigParseError('machine.ca.key is missing (a control plane signs its own API certificate)');
  const addresses: AppliedConfig['addresses'] = [];
  for (const i of m.network?.interfaces ?? []) {
    for (const a of i.addresses ?? []) addresses.push({ link: i.interface ?? '', cidr: String(a) });
  }
  let hostname: string | undefined = m.network?.hostname;
  for (const d of objs) {
    if (d.kind === 'LinkConfig' || d.kind === 'BondConfig') {
      for (const a of d.addresses ?? []) addresses.push({ link: d.name, cidr: String(a.address) });
    }
    if (d.kind === 'HostnameConfig' && d.hostname) hostname = d.hostname;
  }
  return {
    text,
    machineType: type,
    machineCa: { crt: pem(m.ca?.crt, 'machine.ca.crt'), ...optionalPem(m.ca?.key) },
    clusterCa: { crt: pem(main.cluster?.ca?.crt, 'cluster.ca.crt'), ...optionalPem(main.cluster?.ca?.key) },
    clusterName: main.cluster?.clusterName ?? 'talos',
    clusterId: main.cluster?.id ?? main.cluster?.clusterName ?? '',
    endpoint: main.cluster?.controlPlane?.endpoint ?? '',
    ...(hostname ? { hostname } : {}),
    addresses,
  };
}

/** The address (without prefix) the node answers at once configured, if the config gives one. */
export function configuredAddress(c: AppliedConfig): string | undefined {
  return c.addresses[0]?.cidr.split('/')[0];
}
