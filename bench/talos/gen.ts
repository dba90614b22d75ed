/**
 * Benchmark: a Talos secrets bundle and every machine config for a 100-machine cluster
 * (3 control planes + 97 workers), rendered, patched and schema-validated in memory, then written.
 * Target: < 2 s in total. talosctl cannot run here (that is the point of the stage), so the peer for
 * the crypto part is openssl making the same keys and self-signed CAs (4 CAs + the service-account
 * key + the os:admin client key), timed in the same run; the ratio is printed.
 * Run: npx tsx bench/talos/gen.ts
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { writeArtifacts } from '../../src/common/artifacts.js';
import { loadSpec } from '../../src/spec/index.js';
import { configArtifacts, generateTalos, newSecrets } from '../../src/talos/index.js';

const N = 100;

/** The same key set made by openssl (one process per item, as a shell script would). */
function opensslSecrets(dir: string, rsaServiceAccount: boolean): number {
  const t = performance.now();
  const ca = (name: string, subj: string, alg: string[]) =>
    execFileSync('openssl', ['req', '-x509', '-newkey', ...alg, '-nodes', '-days', '3650', '-subj', subj, '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`)], { stdio: 'ignore' });
  const ec = ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  ca('etcd', '/O=etcd', ec);
  ca('k8s', '/O=kubernetes', ec);
  ca('aggregator', '/CN=front-proxy', ec);
  ca('os', '/O=talos', ['ed25519']);
  execFileSync('openssl', ['genpkey', ...(rsaServiceAccount ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:4096'] : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']), '-out', path.join(dir, 'sa.key')], { stdio: 'ignore' });
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', path.join(dir, 'admin.key')], { stdio: 'ignore' });
  return performance.now() - t;
}
const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
for (const version of ['v1.13.9', 'v1.6.4']) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-talos-bench-'));
  const machines = Array.from({ length: N }, (_, i) => ({
    name: i < 3 ? `cp${i + 1}` : `w${i - 2}`,
    role: i < 3 ? 'controlplane' : 'worker',
    address: `192.0.2.${i + 11}/24`,
    gateway: '192.0.2.1',
    nameservers: ['192.0.2.1'],
    ...(i % 10 === 5 ? { bond: { interfaces: ['eth0', 'eth1'], mode: '802.3ad', lacpRate: 'fast', miimon: 100 } } : { interface: 'eth0' }),
    ...(i % 2 === 0 ? { installDisk: '/dev/sda' } : { diskSelector: { type: 'nvme' } }),
    patches: [{ machine: { nodeLabels: { rack: `r${i % 4}` } } }],
  }));
  const spec = {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'bench' },
    talos: { version },
    image: { arch: 'amd64', platform: 'metal' },
    cluster: { endpoint: 'https://192.0.2.10:6443', vip: '192.0.2.10', patches: { common: [{ machine: { sysctls: { 'vm.max_map_count': '262144' } } }] } },
    machines,
  };
  const file = path.join(dir, 'hearth.yaml');
  writeFileSync(file, stringify(spec));
  const t0 = performance.now();
  const loaded = loadSpec(file);
  const t1 = performance.now();
  const secrets = await newSecrets(loaded.spec);
  const t2 = performance.now();
  const result = await generateTalos(loaded, secrets);
  const t3 = performance.now();
  const artifacts = configArtifacts(result);
  await writeArtifacts(path.join(dir, 'out'), artifacts);
  const t4 = performance.now();
  const total = t4 - t0;
  console.log(
    `talos ${version}: ${N} machines, ${artifacts.length} files — spec ${(t1 - t0).toFixed(0)} ms, secrets ${(t2 - t1).toFixed(0)} ms, ` +
      `render+patch+validate ${(t3 - t2).toFixed(0)} ms, write ${(t4 - t3).toFixed(0)} ms; total ${(total / 1000).toFixed(2)} s ` +
      `(target 2 s: ${(total / 2000).toFixed(2)}x of budget) ${total < 2000 ? 'OK' : 'SLOW'}`,
  );
  if (haveOpenssl) {
    const peer = opensslSecrets(dir, version !== 'v1.6.4');
    console.log(`  secrets: hearth ${(t2 - t1).toFixed(0)} ms vs openssl (same keys and CAs) ${peer.toFixed(0)} ms: ratio ${((t2 - t1) / peer).toFixed(2)}`);
  }
  rmSync(dir, { recursive: true, force: true });
}
