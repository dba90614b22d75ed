/** How the client fails: one line naming the node, a typed error, within its deadline. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import {
  connectTalos,
  MemoryPinStore,
  TalosNodeReplyError,
  TalosTimeoutError,
  TalosTlsError,
  TalosUnavailableError,
  toTalosError,
} from '../../../src/talos/api/index.js';
import { checkMessage } from '../../../src/talos/api/envelope.js';
import { cluster, configuredClient, freePort, loopback, machineConfig, maintenanceClient, startDouble, stopAll, type Cluster } from './fixture.js';

let c: Cluster;
before(async () => {
  c = await cluster('v1.13.9');
});
after(() => stopAll(c));

test('a node that accepts TCP but never speaks TLS: TalosTimeoutError at the deadline', async () => {
  const held: net.Socket[] = [];
  const silent = net.createServer((s) => held.push(s));
  const addr = loopback(60);
  const port = await freePort();
  await new Promise<void>((r) => silent.listen(port, addr, r));
  const api = connectTalos({ endpoint: addr, port, tls: { mode: 'maintenance', pins: new MemoryPinStore() }, timeoutMs: 300 });
  try {
    const err = await api.version().then(() => assert.fail('expected a timeout'), (e: unknown) => e);
    assert.ok(err instanceof TalosTimeoutError, String(err));
    assert.match(err.message, new RegExp(`^talos node ${addr.replace(/\./g, '\\.')}: `));
    assert.ok(!err.message.includes('\n'));
  } finally {
    api.close();
    held.forEach((s) => s.destroy());
    silent.close();
  }
});

test('nothing listening: TalosUnavailableError', async () => {
  const api = connectTalos({ endpoint: loopback(61), port: await freePort(), tls: { mode: 'maintenance', pins: new MemoryPinStore() }, timeoutMs: 2000 });
  try {
    await assert.rejects(api.version(), (e: unknown) => e instanceof TalosUnavailableError && /^talos node [0-9.]+: not answering \(connect ECONNREFUSED [0-9.:]+\)$/.test(e.message));
  } finally {
    api.close();
  }
});

test('mutual TLS against a maintenance node: refused as untrusted, nothing sent', async () => {
  const d = await startDouble(c, 62);
  const api = configuredClient(c, d.address);
  try {
    const err = await api.version().then(() => assert.fail('a self-signed node must not be trusted'), (e: unknown) => e);
    assert.ok(err instanceof TalosTlsError, String(err));
    assert.equal(d.calls.length, 0);
  } finally {
    api.close();
  }
});

test('no client certificate against a configured node: refused, and no pin recorded', async () => {
  const d = await startDouble(c, 63);
  const m = maintenanceClient(c, d.address);
  await m.applyConfiguration(machineConfig(c, { type: 'controlplane', address: loopback(163), hostname: 'cp-e' }));
  m.close();
  await d.settled();
  await d.stepUntil('running');
  const before = d.calls.length;
  const pins = new MemoryPinStore();
  const anon = maintenanceClient(c, loopback(163), pins);
  try {
    const err = await anon.version().then(() => assert.fail('expected a refusal'), (e: unknown) => e);
    assert.ok(err instanceof TalosUnavailableError, String(err));
    assert.match(err.message, /certificate required/);
    assert.equal(d.calls.length, before);
    assert.equal(await pins.get(loopback(163)), undefined, 'a configured node never gets a maintenance pin');
  } finally {
    anon.close();
  }
});

test('envelope: a status code without error text is still a node failure; gRPC codes map to types', () => {
  assert.throws(
    () => checkMessage('192.0.2.9', { metadata: { hostname: 'n9', error: '', status: { code: status.PERMISSION_DENIED, message: 'not authorized' } } }),
    (e: unknown) => e instanceof TalosNodeReplyError && e.code === 'PERMISSION_DENIED' && e.message === 'talos node 192.0.2.9 (n9): not authorized',
  );
  assert.doesNotThrow(() => checkMessage('192.0.2.9', { metadata: { hostname: 'n9', error: '', status: null } }));
  const e = toTalosError('192.0.2.9', Object.assign(new Error('x'), { code: status.ALREADY_EXISTS, details: 'etcd data directory is not empty', metadata: {} }));
  assert.equal(e.name, 'TalosAlreadyExistsError');
  assert.equal(e.message, 'talos node 192.0.2.9: etcd data directory is not empty');
});
