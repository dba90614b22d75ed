/**
 * The HTTP server against curl (a real client): scripts, assets with Range/HEAD/ETag, the iPXE
 * binaries, /metrics (parsed), /healthz, /api/machines with progress. Loopback only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHttp, type HttpServer } from '../../src/netboot/http/index.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import { resolveBoot } from '../../src/netboot/render/index.js';
import { run, which } from '../helpers/netns.js';
import { SPEC_YAML, makeTree, parseProm, specFrom, sum, type Tree } from './lib.js';

const skip = !which('curl') && 'curl is not installed';

describe('http server', { skip }, () => {
  let tree: Tree;
  let srv: HttpServer;
  let metrics: ReturnType<typeof createMetrics>;
  let progress: ProgressTracker;
  let out: string;
  const curl = (args: string[]) => run(['curl', '-sS', '--max-time', '30', ...args]);

  before(async () => {
    tree = makeTree();
    out = mkdtempSync(path.join(os.tmpdir(), 'hearth-http-out-'));
    const loaded = specFrom(SPEC_YAML(`  profiles:\n    - { name: workers, match: { role: [worker] }, extraKernelArgs: [hearth.role=worker] }\n    - { name: blocked, match: { mac: ["52:54:00:00:00:99"] }, boot: false }\n`));
    metrics = createMetrics();
    progress = new ProgressTracker({ nameForMac: (mac) => loaded.spec.machines.find((m) => m.mac === mac)?.name });
    srv = await startHttp({
      address: '127.0.0.1',
      port: 0,
      resolveBoot: (client) => resolveBoot(loaded.spec, client),
      assets: tree.assets,
      ipxe: tree.ipxe,
      metrics,
      events: progress,
      macForIp: (ip) => progress.macForIp(ip),
      machines: () => progress.list(),
    });
  });
  after(async () => {
    await srv.close();
    tree.cleanup();
  });

  it('serves /boot.ipxe chaining to the machine script with mac, uuid and arch', async () => {
    const r = await curl([`${srv.url}/boot.ipxe`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^#!ipxe\n/);
    assert.ok(r.stdout.includes(`chain ${srv.url}/ipxe?mac=\${net0/mac}&uuid=\${uuid}&buildarch=\${buildarch}&platform=\${platform}`), r.stdout);
  });

  it('serves each machine the script of its profile, and nothing to a blocked one', async () => {
    const w1 = await curl([`${srv.url}/ipxe?mac=52:54:00:00:00:04&uuid=&buildarch=x86_64&platform=efi`]);
    assert.match(w1.stdout, new RegExp(`^kernel ${srv.url}/assets/vmlinuz initrd=initramfs.xz console=ttyS0 hearth.test=default hearth.role=worker$`, 'm'));
    assert.match(w1.stdout, new RegExp(`^initrd ${srv.url}/assets/initramfs.xz$`, 'm'));
    const cp1 = await curl([`${srv.url}/ipxe?mac=52-54-00-00-00-01`]);
    assert.match(cp1.stdout, /profile default/);
    assert.doesNotMatch(cp1.stdout, /hearth.role=worker/);
    const blocked = await curl([`${srv.url}/ipxe?mac=52:54:00:00:00:99`]);
    assert.match(blocked.stdout, /^exit 1$/m);
    assert.doesNotMatch(blocked.stdout, /^kernel/m);
  });

  it('streams assets byte-identically; HEAD, Range and ETag/If-None-Match work', async () => {
    const dest = path.join(out, 'k');
    let r = await curl(['-o', dest, '-D', '-', `${srv.url}/assets/vmlinuz`]);
    assert.equal(r.code, 0);
    assert.ok(readFileSync(dest).equals(tree.files.vmlinuz!));
    const etag = /^etag: (.*)\r$/im.exec(r.stdout)?.[1];
    assert.ok(etag, r.stdout);
    assert.match(r.stdout, /^accept-ranges: bytes\r$/im);
    // HEAD: headers only.
    r = await curl(['-I', `${srv.url}/assets/initramfs.xz`]);
    assert.match(r.stdout, /^HTTP\/1.1 200/);
    assert.match(r.stdout, /^content-length: 1000003\r$/im);
    // Range: a middle slice, a suffix, an open end, and an unsatisfiable one.
    const part = path.join(out, 'part');
    r = await curl(['-o', part, '-D', '-', '-r', '1000-1999', `${srv.url}/assets/vmlinuz`]);
    assert.match(r.stdout, /^HTTP\/1.1 206/);
    assert.match(r.stdout, /^content-range: bytes 1000-1999\/300001\r$/im);
    assert.ok(readFileSync(part).equals(tree.files.vmlinuz!.subarray(1000, 2000)));
    r = await curl(['-o', part, '-r', '-100', `${srv.url}/assets/vmlinuz`]);
    assert.ok(readFileSync(part).equals(tree.files.vmlinuz!.subarray(-100)));
    r = await curl(['-o', part, '-r', '300000-', `${srv.url}/assets/vmlinuz`]);
    assert.ok(readFileSync(part).equals(tree.files.vmlinuz!.subarray(300000)));
    r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-r', '400000-500000', `${srv.url}/assets/vmlinuz`]);
    assert.equal(r.stdout, '416');
    // Resume a broken download with curl -C -.
    const resumed = path.join(out, 'resumed');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(resumed, tree.files['initramfs.xz']!.subarray(0, 12345));
    r = await curl(['-C', '-', '-o', resumed, `${srv.url}/assets/initramfs.xz`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(resumed).equals(tree.files['initramfs.xz']!));
    // Conditional GET.
    r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: ${etag}`, `${srv.url}/assets/vmlinuz`]);
    assert.equal(r.stdout, '304');
    r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'If-None-Match: "other"', `${srv.url}/assets/vmlinuz`]);
    assert.equal(r.stdout, '200');
    // If-Range with a stale validator sends the whole file.
    r = await curl(['-o', part, '-w', '%{http_code}', '-r', '0-9', '-H', 'If-Range: "stale"', `${srv.url}/assets/vmlinuz`]);
    assert.equal(r.stdout, '200');
  });

  it('serves the iPXE binaries (UEFI HTTP boot) and refuses traversal', async () => {
    const dest = path.join(out, 'snp');
    let r = await curl(['-o', dest, `${srv.url}/snponly.efi`]);
    assert.ok(readFileSync(dest).equals(tree.files['snponly.efi']!));
    for (const p of ['/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/assets/escape', '/assets/sub/..%2f..%2fsecret.txt', '/../../etc/passwd', '/assets//etc/passwd']) {
      r = await curl(['--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', `${srv.url}${p}`]);
      assert.ok(['400', '404'].includes(r.stdout), `${p}: ${r.stdout}`);
    }
    r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', `${srv.url}/assets/vmlinuz`]);
    assert.equal(r.stdout, '405');
  });

  it('/healthz, /metrics (valid Prometheus text) and /api/machines with the progress', async () => {
    let r = await curl([`${srv.url}/healthz`]);
    assert.equal(r.stdout, 'ok\n');
    // A machine fetches its script, then its kernel and initrd: /api/machines shows the steps.
    await curl([`${srv.url}/ipxe?mac=52:54:00:00:00:04&buildarch=x86_64&platform=pcbios`]);
    await curl(['-o', '/dev/null', `${srv.url}/assets/vmlinuz`]);
    await curl(['-o', '/dev/null', `${srv.url}/assets/initramfs.xz`]);
    r = await curl([`${srv.url}/api/machines`]);
    const { machines } = JSON.parse(r.stdout) as { machines: { mac: string; name?: string; arch?: string; profile?: string; steps: { step: string; bytes?: number; rate?: number }[] }[] };
    const w1 = machines.find((m) => m.mac === '52:54:00:00:00:04');
    assert.ok(w1, r.stdout);
    assert.equal(w1.name, 'w1');
    assert.equal(w1.arch, 'pcbios-x86_64');
    assert.equal(w1.profile, 'workers');
    const kernel = w1.steps.find((s) => s.step === 'kernel');
    const initrd = w1.steps.find((s) => s.step === 'initrd');
    assert.equal(kernel?.bytes, 300001);
    assert.equal(initrd?.bytes, 1000003);
    assert.ok((kernel?.rate ?? 0) > 0);
    r = await curl([`${srv.url}/metrics`]);
    const samples = parseProm(r.stdout);
    assert.ok(sum(samples, 'hearth_http_requests_total', 'route="asset"') >= 3);
    assert.ok(sum(samples, 'hearth_http_bytes_sent_total') >= 1_300_004);
  });
});
