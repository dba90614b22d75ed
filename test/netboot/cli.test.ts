/**
 * The netboot commands as a user runs them: `hearth netboot serve` (DHCP off, on loopback),
 * `hearth netboot machines`, `hearth plan`, one-line errors with exit code 2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, runHearth } from '../helpers/cli.js';
import { exited } from '../helpers/within.js';
import { SPEC_YAML, hearthArgv, makeTree, waitForOutput, type Tree } from './lib.js';

describe('hearth netboot (CLI)', () => {
  let tree: Tree;
  let dir: string;
  let spec: string;
  before(() => {
    tree = makeTree();
    dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-nbcli-'));
    spec = path.join(dir, 'hearth.yaml');
    writeFileSync(spec, SPEC_YAML().replace('kernel: vmlinuz', `assets: ${tree.assets}\n  ipxe: ${tree.ipxe}\n  kernel: vmlinuz`));
  });
  after(() => {
    tree.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serve runs until SIGTERM, logs progress lines, and machines reads it back', async () => {
    const argv = hearthArgv(['netboot', 'serve', '-f', spec, '--interface', 'lo', '--address', '127.0.0.1', '--http-port', '0', '--tftp-port', '0', '--state', path.join(dir, 'state')]);
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    child.stdout.on('data', (d) => (log += d));
    try {
      await waitForOutput(() => log, (s) => /HTTP http:\/\/127\.0\.0\.1:\d+ /.test(s) || child.exitCode !== null, 30_000, 'serve to start');
      assert.equal(child.exitCode, null, log);
      // --http-port 0 picks a free port; the banner shows the real one, and it answers.
      assert.match(log, /DHCP off/);
      const port = Number(/HTTP http:\/\/127\.0\.0\.1:(\d+) /.exec(log)![1]);
      assert.ok(port > 0);
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text(), 'ok\n');
    } finally {
      child.kill('SIGTERM');
      const { code } = await exited(child, 'netboot serve after SIGTERM').finally(() => child.kill('SIGKILL'));
      assert.equal(code, 0, log);
      assert.match(log, /SIGTERM, shutting down/);
    }
  });

  it('serve: a download shows up in `netboot machines`', async () => {
    // Port 0 (the kernel picks free ports): a fixed port could collide with anything else on the CI host.
    const argv = hearthArgv(['netboot', 'serve', '-f', spec, '--interface', 'lo', '--address', '127.0.0.1', '--dhcp', 'off', '--http-port', '0', '--tftp-port', '0', '--state', path.join(dir, 'state2')]);
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    try {
      await waitForOutput(() => log, (s) => /serving on lo/.test(s) || child.exitCode !== null, 30_000, 'serve to start');
      const port = Number(/HTTP http:\/\/127\.0\.0\.1:(\d+) /.exec(log)![1]);
      const base = `http://127.0.0.1:${port}`;
      const script = await (await fetch(`${base}/ipxe?mac=52:54:00:00:00:01&buildarch=x86_64&platform=pcbios`)).text();
      assert.match(script, /^kernel /m);
      const k = Buffer.from(await (await fetch(`${base}/assets/vmlinuz`)).arrayBuffer());
      assert.ok(k.equals(tree.files.vmlinuz!));
      await waitForOutput(() => log, (s) => /52:54:00:00:00:01 cp1 http-asset-done 127\.0\.0\.1 vmlinuz 300001B/.test(s), 5000, 'a progress log line');
      const json = await runHearth(['netboot', 'machines', '--server', base, '-o', 'json']);
      assert.equal(json.code, 0, json.stderr);
      const m = (JSON.parse(json.stdout) as { machines: { mac: string; name: string; steps: { step: string }[] }[] }).machines[0]!;
      assert.equal(m.mac, '52:54:00:00:00:01');
      assert.equal(m.name, 'cp1');
      assert.deepEqual(m.steps.map((s) => s.step), ['script', 'kernel']);
      const text = await runHearth(['netboot', 'machines', '--server', base]);
      assert.match(text.stdout, /^MAC\s+NAME\s+IP\s+ARCH\s+DHCP\s+BOOTFILE\s+SCRIPT\s+KERNEL\s+INITRD\s+STATE$/m);
      assert.match(text.stdout, /^52:54:00:00:00:01\s+cp1\s+127\.0\.0\.1\s+pcbios-x86_64\s+-\s+-\s+\+0\.\ds\s+\+\d+\.\ds 293KiB/m);
      const yaml = await runHearth(['netboot', 'machines', '--server', base, '-o', 'yaml']);
      assert.match(yaml.stdout, /^machines:\n {2}- mac: 52:54:00:00:00:01$/m);
    } finally {
      child.kill('SIGINT');
      const { code } = await exited(child, 'netboot serve after SIGINT').finally(() => child.kill('SIGKILL'));
      assert.equal(code, 0, log);
    }
  });

  it('serve refuses a missing boot file with one line and exit code 2', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(spec, 'utf8').replace('initrd: [initramfs.xz]', 'initrd: [initramfs.xz, missing.img]'));
    const r = await runHearth(['netboot', 'serve', '-f', bad, '--interface', 'lo', '--address', '127.0.0.1', '--http-port', '0', '--tftp-port', '0']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: boot file .*missing\.img does not exist$/m);
    const noIf = await runHearth(['netboot', 'serve', '-f', spec, '--interface', 'nosuchif0', '--http-port', '0', '--tftp-port', '0']);
    assert.equal(noIf.code, 2);
    assert.match(noIf.stderr, /^error: network interface nosuchif0 does not exist here/m);
  });

  it('machines reports an unreachable server with exit code 1', async () => {
    const r = await runHearth(['netboot', 'machines', '--server', 'http://127.0.0.1:65534']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: cannot reach the netboot server at http:\/\/127\.0\.0\.1:65534 \(ECONNREFUSED\)/m);
  });

  it('machines against something that is not a hearth server: one line, exit 1', async () => {
    const srv = http.createServer((req, res) => res.end(req.url === '/api/machines' ? '<html>hello</html>' : ''));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
      const r = await runHearth(['netboot', 'machines', '--server', base, '-o', 'json']);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error: .*\/api\/machines did not answer with JSON: is http:\/\/127\.0\.0\.1:\d+ a hearth netboot server\?\n$/);
    } finally {
      srv.close();
    }
  });

  it('plan writes DIR/netboot for the bundled example, whose assets do not exist', async () => {
    const out = path.join(dir, 'plan');
    const r = await runHearth(['plan', '-f', 'examples/hearth.yaml', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['boot.ipxe', 'server.yaml', 'machines/cp1.ipxe', 'machines/worker2.ipxe']) assert.ok(existsSync(path.join(out, 'netboot', f)), f);
  });
});
