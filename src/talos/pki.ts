/**
 * X.509 for the Talos secrets bundle, made the way talosctl makes it (siderolabs/crypto on Go's
 * crypto/x509):
 * - CAs: self-signed, 128-bit random serial, NotBefore = now, NotAfter = now + 87600h, KeyUsage
 *   digitalSignature+keyCertSign (critical), ExtKeyUsage serverAuth+clientAuth, BasicConstraints
 *   CA:TRUE (critical), SubjectKeyIdentifier = SHA-1 of the public key bits, no AuthorityKeyIdentifier.
 * - etcd/k8s/aggregator: ECDSA P-256 with SHA-256, keys as SEC1 "EC PRIVATE KEY".
 * - os (Talos API): Ed25519, key as PKCS#8 under the label "ED25519 PRIVATE KEY".
 * - Talos API client certificates (talosconfig): key of the CA's kind, Subject O=<roles>, KeyUsage
 *   digitalSignature (critical), ExtKeyUsage clientAuth, AuthorityKeyIdentifier = the CA's SKI,
 *   no BasicConstraints, NotAfter = now + 1 year.
 */
import '@abraham/reflection';
import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyKind = 'ecdsa' | 'ed25519';

/** PEM text of a certificate and its private key, as talosctl stores them (before base64). */
export interface CertAndKey {
  crt: string;
  key: string;
}

export const CA_VALIDITY_MS = 87600 * 3600 * 1000;
export const CLIENT_CERT_VALIDITY_MS = 365 * 24 * 3600 * 1000;

