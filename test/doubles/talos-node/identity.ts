/**
 * The two TLS personalities of a Talos node, and the kubeconfig it hands out:
 * - maintenance: a CA made in memory at each boot signs the API certificate; no client auth;
 * - configured: the API certificate is signed by the applied config's machine.ca (the os CA), with
 *   the node's IPs as SANs, and clients must present a certificate from that CA.
 */
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { newCA, newLeafCert, parsePrivateKey, type CertAndKey } from '../../../src/talos/pki.js';
import type { AppliedConfig } from './config.js';

const HOUR = 3600_000;

function pkcs8(key: string): string {
  return parsePrivateKey(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

export async function maintenanceIdentity(ips: string[], now = new Date()): Promise<CertAndKey> {
  const ca = await newCA({ kind: 'ed25519', organization: 'talos', now });
  return newLeafCert(ca, { organizations: [], now, validityMs: 24 * HOUR, server: { ipAddresses: ips, dnsNames: ['talos'] } });
}

/** The API certificate of a configured node, signed by `issuer` (the os CA, its own or trustd's). */
export async function configuredIdentity(config: AppliedConfig, issuer: CertAndKey, ips: string[], now = new Date()): Promise<CertAndKey> {
  return newLeafCert(issuer, {
    organizations: [],
    commonName: config.hostname ?? 'talos',
    now,
    validityMs: 24 * HOUR,
    server: { ipAddresses: ips, dnsNames: config.hostname ? [config.hostname] : [] },
  });
}

export function serverCredentials(id: CertAndKey, clientCa?: string): grpc.ServerCredentials {
  const pair = [{ private_key: Buffer.from(pkcs8(id.key)), cert_chain: Buffer.from(id.crt) }];
  return clientCa ? grpc.ServerCredentials.createSsl(Buffer.from(clientCa), pair, true) : grpc.ServerCredentials.createSsl(null, pair, false);
}

/** The admin kubeconfig a control plane returns: client certificate O=system:masters, CN=admin, signed by the cluster CA. */
export async function adminKubeconfig(config: AppliedConfig, now = new Date()): Promise<string> {
  if (!config.clusterCa.key) throw new Error('cluster.ca.key is missing');
  const client = await newLeafCert({ crt: config.clusterCa.crt, key: config.clusterCa.key }, { organizations: ['system:masters'], commonName: 'admin', now, validityMs: 365 * 24 * HOUR });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const context = `admin@${config.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: config.clusterName, cluster: { server: config.endpoint, 'certificate-authority-data': b64(config.clusterCa.crt) } }],
    users: [{ name: context, user: { 'client-certificate-data': b64(client.crt), 'client-key-data': b64(client.key) } }],
    contexts: [{ context: { cluster: config.clusterName, namespace: 'default', user: context }, name: context }],
    'current-context': context,
  });
}
