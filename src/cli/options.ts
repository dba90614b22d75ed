/** Option values the CLI's actions parse beyond what commander does: lists, bounded integers, durations. */
import { InputError } from '../common/errors.js';
import { isDuration, parseDuration } from '../spec/index.js';

/** "a, b,c" -> ["a", "b", "c"]. */
export const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** An integer option in [min, max]; InputError (exit 2) otherwise. */
export function intOption(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(`${what} must be an integer from ${min} to ${max}, not "${text}"`);
  return n;
}

/** A duration option (30s, 5m, 1h) in milliseconds, more than zero; InputError (exit 2) otherwise. */
export function durationOption(text: string, what: string): number {
  const ms = isDuration(text) ? parseDuration(text) : 0;
  if (ms <= 0) throw new InputError(`${what} ${text}: expected a duration like 90s, 15m or 1h30m`);
  return ms;
}
