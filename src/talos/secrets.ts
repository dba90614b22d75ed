/**
 * The Talos secrets bundle (talosctl gen secrets / pkg/machinery/config/generate/secrets): the same
 * YAML fields, base64 PEM blocks and key algorithms, so bundles move freely between hearth and talosctl.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import type { TalosContract } from './contract.js';
import { keyMatchesCert, newCA, newClientCert, newECKey, parseCert, parsePrivateKey, privateKeyPem, type CertAndKey } from './pki.js';

/** PEM strings (decoded from the bundle's base64). */
export interface PemPair {
  crt: string;
  key?: string;
}

export interface SecretsBundle {
  cluster: { id: string; secret: string };
  secrets: { bootstraptoken: string; secretboxencryptionsecret?: string; aescbcencryptionsecret?: string };
  trustdinfo: { token: string };
  certs: {
    etcd: PemPair;
    k8s: PemPair;
    k8saggregator: PemPair;
    k8sserviceaccount: { key: string };
    os: PemPair;
  };
}

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** genToken(6, 16) of talosctl: [a-z0-9]{6}.[a-z0-9]{16}, a Kubernetes bootstrap token. */
export function genToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `${pick(6)}.${pick(16)}`;
}

const generateKeyPairAsync = promisify(generateKeyPair);

/** Makes a new bundle for a version contract; `now` is the CA NotBefore (talosctl's clock). */
export async function generateSecrets(contract: TalosContract, now: Date = new Date()): Promise<SecretsBundle> {
  const [etcd, k8s, k8saggregator, os, saKey] = await Promise.all([
    newCA({ kind: 'ecdsa', organization: 'etcd', now }),
    newCA({ kind: 'ecdsa', organization: 'kubernetes', now }),
    newCA({ kind: 'ecdsa', commonName: contract.aggregatorCACommonName ? 'front-proxy' : undefined, now }),
    newCA({ kind: 'ed25519', organization: 'talos', now }),
    contract.rsaServiceAccountKey
      ? generateKeyPairAsync('rsa', { modulusLength: 4096 }).then((kp) => privateKeyPem(kp.privateKey))
      : newECKey(),
  ]);
  const encryption = randomBytes(32).toString('base64');
  return {
    cluster: { id: randomBytes(32).toString('base64url') + '=', secret: randomBytes(32).toString('base64') },
    secrets: {
      bootstraptoken: genToken(),
      ...(contract.secretboxEncryption ? { secretboxencryptionsecret: encryption } : { aescbcencryptionsecret: encryption }),
    },
    trustdinfo: { token: genToken() },
    certs: { etcd, k8s, k8saggregator, k8sserviceaccount: { key: saKey }, os },
  };
}

/**
 * A bundle of the same shape as generateSecrets' for the contract, every value a distinct
 * placeholder: what a config rendered for review (every secret redacted) is rendered with, so no
 * key is generated for output that never shows one. The PEM placeholders are PEM-shaped, the
 * tokens token-shaped; Talos's schemas constrain none of these fields further.
 */
export function placeholderSecrets(contract: TalosContract): SecretsBundle {
  const pem = (what: string) => `-----BEGIN HEARTH PLACEHOLDER ${what}-----\n-----END HEARTH PLACEHOLDER ${what}-----\n`;
  const pair = (name: string): PemPair => ({ crt: pem(`${name} CERTIFICATE`), key: pem(`${name} PRIVATE KEY`) });
  const encryption = 'hearth-placeholder-encryption-secret';
  return {
    cluster: { id: 'hearth-placeholder-cluster-id', secret: 'hearth-placeholder-cluster-secret' },
    secrets: {
      bootstraptoken: 'hearth.placeholder00001',
      ...(contract.secretboxEncryption ? { secretboxencryptionsecret: encryption } : { aescbcencryptionsecret: encryption }),
    },
    trustdinfo: { token: 'hearth.placeholder00002' },
    certs: { etcd: pair('ETCD CA'), k8s: pair('KUBERNETES CA'), k8saggregator: pair('AGGREGATOR CA'), k8sserviceaccount: { key: pem('SERVICE ACCOUNT KEY') }, os: pair('TALOS CA') },
  };
}

/** The bundle as talosctl writes secrets.yaml (yaml.v3, four-space indent, base64 PEMs). */
export function serializeSecrets(bundle: SecretsBundle): string {
  const pair = (p: PemPair, ind: string) => `${ind}crt: ${b64(p.crt)}\n${ind}key: ${b64(p.key ?? '')}\n`;
  const s = bundle.secrets;
  let out = '';
  out += `cluster:\n    id: ${bundle.cluster.id}\n    secret: ${bundle.cluster.secret}\n`;
  out += `secrets:\n    bootstraptoken: ${s.bootstraptoken}\n`;
  if (s.secretboxencryptionsecret) out += `    secretboxencryptionsecret: ${s.secretboxencryptionsecret}\n`;
  if (s.aescbcencryptionsecret) out += `    aescbcencryptionsecret: ${s.aescbcencryptionsecret}\n`;
  out += `trustdinfo:\n    token: ${bundle.trustdinfo.token}\n`;
  out += 'certs:\n';
  out += `    etcd:\n${pair(bundle.certs.etcd, '        ')}`;
  out += `    k8s:\n${pair(bundle.certs.k8s, '        ')}`;
  out += `    k8saggregator:\n${pair(bundle.certs.k8saggregator, '        ')}`;
  out += `    k8sserviceaccount:\n        key: ${b64(bundle.certs.k8sserviceaccount.key)}\n`;
  out += `    os:\n${pair(bundle.certs.os, '        ')}`;
  return out;
}

