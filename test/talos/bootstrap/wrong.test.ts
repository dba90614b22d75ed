/**
 * `hearth bootstrap` when something is wrong, through the real CLI against node doubles: each
 * problem is one clear line and nothing is applied (pre-flight), or the run stops safely (a node
 * that never comes back, Ctrl-C) and a rerun completes.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, test } from 'node:test';
import { runHearth } from '../../helpers/cli.js';
import { startHearth, until } from '../../platform/helpers.js';
import { FilePinStore } from '../../../src/talos/api/index.js';
import { configuredAt, has, lab, MACHINES, maintenanceAt, outFile, type Lab } from './lab.js';

const labs: Lab[] = [];
after(() => Promise.all(labs.map((l) => l.stop())));
const track = (l: Lab): Lab => (labs.push(l), l);
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function nothingApplied(l: Lab): void {
  for (const [name, d] of l.doubles) {
    assert.equal(d.applyCount, 0, `${name} was applied`);
    assert.equal(d.stage, 'maintenance', name);
  }
  assert.ok(!has(l, 'secrets.yaml') && !has(l, 'kubeconfig') && !has(l, 'talosconfig'), 'no files written');
}

test('pre-flight lists every problem at once, one line each, exit 2, nothing applied', async () => {
  const l = track(
    await lab('v1.13.9', {
      versions: { 0: 'v1.6.4' }, // cp1 runs an older Talos
      hardware: {
        2: (hw) => ({ ...hw, links: hw.links.filter((x) => x.name !== 'eth1') }), // cp3's bond loses a member
        3: (hw) => ({ ...hw, disks: hw.disks.filter((d) => d.transport !== 'nvme') }), // worker1's selector finds nothing
      },
      absent: [4], // worker2 never booted
    }),
  );
  const r = await runHearth(l.args('--timeout', '30s'), { timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(r.stderr.trimEnd().split('\n'), [
    'probed 9 addresses: 4 Talos nodes answered, 1 machine passed pre-flight',
    'error: pre-flight found 4 problems; nothing was applied',
    `  cp1 (${maintenanceAt(0)}): runs Talos older than v1.8 (maintenance mode without the Version call), the spec wants v1.13.9`,
    `  cp3 (${maintenanceAt(2)}): bond bond0 member eth1 not found (links: eth0)`,
    `  worker1 (${maintenanceAt(3)}): diskSelector (size ">= 500GB", type "nvme") matches no disk (disks: sda)`,
    '  worker2: not found (no answering node has MAC 52:54:00:00:00:05)',
  ]);
  nothingApplied(l);
});

test('a version mismatch (--only one machine), a missing install disk', async () => {
  const l = track(await lab('v1.6.4', { versions: { 0: 'v1.13.9' }, hardware: { 1: (hw) => ({ ...hw, disks: hw.disks.filter((d) => d.name !== 'sda') }) } }));
  const one = await runHearth(l.args('--only', 'cp1'), { timeoutMs: 60_000 });
  assert.equal(one.code, 2, one.stderr);
  assert.deepEqual(one.stderr.trimEnd().split('\n'), [
    'probed 10 addresses: 5 Talos nodes answered, 0 machines passed pre-flight',
    'error: pre-flight found 1 problem; nothing was applied',
    `  cp1 (${maintenanceAt(0)}): runs Talos v1.13.9, the spec wants v1.6.4 (minor versions differ)`,
  ]);
  const two = await runHearth(l.args('--only', 'cp2,cp9'), { timeoutMs: 60_000 });
  assert.equal(two.code, 2, two.stderr);
  assert.match(two.stderr, /^ {2}--only cp9: no machine of that name in the spec$/m);
  assert.match(two.stderr, new RegExp(`^  cp2 \\(${esc(maintenanceAt(1))}\\): installDisk /dev/sda not found \\(disks: nvme0n1\\)$`, 'm'));
  nothingApplied(l);
});

test('a node whose certificate changed is refused by name with both fingerprints; nothing applied', async () => {
  const l = track(await lab('v1.13.9'));
  const pinned = Buffer.alloc(32, 7).toString('base64');
  await new FilePinStore(l.out).set(maintenanceAt(1), pinned);
  const r = await runHearth(l.args(), { timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^  node ${esc(maintenanceAt(1))}: talos node ${esc(maintenanceAt(1))}: certificate changed \\(pinned sha256/${esc(pinned)}, presented sha256/[A-Za-z0-9+/=]{44}\\)`, 'm'));
  assert.match(r.stderr, /^ {2}cp2: not found/m);
  for (const d of l.doubles.values()) assert.equal(d.applyCount, 0);
  assert.ok(!has(l, 'secrets.yaml'));
});

test('a node that never comes back fails with its name, last stage and wait; no kubeconfig', async () => {
  const l = track(await lab('v1.13.9', { manual: [4] }));
  const worker2 = l.doubles.get('worker2')!;
  const run = runHearth(l.args('--timeout', '6s'), { timeoutMs: 60_000 });
  // once hearth watches worker2's status, it reboots and stays down
  await until(() => worker2.stage === 'installing' && worker2.calls.includes('State/Watch'), 30_000, 'hearth to watch worker2');
  await worker2.step();
  assert.equal(worker2.stage, 'rebooting');
  const r = await run;
  assert.equal(r.code, 1, r.stderr);
  const last = r.stderr.trimEnd().split('\n').at(-1)!;
  assert.match(last, new RegExp(`^error: worker2: never came back — last stage rebooting, waited \\d+\\.\\ds \\(no answer at ${esc(configuredAt(4))}\\)$`));
  assert.ok(!has(l, 'kubeconfig') && !has(l, 'talosconfig'));
  assert.equal(statSync(outFile(l, 'secrets.yaml')).mode & 0o777, 0o600);
});

test('Ctrl-C during the install stops safely; a rerun completes without re-applying', async () => {
  const l = track(await lab('v1.13.9', { stageDelayMs: 400 }));
  const h = startHearth(l.args('--timeout', '60s'));
  await until(() => MACHINES.every((m) => h.stderr().includes(`${m}: config applied`)), 60_000, 'every config applied');
  h.child.kill('SIGINT');
  const code = await h.wait('bootstrap to exit after SIGINT');
  assert.equal(code, 1, h.stderr());
  assert.match(h.stderr().trimEnd().split('\n').at(-1)!, /^error: interrupted; nodes keep installing what was applied — run hearth bootstrap again to continue$/);
  assert.ok(!has(l, 'kubeconfig') && !has(l, 'talosconfig'), 'nothing half-written');
  const secrets = readFileSync(outFile(l, 'secrets.yaml'), 'utf8');
  // the rerun starts at once, while the nodes are still installing and rebooting
  const r = await runHearth(l.args('--timeout', '60s', '-o', 'json'), { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.deepEqual(summary.machines.map((m: any) => m.action), MACHINES.map(() => 'unchanged'));
  assert.equal(summary.etcd.result, 'bootstrapped');
  assert.equal(summary.changed, true);
  for (const d of l.doubles.values()) assert.equal(d.applyCount, 1);
  assert.equal(readFileSync(outFile(l, 'secrets.yaml'), 'utf8'), secrets, 'the secrets of the first run are reused');
  assert.ok(has(l, 'kubeconfig') && has(l, 'talosconfig'));
});

test('a rerun while a machine is still rebooting into its config waits for it, then completes', async () => {
  const l = track(await lab('v1.13.9', { manual: [4] }));
  const worker2 = l.doubles.get('worker2')!;
  // a first run applies everything, and is stopped while worker2 is down rebooting
  const first = startHearth(l.args('--timeout', '60s'));
  await until(() => worker2.stage === 'installing' && worker2.calls.includes('State/Watch'), 30_000, 'hearth to watch worker2');
  await worker2.step();
  assert.equal(worker2.stage, 'rebooting');
  first.child.kill('SIGINT');
  assert.equal(await first.wait('the first bootstrap to exit after SIGINT'), 1, first.stderr());
  // the rerun finds worker2 silent, says it waits, and goes on once worker2 is back
  const rerun = startHearth(l.args('--timeout', '60s'));
  await until(() => rerun.stderr().includes('waiting for worker2 to answer at its configured address'), 30_000, 'the rerun to wait for worker2');
  await worker2.stepUntil('running');
  assert.equal(await rerun.wait('the rerun to finish once worker2 is back', 120_000), 0, rerun.stderr());
  assert.match(rerun.stderr(), /^cluster mycloud is healthy at /m);
  for (const d of l.doubles.values()) assert.equal(d.applyCount, 1, 'nothing applied twice');
});

test('bad flags are one line and exit 2', async () => {
  const l = track(await lab('v1.13.9', { absent: [0, 1, 2, 3, 4] }));
  const t = await runHearth(l.args('--timeout', 'soon'));
  assert.equal(t.code, 2);
  assert.equal(t.stderr.trim(), 'error: --timeout soon: expected a duration like 90s, 15m or 1h30m');
  const s = await runHearth(l.args('--scan', '198.51.100.0/16'));
  assert.equal(s.code, 2);
  assert.equal(s.stderr.trim(), 'error: scanning /16 is more than 4096 addresses');
});
