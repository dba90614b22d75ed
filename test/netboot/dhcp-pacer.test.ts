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
    t = i / 40; // 40 per ms over the window, each read as it arrives
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

test('a backlog read at once after a stall counts at the rate it arrived, not as a surge', () => {
  let t = 0;
  const p = new Pacer(() => t, { minRate: 16, headroom: 1.5, windowMs: 100 });
  t = 100;
  p.take(0); // a quiet first window
  // 20 per ms arrive from 100 ms on, but the process is held up until 160 ms and then reads all of it
  t = 160;
  for (let i = 0; i < 1200; i++) p.arrived(60 - i / 20);
  for (let i = 0; i < 800; i++) {
    t = 160 + i / 20;
    p.arrived(0);
  }
  t = 200;
  p.take(0);
  assert.equal(p.perMs, 30, '1.5 x 20 per ms, though 2,000 were read in the last 40 ms');
});

test('without arrival times requests count over the whole window they were read in', () => {
  let t = 0;
  const p = new Pacer(() => t, { minRate: 16, headroom: 1.5, windowMs: 100 });
  t = 60;
  for (let i = 0; i < 2000; i++) p.arrived(); // queued time unknown: counted as read
  t = 100;
  p.take(0);
  assert.equal(p.perMs, 30, '1.5 x 2,000 per 100 ms');
  t = 200;
  p.take(0);
  assert.equal(p.perMs, 16, 'a quiet window: back to the minimum');
});
