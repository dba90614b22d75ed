/**
 * `--wait` is bounded: a node that does not come back from a reboot fails the command with its name,
 * its last stage and how long it was waited for. The double here advances only when told.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { runHearth, tmpDir } from '../../helpers/cli.js';
import { cluster, loopback, loopbackSpec, machineConfig, maintenanceClient, startDouble, stopAll } from '../api/fixture.js';

test('reboot --wait on a node that stays down: exit 1 naming the machine, its last stage and the wait', async () => {
  const c = await cluster('v1.13.9');
  try {
    const first = 150;
    const spec = loopbackSpec('v1.13.9', first);
    const d = await startDouble(c, 40, loopback(first + 60));
    const m = maintenanceClient(c, d.address);
    try {
      await m.applyConfiguration(machineConfig(c, { type: 'worker', address: loopback(first + 3), hostname: 'worker1' }));
    } finally {
      m.close();
    }
    await d.settled();
    await d.stepUntil('running');
    const dir = tmpDir('day2-timeout');
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    writeFileSync(path.join(dir, 'talosconfig'), stringify({ context: 'x', contexts: { x: { ca: b64(c.secrets.certs.os.crt), crt: b64(c.admin.crt), key: b64(c.admin.key) } } }));
    const r = await runHearth(['talos', 'reboot', '--machine', 'worker1', '--wait', '--timeout', '2s', '-f', spec, '--dir', dir, '--port', String(c.port)]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(d.stage, 'rebooting', 'the double never came back');
    assert.match(r.stderr, /error: machine worker1: not running and ready after 2 s \(last stage: (down|rebooting)\)/);
  } finally {
    await stopAll(c);
  }
});
