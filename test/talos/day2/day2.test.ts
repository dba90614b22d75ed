/**
 * Day two against a five-machine cluster of Talos node doubles (three control planes, two workers)
 * per version: health and its exit codes, kubeconfig, a reader identity refused, reboot --wait, the
 * rolling upgrade's order with etcd checks between control planes, reset's confirmation, shutdown.
 * The doubles advance their stages on their own (stageDelayMs); the CLI runs as a user runs it.
 */
import assert from 'node:assert/strict';
import { statSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { runHearth, tmpDir } from '../../helpers/cli.js';
import { terminalSession } from '../../helpers/pty.js';
import { which } from '../../helpers/netns.js';
import { TalosNodeDouble, type DoubleStage } from '../../doubles/talos-node/index.js';
import { cluster, configuredClient, hardware, loopback, loopbackSpec, machineConfig, maintenanceClient, stopAll, type Cluster } from '../api/fixture.js';

const NAMES = ['cp1', 'cp2', 'cp3', 'worker1', 'worker2'];

/** Resolves when the double reaches `stage` (at once if it is there); bounded. */
function reach(d: TalosNodeDouble, stage: DoubleStage, ms = 15_000): Promise<void> {
  if (d.stage === stage) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`double ${d.address} stuck at ${d.stage}, wanted ${stage}`)), ms);
    const on = (s: DoubleStage) => {
      if (s !== stage) return;
      clearTimeout(timer);
      d.off('stage', on);
      resolve();
    };
    d.on('stage', on);
  });
}

function writeTalosconfig(dir: string, c: Cluster, who: 'admin' | 'reader'): void {
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  const id = who === 'admin' ? c.admin : c.reader;
  writeFileSync(path.join(dir, 'talosconfig'), stringify({ context: 'lab', contexts: { lab: { endpoints: [], ca: b64(c.secrets.certs.os.crt), crt: b64(id.crt), key: b64(id.key) } } }), { mode: 0o600 });
}

