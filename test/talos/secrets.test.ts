import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { KeyObject, webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { contractFor, generateSecrets, parseSecrets, serializeSecrets, talosClientCert, type SecretsBundle } from '../../src/talos/index.js';
import { TALOS_REF, tmpDir } from './helpers.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const skip = hasOpenssl ? false : 'openssl is not installed';
const REF_TEXT = readFileSync(path.join(TALOS_REF, 'secrets-from-talosctl.yaml'), 'utf8');
const ref = parseSecrets(REF_TEXT);
const dir = tmpDir('pki');
let n = 0;

/** openssl reads ED25519 PRIVATE KEY blocks as plain PKCS#8. */
function file(pem: string): string {
  const f = path.join(dir, `f${n++}.pem`);
  writeFileSync(f, pem.replace(/ED25519 PRIVATE KEY/g, 'PRIVATE KEY'));
  return f;
}
const ossl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

/** What must match talosctl: algorithms, subject, issuer, extensions (names and values except key ids). */
function certProfile(pem: string): { text: string; days: number } {
  const text = ossl('x509', '-in', file(pem), '-noout', '-text');
  const keep = text
    .split('\n')
    .filter((l) => !/^\s+([0-9a-f]{2}:)+[0-9a-f]{0,2}\s*$/i.test(l) && !/^\s+[0-9A-F]{2}(:[0-9A-F]{2}){19}\s*$/.test(l))
    .filter((l) => !/Not (Before|After)|Serial Number|^\s+[0-9a-f:]+$|pub:|Signature Value/.test(l))
    .join('\n');
  const nb = Date.parse(/Not Before: (.*)/.exec(text)![1]!);
  const na = Date.parse(/Not After : (.*)/.exec(text)![1]!);
  return { text: keep, days: Math.round((na - nb) / 86400000) };
}
const keyType = (pem: string) => ossl('pkey', '-in', file(pem), '-noout', '-text').split('\n')[0]!.replace(/\(.*\)/, '').trim();

let fresh16: SecretsBundle;
let fresh113: SecretsBundle;

test('a talosctl-made bundle loads unchanged and writes back byte for byte', () => {
  assert.equal(serializeSecrets(ref), REF_TEXT);
  assert.equal(ref.secrets.secretboxencryptionsecret, '6zWBpno849HlD5jeuTmGToFYP+z8lgkJa0fhHobv7mE=');
});

test('an old bundle with aescbcEncryptionSecret loads and keeps that field', () => {
  const old = REF_TEXT.replace('secretboxencryptionsecret:', 'aescbcencryptionsecret:');
  const b = parseSecrets(old);
  assert.equal(b.secrets.aescbcencryptionsecret, '6zWBpno849HlD5jeuTmGToFYP+z8lgkJa0fhHobv7mE=');
  assert.equal(b.secrets.secretboxencryptionsecret, undefined);
  assert.equal(serializeSecrets(b), old);
});

test('broken bundles are refused with the field named', () => {
  assert.throws(() => parseSecrets(REF_TEXT.replace(/(trustdinfo:\n\s+token: )\S+/, '$1""')), /trustdinfo.token is required/);
  assert.throws(() => parseSecrets(REF_TEXT.replace(/(etcd:\n\s+crt: )\S+/, '$1bm90IGEgY2VydA==')), /certs.etcd.crt/);
  // etcd key swapped for the k8s key: the key does not belong to the certificate
  const k8sKey = /k8s:\n\s+crt: \S+\n\s+key: (\S+)/.exec(REF_TEXT)![1]!;
  assert.throws(() => parseSecrets(REF_TEXT.replace(/(etcd:\n\s+crt: \S+\n\s+key: )\S+/, `$1${k8sKey}`)), /certs.etcd.key is invalid/);
});

test('a bundle whose Talos API CA has an RSA key is refused: the talosconfig certificate needs Ed25519 or ECDSA', async () => {
  const x509 = await import('@peculiar/x509'); // after src/talos: it installs the reflection polyfill x509 needs
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'O=talos',
    notBefore: now,
    notAfter: new Date(now.getTime() + 86_400_000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: alg,
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs1', format: 'pem' }) as string;
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  const text = REF_TEXT.replace(/(\n {4}os:\n\s+crt: )\S+(\n\s+key: )\S+/, `$1${b64(cert.toString('pem'))}$2${b64(keyPem)}`);
  assert.notEqual(text, REF_TEXT);
  assert.throws(() => parseSecrets(text), { name: 'SecretsError', message: 'certs.os.key is a rsa key; the Talos API CA needs Ed25519 or ECDSA' });
});

test('new bundles: same shape as talosctl, tokens and ids in its formats', async () => {
  fresh16 = await generateSecrets(contractFor('v1.6.4'));
  fresh113 = await generateSecrets(contractFor('v1.13.9'));
  for (const b of [fresh16, fresh113]) {
    assert.match(b.cluster.id, /^[A-Za-z0-9_-]{43}=$/);
    assert.equal(Buffer.from(b.cluster.secret, 'base64').length, 32);
    assert.match(b.secrets.bootstraptoken, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.match(b.trustdinfo.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.equal(Buffer.from(b.secrets.secretboxencryptionsecret!, 'base64').length, 32);
    const text = serializeSecrets(b);
    assert.deepEqual(Object.keys(parseSecrets(text)), Object.keys(ref));
    assert.deepEqual(parseSecrets(text), b, 'round trip');
  }
});

test('openssl: every certificate and key parses; algorithms, subjects, extensions, validity equal talosctl', { skip }, () => {
  for (const b of [fresh16, fresh113]) {
    for (const name of ['etcd', 'k8s', 'k8saggregator', 'os'] as const) {
      const mine = certProfile(b.certs[name].crt);
      const theirs = certProfile(ref.certs[name].crt);
      assert.equal(mine.days, 3650, `${name} valid 87600h`);
      assert.equal(mine.days, theirs.days);
      if (name === 'k8saggregator' && b === fresh113) {
        // Talos > 1.11 names the front-proxy CA; the reference bundle predates that
        assert.match(mine.text, /Subject: CN = front-proxy/);
        assert.equal(mine.text.replace(/CN = front-proxy/g, ''), theirs.text.replace(/(Issuer|Subject):\s*$/gm, '$1: '));
      } else {
        assert.equal(mine.text, theirs.text, `${name} certificate profile`);
      }
      assert.equal(keyType(b.certs[name].key!), keyType(ref.certs[name].key!), `${name} key algorithm`);
    }
  }
  assert.equal(keyType(fresh16.certs.k8sserviceaccount.key), keyType(ref.certs.k8sserviceaccount.key));
  assert.match(keyType(fresh16.certs.k8sserviceaccount.key), /Private-Key: *$|^Private-Key/);
  // Talos > 1.6 uses an RSA-4096 service-account key
  assert.match(fresh113.certs.k8sserviceaccount.key, /BEGIN RSA PRIVATE KEY/);
  assert.match(ossl('pkey', '-in', file(fresh113.certs.k8sserviceaccount.key), '-noout', '-text').split('\n')[0]!, /4096 bit/);
  assert.match(fresh16.certs.k8sserviceaccount.key, /BEGIN EC PRIVATE KEY/);
  assert.match(fresh16.certs.os.key!, /BEGIN ED25519 PRIVATE KEY/);
});

test('openssl: SubjectKeyIdentifier is computed as Go does (SHA-1 of the key bits)', { skip }, () => {
  for (const b of [fresh16, fresh113]) {
    for (const name of ['etcd', 'os'] as const) {
      const f = file(b.certs[name].crt);
      const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(ossl('x509', '-in', f, '-noout', '-text'))![1]!.replace(/:/g, '').toLowerCase();
      const der = Buffer.from(ossl('x509', '-in', f, '-noout', '-pubkey').replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
      const bits = name === 'os' ? der.subarray(der.length - 32) : der.subarray(der.length - 65);
      assert.equal(ski, execFileSync('openssl', ['dgst', '-sha1', '-r'], { input: bits }).toString().split(' ')[0]);
    }
  }
});

test('openssl: the talosconfig client certificate (os:admin) verifies against the os CA', { skip }, async () => {
  for (const b of [ref, fresh113]) {
    const client = await talosClientCert(b);
    const ca = file(b.certs.os.crt);
    assert.match(ossl('verify', '-CAfile', ca, '-purpose', 'sslclient', file(client.crt)), /OK/);
    const text = ossl('x509', '-in', file(client.crt), '-noout', '-text');
    assert.match(text, /Subject: O = os:admin/);
    assert.match(text, /Issuer: O = talos/);
    assert.match(text, /Signature Algorithm: ED25519/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /Extended Key Usage: \s*\n\s+TLS Web Client Authentication\n/);
    assert.doesNotMatch(text, /Basic Constraints/);
    assert.equal(certProfile(client.crt).days, 365);
    assert.match(client.key, /BEGIN ED25519 PRIVATE KEY/);
    assert.match(keyType(client.key), /ED25519/);
  }
});
