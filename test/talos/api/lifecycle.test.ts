import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  RESOURCES,
  TalosAlreadyExistsError,
  TalosNodeReplyError,
  TalosPermissionError,
  TalosPreconditionError,
  TalosUnavailableError,
  type CosiEvent,
} from '../../../src/talos/api/index.js';
import { run, which } from '../../helpers/netns.js';
import { tmpDir } from '../../helpers/cli.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cluster, configuredClient, loopback, machineConfig, maintenanceClient, startDouble, stopAll, type Cluster } from './fixture.js';
import type { TalosNodeDouble } from '../../doubles/talos-node/index.js';

/** Applies a config in maintenance mode and steps the double to running at its new address. */
async function install(c: Cluster, d: TalosNodeDouble, type: 'controlplane' | 'worker', to: string, hostname: string): Promise<void> {
  const api = maintenanceClient(c, d.address);
  try {
    await api.applyConfiguration(machineConfig(c, { type, address: to, hostname }), { mode: 'AUTO' });
  } finally {
    api.close();
  }
  await d.settled();
  await d.stepUntil('running');
}

for (const version of ['v1.6.4', 'v1.13.9']) {
  describe(`configured mode, Talos ${version}`, () => {
    let c: Cluster;
    before(async () => {
      c = await cluster(version);
    });
    after(() => stopAll(c));

    test('apply → installing → rebooting (silent) → booting at the configured address → running, followed over COSI', async () => {
      const d = await startDouble(c, 20);
      const dhcp = d.address;
      const target = loopback(120);
      const m = maintenanceClient(c, dhcp);
      await m.applyConfiguration(machineConfig(c, { type: 'controlplane', address: target, hostname: 'cp-1' }), { mode: 'AUTO' });
      m.close();
      await d.settled();
      assert.equal(d.stage, 'installing');
      // installing: the node now wants mutual TLS at its old address
      const old = configuredClient(c, dhcp);
      const st = await old.get<{ stage: string }>(RESOURCES.machineStatus.namespace, RESOURCES.machineStatus.type, 'machine');
      assert.equal(st.spec.stage, 'installing');
      await d.step();
      assert.equal(d.stage, 'rebooting');
      await assert.rejects(old.version(), TalosUnavailableError);
      old.close();
      await d.step();
      assert.equal(d.stage, 'booting');
      assert.equal(d.address, target);
      const api = configuredClient(c, target);
      try {
        const seen: string[] = [];
        const ac = new AbortController();
        let stepped: Promise<unknown> | undefined;
        for await (const e of api.watch<{ stage: string }>(RESOURCES.machineStatus.namespace, RESOURCES.machineStatus.type, { id: 'machine', signal: ac.signal })) {
          seen.push(e.resource ? `${e.type}:${e.resource.spec.stage}` : e.type);
          if (e.type === 'bootstrapped') stepped = d.step(); // booting → running while we watch
          if (e.resource?.spec.stage === 'running') ac.abort();
        }
        await stepped;
        assert.deepEqual(seen, ['created:booting', 'bootstrapped', 'updated:running']);
        assert.equal((await api.version()).tag, version);
        const host = await api.get<{ hostname: string }>(RESOURCES.hostname.namespace, RESOURCES.hostname.type, 'hostname');
        assert.equal(host.spec.hostname, 'cp-1');
        const addrs = await api.list<{ address: string }>(RESOURCES.addresses.namespace, RESOURCES.addresses.type);
        assert.deepEqual(addrs.map((a) => a.spec.address), [`${target}/8`]);
      } finally {
        api.close();
      }
    });

    test('Bootstrap: FailedPrecondition before ready, once, AlreadyExists after, refused on a worker; etcd members follow', async () => {
      const cp = await startDouble(c, 21);
      const wk = await startDouble(c, 22);
      const cpAddr = loopback(121);
      const wkAddr = loopback(122);
      const m = maintenanceClient(c, cp.address);
      await m.applyConfiguration(machineConfig(c, { type: 'controlplane', address: cpAddr, hostname: 'cp-2' }));
      m.close();
      await cp.settled();
      await cp.stepUntil('booting');
      const api = configuredClient(c, cpAddr);
      try {
        await assert.rejects(api.bootstrap(), (e: unknown) => e instanceof TalosPreconditionError && /not available yet/.test(e.message));
        await cp.step();
        await assert.rejects(api.etcdMemberList(), TalosPreconditionError);
        const svcBefore = await api.serviceList();
        assert.equal(svcBefore.find((s) => s.id === 'etcd')?.healthy, false);
        await api.bootstrap();
        await assert.rejects(api.bootstrap(), TalosAlreadyExistsError);
        // the founder first, then every running control plane of the cluster (cp-1 from the first test)
        const members = await api.etcdMemberList();
        assert.deepEqual(members.map((x) => [x.hostname, x.peerUrls[0]]), [
          ['cp-2', `https://${cpAddr}:2380`],
          ['cp-1', `https://${loopback(120)}:2380`],
        ]);
        assert.equal((await api.serviceList()).find((s) => s.id === 'etcd')?.healthy, true);
      } finally {
        api.close();
      }
      await install(c, wk, 'worker', wkAddr, 'wk-1');
      const w = configuredClient(c, wkAddr);
      try {
        await assert.rejects(w.bootstrap(), /control plane/);
      } finally {
        w.close();
      }
    });

    test('roles: os:reader reads but gets PermissionDenied on ApplyConfiguration; the machine config is admin-only', async () => {
      const d = await startDouble(c, 23);
      const addr = loopback(123);
      await install(c, d, 'worker', addr, 'wk-2');
      const reader = configuredClient(c, addr, 'reader');
      try {
        assert.equal((await reader.version()).tag, version);
        await assert.rejects(reader.applyConfiguration(machineConfig(c, { type: 'worker', address: addr, hostname: 'x' })), TalosPermissionError);
        await assert.rejects(reader.get(RESOURCES.machineConfig.namespace, RESOURCES.machineConfig.type, 'v1alpha1'), TalosPermissionError);
        assert.equal(d.applyCount, 1);
      } finally {
        reader.close();
      }
      const admin = configuredClient(c, addr);
      try {
        const mc = await admin.get<string>(RESOURCES.machineConfig.namespace, RESOURCES.machineConfig.type, 'v1alpha1');
        assert.equal(parse(mc.spec.split('---\n')[0]!).machine.type, 'worker');
      } finally {
        admin.close();
      }
    });

    test('the node metadata key: proxied through one endpoint; an unreachable node is an envelope error', async () => {
      const a = await startDouble(c, 24);
      const b = await startDouble(c, 25);
      await install(c, a, 'worker', loopback(124), 'wk-a');
      await install(c, b, 'worker', loopback(125), 'wk-b');
      const viaA = configuredClient(c, loopback(124), 'admin', { node: loopback(125) });
      const ghost = configuredClient(c, loopback(124), 'admin', { node: '198.51.100.77' });
      try {
        assert.equal((await viaA.version()).tag, version);
        assert.ok(b.calls.includes('Version') && !a.calls.includes('Version'), 'the call was served by the proxied node');
        const err = await ghost.version().then(() => assert.fail('expected an envelope error'), (e: unknown) => e);
        assert.ok(err instanceof TalosNodeReplyError, String(err));
        assert.equal(err.code, 'UNAVAILABLE');
        assert.match(err.message, /^talos node 198\.51\.100\.77: .*connection refused/);
      } finally {
        viaA.close();
        ghost.close();
      }
    });

    test('Kubeconfig: one-file tar.gz, client certificate signed by the cluster CA (openssl verify)', async () => {
      const d = await startDouble(c, 26);
      const addr = loopback(126);
      await install(c, d, 'controlplane', addr, 'cp-3');
      const api = configuredClient(c, addr);
      let text: string;
      try {
        text = await api.kubeconfig();
      } finally {
        api.close();
      }
      const kc = parse(text);
      assert.equal(kc.clusters[0].cluster.server, 'https://192.0.2.100:6443');
      const crt = Buffer.from(kc.users[0].user['client-certificate-data'], 'base64').toString();
      assert.ok(Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString() === c.secrets.certs.k8s.crt);
      if (!which('openssl')) return;
      const dir = tmpDir('kubeconfig');
      writeFileSync(path.join(dir, 'ca.crt'), c.secrets.certs.k8s.crt);
      writeFileSync(path.join(dir, 'client.crt'), crt);
      const ok = await run(['openssl', 'verify', '-CAfile', path.join(dir, 'ca.crt'), path.join(dir, 'client.crt')]);
      assert.equal(ok.code, 0, ok.stderr);
      writeFileSync(path.join(dir, 'other.crt'), c.secrets.certs.etcd.crt);
      const bad = await run(['openssl', 'verify', '-CAfile', path.join(dir, 'other.crt'), path.join(dir, 'client.crt')]);
      assert.notEqual(bad.code, 0);
      const subject = await run(['openssl', 'x509', '-noout', '-subject', '-in', path.join(dir, 'client.crt')]);
      assert.match(subject.stdout, /O\s*=\s*system:masters.*CN\s*=\s*admin/);
    });

    test('Events stream; reboot and reconnect; upgrade through the version’s API', async () => {
      const d = await startDouble(c, 27);
      const addr = loopback(127);
      await install(c, d, 'worker', addr, 'wk-3');
      const api = configuredClient(c, addr, 'admin', { talosVersion: version });
      try {
        const ac = new AbortController();
        const stages: string[] = [];
        for await (const e of api.events({ tailEvents: 3, signal: ac.signal })) {
          if (e.type === 'machine.MachineStatusEvent') stages.push(String(e.data.stage));
          if (stages.length === 3) ac.abort();
        }
        assert.deepEqual(stages, ['REBOOTING', 'BOOTING', 'RUNNING']);
        await api.reboot();
        assert.equal(d.stage, 'rebooting');
        await d.settled();
        await assert.rejects(api.version(), TalosUnavailableError);
        await d.stepUntil('running');
        await api.waitReady(5000);
        assert.equal((await api.version()).tag, version, 'the same client reconnects after the reboot');
        const next = version === 'v1.6.4' ? 'v1.6.5' : 'v1.13.10';
        const up = await api.upgrade({ image: `ghcr.io/siderolabs/installer:${next}` });
        assert.equal(up.via, version === 'v1.6.4' ? 'machine' : 'lifecycle');
        if (up.via === 'lifecycle') {
          assert.ok(d.calls.includes('LifecycleUpgrade') && !d.calls.includes('Upgrade'));
          await api.reboot();
        }
        await d.settled();
        await d.stepUntil('running');
        await api.waitReady(5000);
        assert.equal((await api.version()).tag, next);
      } finally {
        api.close();
      }
    });
  });
}

test('a v1.13 client without a version hint falls back to MachineService/Upgrade on a v1.6 node', async () => {
  const c = await cluster('v1.6.4');
  try {
    const d = await startDouble(c, 28);
    await install(c, d, 'worker', loopback(128), 'wk-4');
    const api = configuredClient(c, loopback(128));
    try {
      const up = await api.upgrade({ image: 'ghcr.io/siderolabs/installer:v1.6.7' });
      assert.equal(up.via, 'machine');
      assert.deepEqual(up.messages, ['Upgrade request received']);
    } finally {
      api.close();
    }
  } finally {
    await stopAll(c);
  }
});

export type { CosiEvent };
