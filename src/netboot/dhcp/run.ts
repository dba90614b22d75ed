/**
 * Runs the DHCP server alone, for the tests and benchmarks that need it in its own process
 * (inside a network namespace, or to be killed with SIGKILL):
 *
 *   node dist/src/netboot/dhcp/run.js '<DhcpServerOptions as JSON, without events/metrics>'
 *
 * stdout: one JSON object per line: {"ready":true}, {"event":BootEvent}, and answers to the
 * stdin commands `metrics` ({"metrics": "<Prometheus text>"}) and `leases` ({"leases": [...]}).
 * SIGTERM/SIGINT close it cleanly. Not part of the CLI: `hearth netboot serve` is.
 */
import { createInterface } from 'node:readline';
import { createMetrics } from '../metrics.js';
import { startDhcp, type DhcpServerOptions } from './index.js';

async function main(): Promise<void> {
  const raw = JSON.parse(process.argv[2] ?? '{}') as Omit<DhcpServerOptions, 'events' | 'metrics'> & { quietEvents?: boolean; allowBootMacs?: string[] };
  const metrics = createMetrics();
  const write = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
  const bootable = raw.allowBootMacs ? new Set(raw.allowBootMacs) : undefined;
  const server = await startDhcp({
    ...raw,
    boot: { ...raw.boot, allowBoot: bootable ? (mac) => bootable.has(mac) : undefined },
    events: { emit: raw.quietEvents ? () => undefined : (event) => write({ event }) },
    metrics,
    onError: (err) => process.stderr.write(`internal error: ${(err as Error).stack ?? String(err)}\n`),
  });
  write({ ready: true, pid: process.pid });
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'metrics') void metrics.registry.metrics().then((m) => write({ metrics: m }));
    else if (cmd === 'leases') write({ leases: server.leases() });
  });
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  rl.on('close', () => undefined);
}

main().catch((err: Error) => {
  process.stderr.write(`hearth dhcp: ${err.message}\n`);
  process.exit(1);
});
