/**
 * The wait before the start's background work (src/netboot/first-answer.ts): it ends at the first
 * DHCP answer (OFFER or ACK) the progress tracker sees, after that turn of the event loop; not at
 * other events; at the bound without any; and a cancel ends it with false.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstDhcpAnswer } from '../../src/netboot/first-answer.js';
import { ProgressTracker } from '../../src/netboot/progress/index.js';
import type { BootEventKind } from '../../src/netboot/events.js';

const MAC = '02:00:00:00:5a:01';
/** Long enough that no test here reaches it unless it means to. */
const NEVER_MS = 60_000;

/** Whether `p` has settled, after the pending macrotasks (setImmediate) have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  return done;
}

const event = (progress: ProgressTracker, kind: BootEventKind) => progress.emit({ kind, at: Date.now(), mac: MAC, ip: '192.0.2.10' });

describe('firstDhcpAnswer', () => {
  for (const answer of ['dhcp-offer', 'dhcp-ack'] as const) {
    it(`ends at the first ${answer}, not at a discover or a request`, async () => {
      const progress = new ProgressTracker();
      const wait = firstDhcpAnswer(progress, NEVER_MS);
      event(progress, 'dhcp-discover');
      event(progress, 'dhcp-request');
      assert.equal(await settled(wait.done), false);
      event(progress, answer);
      assert.equal(await wait.done, true);
    });
  }

  it('ends after the answer\'s turn of the event loop, not during it', async () => {
    const progress = new ProgressTracker();
    const wait = firstDhcpAnswer(progress, NEVER_MS);
    let done = false;
    void wait.done.then(() => (done = true));
    event(progress, 'dhcp-offer');
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(done, false, 'resolved within the microtasks of the answer (before its reply is flushed)');
    assert.equal(await wait.done, true);
  });

  it('ends with true at the bound when no client comes', async () => {
    const wait = firstDhcpAnswer(new ProgressTracker(), 1);
    assert.equal(await wait.done, true);
  });

  it('cancel ends it with false, and a later answer changes nothing', async () => {
    const progress = new ProgressTracker();
    const wait = firstDhcpAnswer(progress, NEVER_MS);
    wait.cancel();
    event(progress, 'dhcp-offer');
    assert.equal(await wait.done, false);
  });
});