/** Thrown for a bundle that cannot be used; the message names the field. */
export class SecretsError extends Error {
  override name = 'SecretsError';
}

/**
 * Reads a secrets.yaml (talosctl's or hearth's) and checks it the way talosctl's Bundle.Validate does:
 * every field present, exactly one encryption secret, certificates and keys parse and belong together.
 */
export function parseSecrets(text: string): SecretsBundle {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new SecretsError(`not YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const raw = doc.toJS() as Record<string, any> | null;
  if (!raw || typeof raw !== 'object') throw new SecretsError('not a secrets bundle (expected cluster:, secrets:, trustdinfo:, certs:)');
  const str = (v: unknown, field: string, required = true): string | undefined => {
    if (v === undefined || v === null || v === '') {
      if (required) throw new SecretsError(`${field} is required`);
      return undefined;
    }
    if (typeof v !== 'string') throw new SecretsError(`${field} must be a string`);
    return v;
  };
  const pem = (v: unknown, field: string, required = true): string | undefined => {
    const s = str(v, field, required);
    if (s === undefined) return undefined;
    const text = Buffer.from(s, 'base64').toString('utf8');
    if (!text.includes('-----BEGIN ')) throw new SecretsError(`${field} is not a base64-encoded PEM block`);
    return text;
  };
  const pair = (v: any, field: string): PemPair => {
    if (!v || typeof v !== 'object') throw new SecretsError(`${field} is required`);
    const crt = pem(v.crt, `${field}.crt`)!;
    const key = pem(v.key, `${field}.key`)!;
    try {
      parseCert(crt);
    } catch (err) {
      throw new SecretsError(`${field}.crt is invalid: ${(err as Error).message}`);
    }
    try {
      parsePrivateKey(key);
      if (!keyMatchesCert(crt, key)) throw new Error('the key does not belong to the certificate');
    } catch (err) {
      throw new SecretsError(`${field}.key is invalid: ${(err as Error).message}`);
    }
    return { crt, key };
  };
  const secrets = raw.secrets ?? {};
  const sb = str(secrets.secretboxencryptionsecret, 'secrets.secretboxencryptionsecret', false);
  const aes = str(secrets.aescbcencryptionsecret, 'secrets.aescbcencryptionsecret', false);
  if (!sb && !aes) throw new SecretsError('one of [secrets.secretboxencryptionsecret, secrets.aescbcencryptionsecret] is required');
  if (sb && aes) throw new SecretsError('only one of [secrets.secretboxencryptionsecret, secrets.aescbcencryptionsecret] is allowed');
  const certs = raw.certs ?? {};
  const saKey = pem(certs.k8sserviceaccount?.key, 'certs.k8sserviceaccount.key')!;
  try {
    parsePrivateKey(saKey);
  } catch (err) {
    throw new SecretsError(`certs.k8sserviceaccount.key is invalid: ${(err as Error).message}`);
  }
  const bundle: SecretsBundle = {
    cluster: { id: str(raw.cluster?.id, 'cluster.id')!, secret: str(raw.cluster?.secret, 'cluster.secret')! },
    secrets: {
      bootstraptoken: str(secrets.bootstraptoken, 'secrets.bootstraptoken')!,
      ...(sb ? { secretboxencryptionsecret: sb } : {}),
      ...(aes ? { aescbcencryptionsecret: aes } : {}),
    },
    trustdinfo: { token: str(raw.trustdinfo?.token, 'trustdinfo.token')! },
    certs: {
      etcd: pair(certs.etcd, 'certs.etcd'),
      k8s: pair(certs.k8s, 'certs.k8s'),
      k8saggregator: pair(certs.k8saggregator, 'certs.k8saggregator'),
      k8sserviceaccount: { key: saKey },
      os: pair(certs.os, 'certs.os'),
    },
  };
  // The talosconfig client certificate is signed with this key: Ed25519 (talosctl's) or ECDSA.
  const osKind = parsePrivateKey(bundle.certs.os.key!).asymmetricKeyType;
  if (osKind !== 'ed25519' && osKind !== 'ec') throw new SecretsError(`certs.os.key is a ${osKind} key; the Talos API CA needs Ed25519 or ECDSA`);
  return bundle;
}

/** The talosconfig client identity: a certificate for the given roles signed by the os CA. */
export async function talosClientCert(bundle: SecretsBundle, roles: string[] = ['os:admin'], now = new Date()): Promise<CertAndKey> {
  return newClientCert({ crt: bundle.certs.os.crt, key: bundle.certs.os.key! }, { organizations: roles, now });
}
