/**
 * The DHCP reply pacer (src/netboot/dhcp/pacer.ts): a token bucket that starts at its minimum rate,
 * saves up a bounded burst, and after each window follows the demand it was told of (requests by
 * their arrival time) with its headroom, never below the minimum.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pacer } from '../../src/netboot/dhcp/pacer.js';

test('starts with a full bucket and refills at minRate per ms, never past the bucket', () => {
  let t = 0;
  const p = new Pacer(() => t, { minRate: 16, minBurst: 32, burstMs: 2, windowMs: 100 }); // bucket max(32, 2 ms x 16)
  assert.equal(p.take(100), 32);
  assert.equal(p.take(1), 0, 'empty until time passes');
  t = 0.5;
  assert.equal(p.take(100), 8);
  t = 50; // 49.5 ms at 16 per ms, but at most 32 saved up
  assert.equal(p.take(100), 32);
});

test('after a window the rate is headroom times the requests that arrived per ms, and the burst grows with it', () => {
  let t = 0;
  const p = new Pacer(() => t, { minRate: 16, headroom: 1.5, minBurst: 32, burstMs: 4, windowMs: 100 });
  p.take(32);
  for (let i = 0; i < 4000; i++) {
    t = (i + 1) / 40; // 40 per ms over the window, each read as it arrives
    p.arrived(0);
  }
  t = 100;
  p.take(0);
  assert.equal(p.perMs, 60);
  assert.equal(p.take(1000), 240, 'the bucket holds 4 ms of 60 per ms');
  t = 101;
  assert.equal(p.take(1000), 60);
  t = 250; // a quiet window: back to the minimum
  p.take(0);
  assert.equal(p.perMs, 16);
});

/** 20 requests per ms arriving over [from, to), each read `lagMs` after it arrived (at least at `readFrom`). */
function arrive(p: Pacer, clock: { t: number }, from: number, to: number, lagMs: number, readFrom = 0): void {
  for (let a = from + 0.05; a <= to + 1e-9; a += 0.05) {
    clock.t = Math.max(a + lagMs, readFrom);
    p.arrived(clock.t - a);
  }
}

test('a backlog read at once after a stall counts at the rate it arrived, not as a surge', () => {
  const clock = { t: 0 };
  const p = new Pacer(() => clock.t, { minRate: 16, headroom: 1.5, windowMs: 100 });
  arrive(p, clock, 0, 100, 0); // 20 per ms, read as they come
  clock.t = 100;
  p.take(0);
  assert.equal(Math.round(p.perMs), 30);
  // the process is held up from 100 to 160 ms, then reads that backlog at once and keeps up again
  arrive(p, clock, 100, 160, 0, 160);
  arrive(p, clock, 160, 200, 0);
  clock.t = 200;
  p.take(0);
  assert.equal(Math.round(p.perMs), 30, '1.5 x 20 per ms, though 2,000 were read in the last 40 ms');
});

test('a server that stays behind does not take its lag for lower demand', () => {
  const clock = { t: 0 };
  const p = new Pacer(() => clock.t, { minRate: 16, headroom: 1.5, windowMs: 100 });
  arrive(p, clock, 0, 50, 50); // each request read 50 ms after it arrived
  clock.t = 100;
  p.take(0);
  arrive(p, clock, 50, 150, 50);
  clock.t = 200;
  p.take(0);
  assert.equal(Math.round(p.perMs), 30);
});

test('without arrival times requests count from the last arrival of the window before', () => {
  let t = 0;
  const p = new Pacer(() => t, { minRate: 16, headroom: 1.5, windowMs: 100 });
  t = 60;
  for (let i = 0; i < 2000; i++) p.arrived(); // queued time unknown: counted as arriving when read
  t = 100;
  p.take(0);
  assert.equal(p.perMs, 50, '1.5 x 2,000 per 60 ms');
  t = 200;
  p.take(0);
  assert.equal(p.perMs, 16, 'a quiet window: back to the minimum');
});
