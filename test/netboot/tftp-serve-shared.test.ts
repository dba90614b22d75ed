/**
 * Native TFTP serving on the shared engine threads only (HEARTH_TFTP_OWN_THREADS=0, read when this
 * process first serves); the helpers are in tftp-serve-lib.ts.
 */
import { describe, it } from 'node:test';
import { serveManyAtOnce, strangerFlood, TRANSFERS } from './tftp-serve-lib.js';

process.env.HEARTH_TFTP_OWN_THREADS = '0';

describe('native TFTP serving, shared engines only', () => {
  it(`serves ${TRANSFERS} transfers at once, every block once and in order`, (t) => serveManyAtOnce(t));
  it('a stranger flooding a served transfer: each datagram reaches JS or is counted as dropped, and the transfer goes on', (t) => strangerFlood(t, true));
});