const ALG = {
  ecdsa: { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  ed25519: { gen: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
} as const;

/** Go's rand.Int(2^128): a positive serial, DER-encoded without a sign problem. */
function serialHex(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f || 0x01;
  return b.toString('hex');
}

async function generate(kind: KeyKind): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG[kind].gen as webcrypto.EcKeyGenParams, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** SEC1 for EC keys, labelled PKCS#8 for Ed25519: the PEM blocks siderolabs/crypto writes. */
export function privateKeyPem(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ec') return key.export({ type: 'sec1', format: 'pem' }) as string;
  if (key.asymmetricKeyType === 'ed25519') {
    const der = key.export({ type: 'pkcs8', format: 'der' });
    return pemBlock('ED25519 PRIVATE KEY', der);
  }
  if (key.asymmetricKeyType === 'rsa') return key.export({ type: 'pkcs1', format: 'pem' }) as string;
  throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
}

export function pemBlock(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Reads any PEM private key talosctl writes (EC, ED25519 (PKCS#8), RSA, PKCS#8). */
export function parsePrivateKey(pem: string): KeyObject {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\s*([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new Error('no PEM block');
  const der = Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64');
  switch (m[1]) {
    case 'EC PRIVATE KEY':
      return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
    case 'RSA PRIVATE KEY':
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
    case 'ED25519 PRIVATE KEY':
    case 'PRIVATE KEY':
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    default:
      throw new Error(`unsupported PEM block "${m[1]}"`);
  }
}

/** Go's SubjectKeyId: SHA-1 over the subjectPublicKey bit string. */
function subjectKeyId(spki: ArrayBuffer): string {
  const pub = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  let bits: Buffer;
  if (pub.asymmetricKeyType === 'ed25519') {
    bits = Buffer.from((pub.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  } else {
    // uncompressed EC point: the last 65 bytes of a P-256 SPKI
    const der = Buffer.from(spki);
    bits = der.subarray(der.length - 65);
  }
  return createHash('sha1').update(bits).digest('hex');
}

function subjectName(org: string | undefined, cn?: string): string {
  const parts: string[] = [];
  if (org) parts.push(`O=${org}`);
  if (cn) parts.push(`CN=${cn}`);
  return parts.join(', ');
}

/** A self-signed CA as siderolabs/crypto NewSelfSignedCertificateAuthority makes it. */
export async function newCA(opts: { kind: KeyKind; organization?: string; commonName?: string; now: Date }): Promise<CertAndKey> {
  const keys = await generate(opts.kind);
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  const name = subjectName(opts.organization, opts.commonName);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(),
    subject: name,
    issuer: name,
    notBefore: opts.now,
    notAfter: new Date(opts.now.getTime() + CA_VALIDITY_MS),
    signingAlgorithm: ALG[opts.kind].sign,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.SubjectKeyIdentifierExtension(subjectKeyId(spki)),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  return { crt: cert.toString('pem') + '\n', key: privateKeyPem(key) };
}

/** A bare private key (the Kubernetes service-account key): ECDSA P-256, SEC1 PEM. */
export async function newECKey(): Promise<string> {
  const keys = await generate('ecdsa');
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return privateKeyPem(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }));
}

/** What a leaf certificate says about its holder: Subject O (roles) and CN, and for servers the SANs. */
export interface LeafOptions {
  organizations: string[];
  commonName?: string;
  now: Date;
  validityMs?: number;
  /** A server certificate (ExtKeyUsage serverAuth) with these IP / DNS SANs; a client one otherwise. */
  server?: { ipAddresses: string[]; dnsNames: string[] };
}

/**
 * A client certificate signed by the given CA: talosctl's NewAdminCertificateAndKey (the talosconfig
 * identity, Organization = roles such as os:admin).
 */
export function newClientCert(ca: CertAndKey, opts: { organizations: string[]; now: Date; validityMs?: number }): Promise<CertAndKey> {
  return newLeafCert(ca, opts);
}

/**
 * A leaf certificate signed by the given CA, its key of the CA's kind: a client identity (Subject
 * O=roles, clientAuth) or, with `server`, a server certificate carrying IP and DNS SANs (serverAuth),
 * as Talos signs apid's certificate with the os CA.
 */
export async function newLeafCert(ca: CertAndKey, opts: LeafOptions): Promise<CertAndKey> {
  const caCert = new x509.X509Certificate(ca.crt);
  const caKeyObj = parsePrivateKey(ca.key);
  const kind: KeyKind = caKeyObj.asymmetricKeyType === 'ed25519' ? 'ed25519' : 'ecdsa';
  if (caKeyObj.asymmetricKeyType !== 'ed25519' && caKeyObj.asymmetricKeyType !== 'ec') {
    throw new Error(`unsupported CA key type ${caKeyObj.asymmetricKeyType}`);
  }
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    caKeyObj.export({ type: 'pkcs8', format: 'der' }),
    ALG[kind].gen as webcrypto.EcKeyImportParams,
    false,
    ['sign'],
  );
  const keys = await generate(kind);
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([opts.server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth], false),
  ];
  if (ski) extensions.push(new x509.AuthorityKeyIdentifierExtension(ski.keyId, false));
  if (opts.server) {
    const names = [
      ...opts.server.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ...opts.server.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ];
    if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(),
    subject: [...opts.organizations.map((o) => `O=${o}`), ...(opts.commonName ? [`CN=${opts.commonName}`] : [])].join(', '),
    issuer: caCert.subject,
    notBefore: opts.now,
    notAfter: new Date(opts.now.getTime() + (opts.validityMs ?? CLIENT_CERT_VALIDITY_MS)),
    signingAlgorithm: ALG[kind].sign,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { crt: cert.toString('pem') + '\n', key: privateKeyPem(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })) };
}

/** Parses a PEM certificate; throws with a short reason. */
export function parseCert(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

/** Whether the private key belongs to the certificate's public key. */
export function keyMatchesCert(crtPem: string, keyPem: string): boolean {
  const crt = new x509.X509Certificate(crtPem);
  const pub = createPublicKey({ key: Buffer.from(crt.publicKey.rawData), format: 'der', type: 'spki' });
  const fromPriv = createPublicKey(parsePrivateKey(keyPem));
  return pub.export({ type: 'spki', format: 'der' }).equals(fromPriv.export({ type: 'spki', format: 'der' }));
}
