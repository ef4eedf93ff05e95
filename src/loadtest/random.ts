/**
 * Seeded randomness for the load engine: reproducible scenario picks, think times and Poisson
 * arrivals from a `--seed`.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { Scenario } from './types.js';

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG. Returns numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = Math.floor(seed) >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Picks scenarios in proportion to their weights (default 1), like Locust's `@task(weight)`.
 * @throws InvalidArgumentError when there is no scenario or a weight is not a positive number.
 */
export function weightedPicker(scenarios: readonly Scenario[], random: () => number): () => Scenario {
  if (scenarios.length === 0) throw new InvalidArgumentError('A load test needs at least one scenario.');
  const cumulative: number[] = [];
  let total = 0;
  for (const s of scenarios) {
    const w = s.weight ?? 1;
    if (!(typeof w === 'number' && Number.isFinite(w) && w > 0)) {
      throw new InvalidArgumentError(
        `Scenario "${s.name}" has weight ${w}; weights must be positive numbers.`,
      );
    }
    total += w;
    cumulative.push(total);
  }
  if (scenarios.length === 1) return () => scenarios[0]!;
  return () => {
    const r = random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r < cumulative[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return scenarios[lo]!;
  };
}

/** Exponentially distributed gap (ms) for a Poisson process of `ratePerSec`. */
export function exponentialGapMs(ratePerSec: number, random: () => number): number {
  return (-Math.log(1 - random()) / ratePerSec) * 1000;
}
