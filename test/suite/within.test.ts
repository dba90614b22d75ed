/**
 * The bounds on waits (test/helpers/within.ts): a wait that never ends fails naming what it waited
 * for, a refusal is told apart from a peer that never answers, and a child that ignores SIGTERM
 * is still stopped. The bounds here are short on purpose; nothing asserts on elapsed time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { exited, rejectsWithin, stopChild, TimedOut, within } from '../helpers/within.js';

const never = () => new Promise<never>(() => undefined);

describe('within', () => {
  it('passes a value or a rejection through', async () => {
    assert.equal(await within(1000, 'a value', Promise.resolve(7)), 7);
    await assert.rejects(within(1000, 'a failure', Promise.reject(new Error('boom'))), /^Error: boom$/);
  });

  it('rejects a wait that never ends with TimedOut, naming what did not happen', async () => {
    const err = await within(50, 'the peer to answer', never()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof TimedOut, String(err));
    assert.equal(err.message, 'timed out after 0.05 s waiting for the peer to answer');
  });
});

describe('rejectsWithin', () => {
  it('returns the rejection of a refused attempt', async () => {
    const e = await rejectsWithin(1000, 'a refusal', Promise.reject(new Error('ECONNREFUSED')));
    assert.match(String(e), /ECONNREFUSED/);
  });

  it('fails when the attempt is held open instead of refused, and when it succeeds', async () => {
    await assert.rejects(rejectsWithin(50, 'a refusal', never()), (e: unknown) => e instanceof TimedOut && /waiting for a refusal/.test(e.message));
    await assert.rejects(rejectsWithin(1000, 'a refusal', Promise.resolve('served')), /expected a refusal, but it succeeded/);
  });
});

describe('exited and stopChild', () => {
  it('exited resolves with the code, also for a child already gone', async () => {
    const child = spawn(process.execPath, ['-e', 'process.exit(3)'], { stdio: 'ignore' });
    assert.deepEqual(await exited(child, 'a child exiting 3'), { code: 3, signal: null });
    assert.deepEqual(await exited(child, 'the same child again'), { code: 3, signal: null });
  });

  it('exited fails naming the child that does not exit; stopChild kills one that ignores SIGTERM', async () => {
    // Ignores SIGTERM and says so once it does, so the test signals only after the handler is in place.
    const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => undefined); console.log('ready'); setInterval(() => undefined, 1000)"], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await within(30_000, 'the child to start', new Promise((r) => child.stdout.once('data', r)));
      await assert.rejects(exited(child, 'the stubborn child', 50), /timed out after 0\.05 s waiting for the stubborn child to exit/);
      const end = await stopChild(child, 'SIGTERM', 200);
      assert.deepEqual(end, { code: null, signal: 'SIGKILL' });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
