import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { BUSY_YOUNG_GENERATION, growthFactorFor, keepYoungGenerationSmall } from '../../src/cli/young-generation.js';

const youngSize = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

/** Keeps `n` objects alive in a ring, so most of what is allocated survives a scavenge or two. */
function churn(n: number, rounds: number): number {
  const ring: { i: number; s: string }[] = new Array(n);
  let sum = 0;
  for (let i = 0; i < rounds; i++) {
    ring[i % n] = { i, s: `client-${i}` };
    sum += ring[(i * 7) % n]?.i ?? 0;
  }
  return sum;
}

test('growthFactorFor: doubling allowed below the limit, none from the limit on', () => {
  assert.equal(growthFactorFor(2 * 1024 * 1024, BUSY_YOUNG_GENERATION), 2);
  assert.equal(growthFactorFor(BUSY_YOUNG_GENERATION - 1, BUSY_YOUNG_GENERATION), 2);
  assert.equal(growthFactorFor(BUSY_YOUNG_GENERATION, BUSY_YOUNG_GENERATION), 1);
  assert.equal(growthFactorFor(32 * 1024 * 1024, BUSY_YOUNG_GENERATION), 1);
});

test('keepYoungGenerationSmall: objects surviving scavenges no longer grow the young generation (V8 honours the flag at run time)', () => {
  keepYoungGenerationSmall();
  // A first scavenge commits the second semi-space (the size doubles once, without any growth).
  churn(100, 300_000);
  const before = youngSize();
  // ~50,000 live objects turned over 400,000 times: enough survivors to double it several times over.
  churn(50_000, 400_000);
  assert.equal(youngSize(), before);
});
