/**
 * Benchmark: a Talos secrets bundle and every machine config for a 100-machine cluster
 * (3 control planes + 97 workers), rendered, patched and schema-validated in memory, then written.
 * talosctl is not installed here (the point of the stage), so there is no peer to time against;
 * the target is < 2 s. Run: npx tsx bench/talos/gen.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { writeArtifacts } from '../../src/common/artifacts.js';
import { loadSpec } from '../../src/spec/index.js';
import { configArtifacts, generateTalos, newSecrets } from '../../src/talos/index.js';

const N = 100;
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
  rmSync(dir, { recursive: true, force: true });
}
