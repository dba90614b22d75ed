/**
 * `hearth bootstrap` end to end through the real CLI, for a v1.6.4 and a v1.13.9 spec: five node
 * doubles in maintenance mode on loopback → a healthy cluster, kubeconfig and talosconfig (openssl
 * verifies both client certificates), then `hearth platform install` through the HTTPS Kubernetes
 * double with the kubeconfig's client certificate, then a rerun that changes nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { runHearth } from '../../helpers/cli.js';
import { run, which } from '../../helpers/netns.js';
import { FakeHelmController } from '../../doubles/kube-api/index.js';
import { fluxInstallManifest } from '../../platform/helpers.js';
import { parseSecrets } from '../../../src/talos/secrets.js';
import { configuredAt, CONTROL_PLANES, lab, MACHINES, outFile, vip, type Lab } from './lab.js';

const pem = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');

async function verifies(dir: string, ca: string, crt: string): Promise<boolean> {
  writeFileSync(path.join(dir, 'ca.pem'), ca);
  writeFileSync(path.join(dir, 'crt.pem'), crt);
  const r = await run(['openssl', 'verify', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'crt.pem')]);
  return r.code === 0;
}

for (const version of ['v1.6.4', 'v1.13.9']) {
  describe(`hearth bootstrap, Talos ${version}`, () => {
    let l: Lab;
    after(() => l?.stop());

    test('five machines from maintenance mode to a healthy cluster; platform install over HTTPS; a rerun changes nothing; a changed machine alone is re-applied', async () => {
      l = await lab(version);
      const r = await runHearth(l.args('--timeout', '90s'), { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      // progress: one line per machine and stage change, then the summary
      for (const m of MACHINES) {
        assert.match(r.stderr, new RegExp(`^${m}: config applied at `, 'm'));
        assert.match(r.stderr, new RegExp(`^${m}: running at ${configuredAt(MACHINES.indexOf(m)).replace(/\./g, '\\.')} \\+`, 'm'));
      }
      assert.match(r.stderr, /^etcd bootstrapped on cp1 /m);
      assert.match(r.stderr, /^cluster mycloud is healthy at https:\/\//m);
      // every node applied once; Bootstrap only on cp1's own address; etcd = the three control planes
      for (const d of l.doubles.values()) assert.equal(d.applyCount, 1);
      const bootstraps = [...l.doubles.entries()].filter(([, d]) => d.calls.includes('Bootstrap')).map(([n]) => n);
      assert.deepEqual(bootstraps, ['cp1']);
      const cp1 = l.doubles.get('cp1')!;
      assert.deepEqual(l.network.members(cp1.config!.clusterId).map((d) => d.hostname).sort(), CONTROL_PLANES);
      // files: 0600, talosconfig endpoints = the control planes' addresses
      for (const f of ['secrets.yaml', 'kubeconfig', 'talosconfig']) assert.equal(statSync(outFile(l, f)).mode & 0o777, 0o600, f);
      const secrets = parseSecrets(readFileSync(outFile(l, 'secrets.yaml'), 'utf8'));
      const tc = parse(readFileSync(outFile(l, 'talosconfig'), 'utf8'));
      const ctx = tc.contexts[tc.context];
      assert.deepEqual(ctx.endpoints, [0, 1, 2].map(configuredAt));
      const kc = parse(readFileSync(outFile(l, 'kubeconfig'), 'utf8'));
      assert.equal(kc.clusters[0].cluster.server, `https://${vip()}:${l.kubePort}`, 'the kubeconfig points at cluster.endpoint (the VIP)');
      if (which('openssl')) {
        const kcCrt = pem(kc.users[0].user['client-certificate-data']);
        assert.ok(await verifies(l.dir, secrets.certs.k8s.crt, kcCrt), 'kubeconfig client cert signed by the cluster CA');
        assert.ok(!(await verifies(l.dir, secrets.certs.os.crt, kcCrt)), 'and not by the os CA');
        assert.ok(await verifies(l.dir, secrets.certs.os.crt, pem(ctx.crt)), 'talosconfig client cert signed by the os CA');
      }
      // the Kubernetes double saw hearth's health checks with the client certificate
      assert.ok(l.kube!.requests.some((q) => q.path === '/readyz' && q.status === 200));
      assert.ok(l.kube!.requests.some((q) => q.path === '/api/v1/nodes' && q.status === 200));

      // hearth platform install with the kubeconfig bootstrap wrote
      const flux = fluxInstallManifest(l.dir);
      const ctl = new FakeHelmController(l.kube!).start();
      try {
        const p = await runHearth(['platform', 'install', '-f', l.spec, '--kubeconfig', outFile(l, 'kubeconfig'), '--flux-manifests', flux, '--timeout', '60s'], { timeoutMs: 90_000 });
        assert.equal(p.code, 0, p.stderr);
        assert.match(p.stderr, /releases are Ready/);
      } finally {
        ctl.stop();
      }

      // a rerun after success: nothing applied, nothing rewritten, exit 0
      const before = ['kubeconfig', 'talosconfig', 'secrets.yaml'].map((f) => readFileSync(outFile(l, f), 'utf8'));
      const again = await runHearth(l.args('--timeout', '60s', '-o', 'json'), { timeoutMs: 90_000 });
      assert.equal(again.code, 0, again.stderr);
      const events = again.stdout.trim().split('\n').map((x) => JSON.parse(x));
      const summary = events.at(-1);
      assert.equal(summary.event, 'summary');
      assert.equal(summary.changed, false);
      assert.deepEqual(summary.machines.map((m: any) => m.action), MACHINES.map(() => 'unchanged'));
      assert.equal(summary.etcd.result, 'already');
      assert.ok(events.some((e) => e.event === 'stage' && e.machine === 'worker2' && e.stage === 'running'));
      for (const d of l.doubles.values()) assert.equal(d.applyCount, 1);
      assert.deepEqual(['kubeconfig', 'talosconfig', 'secrets.yaml'].map((f) => readFileSync(outFile(l, f), 'utf8')), before);

      // a changed machine: only its config is applied again (the others run what they should)
      const spec = parse(readFileSync(l.spec, 'utf8'));
      spec.machines[4].nameservers = [...spec.machines[4].nameservers, '198.51.100.53'];
      writeFileSync(l.spec, stringify(spec));
      const changed = await runHearth(l.args('--timeout', '60s', '-o', 'json'), { timeoutMs: 90_000 });
      assert.equal(changed.code, 0, changed.stderr);
      const s2 = JSON.parse(changed.stdout.trim().split('\n').at(-1)!);
      assert.deepEqual(s2.machines.map((m: any) => m.action), ['unchanged', 'unchanged', 'unchanged', 'unchanged', 'applied']);
      assert.equal(s2.changed, true);
      assert.deepEqual([...l.doubles.values()].map((d) => d.applyCount), [1, 1, 1, 1, 2]);
      assert.match(l.doubles.get('worker2')!.config!.text, /198\.51\.100\.53/);
    });
  });
}
