/** What `hearth talos reset` asks the node to wipe for each set of flags, and how it says so. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../../src/common/errors.js';
import { resetPlan } from '../../../src/talos/day2/reset.js';

test('default: STATE and EPHEMERAL of the system disk only, graceful, power off', () => {
  const p = resetPlan({ graceful: true, reboot: false });
  assert.deepEqual(p.request, {
    graceful: true,
    reboot: false,
    mode: 'SYSTEM_DISK',
    systemPartitionsToWipe: [
      { label: 'STATE', wipe: true },
      { label: 'EPHEMERAL', wipe: true },
    ],
  });
  assert.equal(p.wipes, 'the STATE and EPHEMERAL partitions of the system disk (other partitions and user disks kept)');
});

test('--wipe-mode as talosctl: whole disks, no partition list', () => {
  assert.deepEqual(resetPlan({ wipeMode: 'all', graceful: false, reboot: true }).request, { graceful: false, reboot: true, mode: 'ALL' });
  assert.match(resetPlan({ wipeMode: 'all', graceful: true, reboot: false }).wipes, /whole system disk and every user disk/);
  assert.equal(resetPlan({ wipeMode: 'system-disk', graceful: true, reboot: false }).request.mode, 'SYSTEM_DISK');
  assert.equal(resetPlan({ wipeMode: 'user-disks', graceful: true, reboot: false }).request.mode, 'USER_DISKS');
  assert.equal(resetPlan({ labels: ['state'], graceful: true, reboot: false }).wipes, 'the STATE partition of the system disk (other partitions and user disks kept)');
});

test('bad flags are input errors', () => {
  assert.throws(() => resetPlan({ wipeMode: 'everything', graceful: true, reboot: false }), (e: unknown) => e instanceof InputError && /--wipe-mode must be one of all, system-disk, user-disks/.test(e.message));
  assert.throws(() => resetPlan({ wipeMode: 'all', labels: ['STATE'], graceful: true, reboot: false }), InputError);
  assert.throws(() => resetPlan({ labels: ['DATA'], graceful: true, reboot: false }), /unknown partition DATA/);
});
