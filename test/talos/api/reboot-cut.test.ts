/**
 * The node double is faithful to a reboot: a rebooted machine keeps no connection, so nothing of
 * the node that came back reaches a client over a connection made before the reboot — not even one
 * whose TLS handshake was still under way when the node went down (gRPC's server shutdown does not
 * see such a connection: it becomes a session after the server stopped tracking them). Under load
 * that window let `hearth bootstrap` see a node's `running` at its old DHCP address.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { connectTalos, RESOURCES } from '../../../src/talos/api/index.js';
import { cluster, freePort, loopback, machineConfig, maintenanceClient, startDouble, stopAll, type Cluster } from './fixture.js';

/** A TCP relay to `to`: each connection reaches the upstream at once, its bytes only once `open()` is called. */
function gatedRelay(host: string, port: number, to: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let opened = false;
  const waiting: Array<() => void> = [];
  let upstreamUp: () => void;
  const connected = new Promise<void>((resolve) => (upstreamUp = resolve));
  const server = net.createServer((client) => {
    client.pause();
    const up = net.connect(to.port, to.host, () => upstreamUp());
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    const relay = () => {
      client.pipe(up);
      up.pipe(client);
      client.resume();
    };
    if (opened) relay();
    else waiting.push(relay);
  });
  return {
    /** Resolves to the port it listens on. */
    listen: () => new Promise<number>((resolve) => server.listen(port, host, () => resolve(port))),
    /** Resolves once a client's connection reached the upstream (its TCP handshake done, no TLS yet). */
    connected,
    open() {
      opened = true;
      for (const go of waiting.splice(0)) go();
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

let c: Cluster;
before(async () => {
  c = await cluster('v1.13.9');
});
after(() => stopAll(c));

test('a connection whose TLS handshake spans the reboot gets nothing from the node that came back', async () => {
  const d = await startDouble(c, 40);
  const dhcp = d.address;
  const m = maintenanceClient(c, dhcp);
  await m.applyConfiguration(machineConfig(c, { type: 'worker', address: loopback(140), hostname: 'wk-late' }), { mode: 'AUTO' });
  m.close();
  await d.settled();
  assert.equal(d.stage, 'installing');

  // the relay sits on the node's own address (the server certificate names it), another port
  const relay = gatedRelay(dhcp, await freePort(), { host: dhcp, port: c.port });
  const relayPort = await relay.listen();
  const api = connectTalos({ endpoint: dhcp, port: relayPort, tls: { mode: 'configured', ca: c.secrets.certs.os.crt, crt: c.admin.crt, key: c.admin.key }, timeoutMs: 5000 });
  const ac = new AbortController();
  const seen: string[] = [];
  // true once the watch failed (handled at once: it may fail before the test awaits it)
  const watched = (async () => {
    for await (const e of api.watch<{ stage: string }>(RESOURCES.machineStatus.namespace, RESOURCES.machineStatus.type, { id: 'machine', signal: ac.signal })) {
      if (e.resource) seen.push(e.resource.spec.stage);
    }
  })().then(
    () => false,
    () => true,
  );
  try {
    // the client's TCP connection reached the node; its TLS handshake waits in the relay
    await relay.connected;
    await d.step();
    assert.equal(d.stage, 'rebooting');
    relay.open();
    await d.step();
    assert.equal(d.stage, 'booting');
    await d.step();
    assert.equal(d.stage, 'running');
    // bounded: the watch must fail on its own (the node rebooted) before this stops it
    const stop = setTimeout(() => ac.abort(), 3000);
    const failed = await watched;
    clearTimeout(stop);
    assert.deepEqual(seen.filter((s) => s === 'booting' || s === 'running'), [], `stages seen over the pre-reboot connection: ${seen.join(', ')}`);
    assert.ok(failed && !ac.signal.aborted, 'the watch over the pre-reboot connection did not fail');
  } finally {
    ac.abort();
    api.close();
    relay.close();
  }
});