for (const [specVersion, running] of [
  ['v1.6.4', 'v1.6.3'],
  ['v1.13.9', 'v1.13.8'],
] as const) {
  describe(`hearth talos day two, Talos ${running} -> ${specVersion}`, () => {
    let c: Cluster;
    let spec: string;
    let dir: string;
    let readerDir: string;
    const doubles = new Map<string, TalosNodeDouble>();
    const first = specVersion === 'v1.6.4' ? 130 : 140;
    /** What happened, across the doubles, in order: "cp1 stage rebooting", "cp1 call Upgrade". */
    const log: string[] = [];

    const hearth = (args: string[], d = dir) =>
      runHearth(['talos', ...args, '-f', spec, '--dir', d, '--port', String(c.port), '--timeout', '30s'], { timeoutMs: 90_000 });

    before(async () => {
      c = await cluster(specVersion);
      spec = loopbackSpec(specVersion, first);
      // the example's firmware names are the newer ones; v1.6 calls some differently
      const doc = parse(readFileSync(spec, 'utf8'));
      doc.image.firmware = ['intel-ucode'];
      writeFileSync(spec, stringify(doc));
      dir = tmpDir('day2');
      readerDir = tmpDir('day2-reader');
      writeTalosconfig(dir, c, 'admin');
      writeTalosconfig(readerDir, c, 'reader');
      await Promise.all(
        NAMES.map(async (name, i) => {
          const d = new TalosNodeDouble({ version: running, address: loopback(first + 50 + i), port: c.port, hardware: hardware(30 + i), network: c.network, stageDelayMs: 20 });
          c.doubles.push(d);
          doubles.set(name, d);
          d.on('stage', (s: string) => log.push(`${name} stage ${s}`));
          const calls = d.calls;
          calls.push = (...items: string[]) => {
            for (const m of items) log.push(`${name} call ${m}`);
            return Array.prototype.push.apply(calls, items);
          };
          await d.start();
          const m = maintenanceClient(c, d.address);
          try {
            await m.applyConfiguration(machineConfig(c, { type: i < 3 ? 'controlplane' : 'worker', address: loopback(first + i), hostname: name }));
          } finally {
            m.close();
          }
          await reach(d, 'running');
        }),
      );
      const api = configuredClient(c, loopback(first));
      try {
        await api.bootstrap();
      } finally {
        api.close();
      }
    });
    after(() => stopAll(c));

    test('health: a table, exit 0; a control plane out of etcd is exit 1 with the reason', async () => {
      const ok = await hearth(['health']);
      assert.equal(ok.code, 0, ok.stderr);
      const lines = ok.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^MACHINE\s+ROLE\s+ADDRESS\s+VERSION\s+STAGE\s+READY\s+ETCD\s+PROBLEM$/);
      assert.deepEqual(
        lines.slice(1).map((l) => l.split(/\s+/).slice(0, 7)),
        NAMES.map((n, i) => [n, i < 3 ? 'controlplane' : 'worker', loopback(first + i), running, 'running', 'yes', i < 3 ? 'member' : '-']),
      );
      assert.match(ok.stderr, /healthy: etcd has all 3 control planes, 5 machines running and ready/);
      const cp3 = doubles.get('cp3')!;
      c.network.leave(cp3.config!.clusterId, cp3);
      try {
        const bad = await hearth(['health', '-o', 'json']);
        assert.equal(bad.code, 1, bad.stderr);
        const h = JSON.parse(bad.stdout);
        assert.equal(h.healthy, false);
        assert.deepEqual(h.etcd.missing, ['cp3']);
        assert.match(bad.stderr, /unhealthy: etcd: cp3 not a member/);
        // refuses to start an upgrade on an unhealthy etcd: nothing upgraded
        const up = await hearth(['upgrade', '--all']);
        assert.equal(up.code, 1);
        assert.match(up.stderr, /error: etcd is not healthy \(cp3 not a member\): nothing upgraded/);
        assert.ok(!log.some((l) => / call (Upgrade|LifecycleUpgrade)$/.test(l)));
      } finally {
        c.network.join(cp3.config!.clusterId, cp3);
      }
    });

    test('kubeconfig: DIR/kubeconfig at 0600, or stdout with -', async () => {
      const r = await hearth(['kubeconfig']);
      assert.equal(r.code, 0, r.stderr);
      const file = path.join(dir, 'kubeconfig');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const kc = parse(readFileSync(file, 'utf8'));
      assert.equal(Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), c.secrets.certs.k8s.crt);
      const s = await hearth(['kubeconfig', '-', '--machine', 'cp2']);
      assert.equal(s.code, 0, s.stderr);
      assert.equal(parse(s.stdout).clusters[0].cluster.server, kc.clusters[0].cluster.server);
      const w = await hearth(['kubeconfig', '--machine', 'worker1']);
      assert.equal(w.code, 2);
      assert.match(w.stderr, /--machine worker1: not a control plane/);
    });

    test('an os:reader talosconfig gets a clear permission error, and nothing reboots', async () => {
      const r = await hearth(['reboot', '--machine', 'worker1'], readerDir);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1);
      assert.match(r.stderr, /error: machine worker1 \(\S+\): permission denied for reboot: the talosconfig's certificate has role os:reader, reboot needs os:operator or os:admin/);
      assert.equal(doubles.get('worker1')!.stage, 'running');
    });

    test('reboot --wait returns once the machine runs again', async () => {
      const w = doubles.get('worker1')!;
      const mark = log.length;
      const r = await hearth(['reboot', '--machine', 'worker1', '--wait']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(w.stage, 'running', 'running when the command returned');
      const seen = log.slice(mark).filter((l) => l.startsWith('worker1 stage') || l === 'worker1 call Reboot');
      assert.deepEqual(seen, ['worker1 call Reboot', 'worker1 stage rebooting', 'worker1 stage booting', 'worker1 stage running']);
      assert.match(r.stderr, /worker1: rebooting[\s\S]*worker1: running and ready/);
      const none = await hearth(['reboot']);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /say which machines: --machine NAME/);
    });

    test('upgrade: control planes one at a time with etcd checked between, then the workers; a rerun skips them', async () => {
      const mark = log.length;
      const r = await hearth(['upgrade', '--all']);
      assert.equal(r.code, 0, r.stderr);
      for (const d of doubles.values()) assert.equal(d.version, specVersion);
      const events = log.slice(mark);
      const upgradeCall = specVersion === 'v1.6.4' ? 'Upgrade' : 'LifecycleUpgrade';
      const starts = events.map((l, i) => [l, i] as const).filter(([l]) => l.endsWith(` call ${upgradeCall}`));
      assert.deepEqual(starts.map(([l]) => l.split(' ')[0]), NAMES, 'upgrade order');
      for (let k = 0; k < NAMES.length - 1; k++) {
        const [name, next] = [NAMES[k]!, starts[k + 1]![1]];
        const between = events.slice(starts[k]![1], next);
        const back = between.lastIndexOf(`${name} stage running`);
        assert.ok(back > 0, `${name} ran again before the next machine started`);
        if (k < 3) {
          const etcd = between.slice(back).some((l) => / call EtcdMemberList$/.test(l));
          assert.ok(etcd, `etcd members were checked after ${name} came back and before ${NAMES[k + 1]} started`);
        }
      }
      assert.match(r.stderr, /upgraded 5 machines/);
      const again = await hearth(['upgrade', '--all']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /upgraded 0 machines, 5 already at the version/);
    });

    test('reset: refused without --yes and a terminal; with --yes it says what it wipes and the node leaves', async () => {
      const w2 = doubles.get('worker2')!;
      const no = await hearth(['reset', '--machine', 'worker2', '--graceful=false', '--wipe-mode', 'all']);
      assert.equal(no.code, 2);
      assert.match(no.stderr, /reset worker2: wipes the whole system disk and every user disk; not graceful; then powers off/);
      assert.match(no.stderr, /error: reset wipes machines: confirm on a terminal, or give --yes/);
      assert.ok(!w2.calls.includes('Reset'));
      if (which('script')) {
        // on a terminal it asks, and "no" is the default
        const args = ['talos', 'reset', '--machine', 'worker2', '-f', spec, '--dir', dir, '--port', String(c.port)];
        const tty = await terminalSession(args, [[/Reset worker2\? \[y\/N\] /, '']]);
        assert.equal(tty.code, 2, tty.screen);
        assert.match(tty.screen, /reset not confirmed; nothing done/);
        assert.ok(!w2.calls.includes('Reset'));
      }
      assert.equal(w2.stage, 'running');
      const yes = await hearth(['reset', '--machine', 'worker2', '--yes', '--wait']);
      assert.equal(yes.code, 0, yes.stderr);
      assert.match(yes.stderr, /wipes the STATE and EPHEMERAL partitions of the system disk \(other partitions and user disks kept\); graceful/);
      assert.ok(w2.calls.includes('Reset'));
      await reach(w2, 'maintenance');
      assert.equal(w2.config, undefined);
    });

    test('shutdown --wait: returns once the machine stops answering', async () => {
      const w1 = doubles.get('worker1')!;
      const r = await hearth(['shutdown', '--machine', 'worker1', '--wait']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(w1.answering, false);
      assert.match(r.stderr, /worker1: off \(not answering\)/);
    });
  });
}
