/**
 * The Kubernetes API double over HTTPS, as a Talos control plane serves it: a server certificate for
 * the endpoint IP signed by the cluster CA, clients authenticated by a cluster-CA certificate and
 * refused otherwise; /readyz and the Node list from the cluster view. Read with hearth's own health
 * calls (src/talos/bootstrap/kube.ts).
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { newCA, newLeafCert, type CertAndKey } from '../../../src/talos/pki.js';
import { nodeReadiness, readyz, type KubeAccess } from '../../../src/talos/bootstrap/kube.js';
import { FakeKubeApiServer } from '../../doubles/kube-api/index.js';
import { freePort, loopback } from '../api/fixture.js';
import { within, WAIT_MS } from '../../helpers/within.js';

let ca: CertAndKey;
let other: CertAndKey;
let kube: FakeKubeApiServer;
let ready = false;
const nodes = [{ name: 'cp1', ready: true }, { name: 'worker1', ready: false }];
let access: KubeAccess;

before(async () => {
  const now = new Date();
  ca = await newCA({ kind: 'ecdsa', organization: 'kubernetes', now });
  other = await newCA({ kind: 'ecdsa', organization: 'impostor', now });
  const host = loopback(7);
  kube = new FakeKubeApiServer({ tls: { ca, host, port: await freePort() }, cluster: { ready: () => ready, nodes: () => nodes } });
  await kube.start();
  const admin = await newLeafCert(ca, { organizations: ['system:masters'], commonName: 'admin', now });
  access = { server: kube.url, ca: ca.crt, crt: admin.crt, key: admin.key };
});
after(() => kube.stop());

test('/readyz follows the cluster view; Nodes carry their Ready condition', async () => {
  assert.match(kube.url, /^https:\/\/127\.\d+\.\d+\.7:\d+$/);
  assert.deepEqual(await readyz(access), { ok: false, detail: '/readyz answered 500' });
  ready = true;
  assert.deepEqual(await readyz(access), { ok: true, detail: 'ok' });
  assert.deepEqual([...(await nodeReadiness(access))], [['cp1', true], ['worker1', false]]);
});

function status(opts: https.RequestOptions): Promise<number | string> {
  let req: ReturnType<typeof https.get> | undefined;
  const answered = new Promise<number | string>((resolve) => {
    req = https.get(`${kube.url}/readyz`, opts, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
  });
  // A handshake held open (neither refused nor answered) fails naming it rather than waiting on.
  return within(WAIT_MS, `an answer or a refusal from ${kube.url}/readyz`, answered).finally(() => req?.destroy());
}

test('clients without a cluster-CA certificate are refused in the handshake; the server is checked against the cluster CA', async () => {
  const stranger = await newLeafCert(other, { organizations: ['system:masters'], commonName: 'admin', now: new Date() });
  const noCert = await status({ ca: ca.crt });
  const wrongCa = await status({ ca: ca.crt, cert: stranger.crt, key: stranger.key });
  assert.notEqual(noCert, 200);
  assert.notEqual(wrongCa, 200);
  assert.equal(typeof noCert, 'string', 'a TLS/socket error, not an HTTP answer');
  assert.equal(typeof wrongCa, 'string');
  // a client trusting another CA does not accept the server either
  assert.equal(typeof (await status({ ca: other.crt, cert: access.crt, key: access.key })), 'string');
  assert.equal(await status({ ca: ca.crt, cert: access.crt, key: access.key }), 200);
});
