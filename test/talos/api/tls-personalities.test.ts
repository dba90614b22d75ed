/**
 * The double's two TLS personalities, checked with a real TLS client (openssl s_client) rather than
 * our own: maintenance = a certificate no CA vouches for and no client certificate asked for;
 * configured = a certificate from the os CA naming the node's IP, and a client certificate required.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parsePrivateKey } from '../../../src/talos/pki.js';
import { tmpDir } from '../../helpers/cli.js';
import { run, which } from '../../helpers/netns.js';
import { cluster, loopback, machineConfig, maintenanceClient, startDouble, stopAll, type Cluster } from './fixture.js';

const skip = which('openssl') ? false : 'openssl is not installed';
let c: Cluster;
let dir: string;

before(async () => {
  c = await cluster('v1.13.9');
  dir = tmpDir('tls');
  writeFileSync(path.join(dir, 'os-ca.crt'), c.secrets.certs.os.crt);
  writeFileSync(path.join(dir, 'admin.crt'), c.admin.crt);
  writeFileSync(path.join(dir, 'admin.key'), parsePrivateKey(c.admin.key).export({ type: 'pkcs8', format: 'pem' }) as string);
});
after(() => stopAll(c));

function sClient(address: string, extra: string[]) {
  return run(['openssl', 's_client', '-connect', `${address}:${c.port}`, '-alpn', 'h2', '-brief', ...extra], { input: '', timeoutMs: 10_000 });
}

test('maintenance: self-signed for every client, no client certificate requested', { skip }, async () => {
  const d = await startDouble(c, 40);
  const r = await sClient(d.address, ['-verify_return_error', '-CAfile', path.join(dir, 'os-ca.crt')]);
  assert.notEqual(r.code, 0, 'the maintenance certificate must not chain to the os CA');
  const open = await sClient(d.address, []);
  const out = open.stdout + open.stderr;
  assert.match(out, /CONNECTION ESTABLISHED/, out);
  assert.doesNotMatch(out, /Requested Signature Algorithms/, 'no CertificateRequest in maintenance mode');
});

test('configured: os CA chain with the node IP, client certificate required', { skip }, async () => {
  const d = await startDouble(c, 41);
  const addr = loopback(141);
  const m = maintenanceClient(c, d.address);
  await m.applyConfiguration(machineConfig(c, { type: 'worker', address: addr, hostname: 'wk-tls' }));
  m.close();
  await d.settled();
  await d.stepUntil('running');
  const withCert = await sClient(addr, ['-verify_return_error', '-CAfile', path.join(dir, 'os-ca.crt'), '-verify_ip', addr, '-cert', path.join(dir, 'admin.crt'), '-key', path.join(dir, 'admin.key')]);
  const ok = withCert.stdout + withCert.stderr;
  assert.equal(withCert.code, 0, ok);
  assert.match(ok, /Verification: OK/);
  assert.match(ok, /Peer certificate: CN = wk-tls/);
  assert.match(ok, /Requested Signature Algorithms/, 'the server asked for a client certificate');
  // TLS 1.2 so the server's refusal lands inside the handshake, where s_client reports it
  const noCert = await sClient(addr, ['-tls1_2', '-CAfile', path.join(dir, 'os-ca.crt')]);
  const refused = noCert.stdout + noCert.stderr;
  assert.notEqual(noCert.code, 0, refused);
  assert.match(refused, /alert handshake failure|certificate required|peer did not return a certificate/i, refused);
  assert.doesNotMatch(refused, /CONNECTION ESTABLISHED/);
});
