/**
 * Native TFTP serving with threads of their own (the default: up to 64 transfers), the rest on the
 * shared engines; the helpers are in tftp-serve-lib.ts.
 */
import { describe, it } from 'node:test';
import { serveManyAtOnce, strangerFlood, TRANSFERS } from './tftp-serve-lib.js';

describe('native TFTP serving, threads of their own', () => {
  it(`serves ${TRANSFERS} transfers at once, every block once and in order`, (t) => serveManyAtOnce(t));
  it('a stranger flooding a transfer served by its own thread is turned away by the kernel, and the transfer goes on', (t) => strangerFlood(t, false));
});
