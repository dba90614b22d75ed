/**
 * hearth's own artifacts against the double: configs rendered by src/talos (v1.6 single-document
 * networking, v1.13 LinkConfig/BondConfig documents, a bonded machine) are applied in maintenance
 * mode, the node comes back at the rendered address, and the rendered talosconfig's os:admin
 * identity drives it over mutual TLS.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { loadSpec } from '../../../src/spec/index.js';
import { docsToYaml, generateTalos, newSecrets } from '../../../src/talos/index.js';
import { connectTalos, MemoryPinStore } from '../../../src/talos/api/index.js';
import { parseAppliedConfig } from '../../doubles/talos-node/config.js';
import { TalosDoubleNetwork, TalosNodeDouble } from '../../doubles/talos-node/index.js';
import { freePort, hardware, loopback, loopbackSpec } from './fixture.js';

for (const version of ['v1.6.4', 'v1.13.9']) {
  describe(`rendered ${version} configs`, () => {
    const doubles: TalosNodeDouble[] = [];
    after(() => Promise.all(doubles.map((d) => d.stop())));

    test('every machine: role, hostname and address as rendered; the bond carries the address', async () => {
      const file = loopbackSpec(version, 150);
      const loaded = loadSpec(file);
      const out = await generateTalos(loaded, await newSecrets(loaded.spec));
      const bonded = loaded.spec.machines.find((m: any) => m.bond);
      assert.ok(bonded, 'the example spec has a bonded machine');
      for (const [i, n] of out.rendered.nodes.entries()) {
        const cfg = parseAppliedConfig(Buffer.from(docsToYaml(n.docs)));
        assert.equal(cfg.machineType, n.role);
        assert.equal(cfg.hostname, loaded.spec.machines[i]!.hostname ?? n.name);
        assert.equal(cfg.addresses[0]?.cidr, `${loopback(150 + i)}/8`);
        if (n.name === bonded!.name) assert.equal(cfg.addresses[0]?.link, bonded!.bond!.name);
      }

      // the first control plane, end to end with hearth's talosconfig
      const port = await freePort();
      const net = new TalosDoubleNetwork();
      const d = new TalosNodeDouble({ version, address: loopback(149), port, hardware: hardware(49), network: net });
      doubles.push(d);
      await d.start();
      const m = connectTalos({ endpoint: d.address, port, tls: { mode: 'maintenance', pins: new MemoryPinStore() } });
      await m.applyConfiguration(docsToYaml(out.rendered.nodes[0]!.docs));
      m.close();
      await d.settled();
      await d.stepUntil('running');
      assert.equal(d.address, loopback(150));
      const tc = parse(out.rendered.talosconfig);
      const ctx = tc.contexts[tc.context];
      const pem = (b64: string) => Buffer.from(b64, 'base64').toString();
      const api = connectTalos({
        endpoint: loopback(150),
        port,
        tls: { mode: 'configured', ca: pem(ctx.ca), crt: pem(ctx.crt), key: pem(ctx.key) },
        talosVersion: version,
      });
      try {
        await api.bootstrap();
        assert.deepEqual((await api.etcdMemberList()).map((x) => x.hostname), [loaded.spec.machines[0]!.hostname ?? 'cp1']);
        const kc = parse(await api.kubeconfig());
        assert.equal(kc.clusters[0].cluster.server, `https://${loopback(150)}:6443`);
      } finally {
        api.close();
      }
    });
  });
}
