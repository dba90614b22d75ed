import v8 from 'node:v8';

/**
 * V8's young generation (two semi-spaces, 1 MiB each at first) doubles, up to 2 x 16 MiB on 64-bit,
 * whenever more bytes survive its scavenges than it holds. `--semi-space-growth-factor` is read by
 * V8 each time it considers growing, so setting it at run time takes effect (unlike
 * --max-semi-space-size, fixed when the heap is set up; and on the command line V8 raises any
 * factor below 2 to 2, so there 1 does nothing). Factor 1 stops the growth where it is.
 */
function setGrowthFactor(factor: 1 | 2): void {
  v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
}

/**
 * Stops the young generation growing. Called before `netboot serve` loads its modules: loading them
 * (the spec schema, the servers) leaves enough survivors to double it twice, 4 MiB more idle RSS
 * that V8 gives back only when its memory reducer runs, ~10 s later.
 */
export function keepYoungGenerationSmall(): void {
  setGrowthFactor(1);
}

/** Young-generation size (V8's new_space, both semi-spaces) a busy server may grow to. */
export const BUSY_YOUNG_GENERATION = 8 * 1024 * 1024;

/**
 * The growth factor for a young generation of `size` bytes: 2 (V8 may double it, which it does only
 * when objects survive, i.e. under load) below `limit`, 1 (no further growth) from there on.
 */
export function growthFactorFor(size: number, limit: number): 1 | 2 {
  return size < limit ? 2 : 1;
}

/**
 * For a long-running server: small while idle, larger under load, never past `limit`. At 1 MiB
 * semi-spaces a DHCP load of 6,000 exchanges/s runs ~3,400 scavenges in 12 s and spends ~40 % more
 * CPU in them than at 4 MiB ones (scavenges cost their survivors, and there are four times as many);
 * unbounded, the young generation grows to 2 x 16 MiB and RSS by ~45 MiB. Every `everyMs` the
 * factor is set from the young generation's size: growth is allowed below `limit` and stopped at
 * it. Growing one step needs more survivors than the space holds (~1 s of that load at 2 MiB), so
 * a quarter-second check stops it within a step. V8's memory reducer shrinks it back once the
 * server is idle. Returns a function that stops the checks (the timer never holds the process).
 */
export function boundYoungGeneration(limit = BUSY_YOUNG_GENERATION, everyMs = 250): () => void {
  let factor: 1 | 2 = 1;
  const check = () => {
    const size = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? limit;
    const next = growthFactorFor(size, limit);
    if (next !== factor) setGrowthFactor((factor = next));
  };
  setGrowthFactor(factor);
  const timer = setInterval(check, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    setGrowthFactor(1);
  };
}
