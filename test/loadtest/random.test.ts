import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { Scenario } from '../../src/loadtest/index.js';
import { seededRandom, weightedPicker } from '../../src/loadtest/index.js';

const scenario = (name: string, weight?: number): Scenario => ({
  name,
  ...(weight === undefined ? {} : { weight }),
  run: async () => undefined,
});

describe('seededRandom', () => {
  it('gives the same sequence for the same seed and values in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = seededRandom(seed);
        const b = seededRandom(seed);
        for (let i = 0; i < 20; i++) {
          const x = a();
          expect(x).toBe(b());
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThan(1);
        }
      }),
    );
  });
});

describe('weightedPicker', () => {
  it('picks scenarios in proportion to their weights', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 5 }),
        fc.integer(),
        (weights, seed) => {
          const scenarios = weights.map((w, i) => scenario(`s${i}`, w));
          const pick = weightedPicker(scenarios, seededRandom(seed));
          const counts = new Map<string, number>();
          const n = 20_000;
          for (let i = 0; i < n; i++) {
            const s = pick().name;
            counts.set(s, (counts.get(s) ?? 0) + 1);
          }
          const total = weights.reduce((a, b) => a + b, 0);
          weights.forEach((w, i) => {
            expect(Math.abs((counts.get(`s${i}`) ?? 0) / n - w / total)).toBeLessThan(0.025);
          });
        },
      ),
      { numRuns: 20 },
    );
  });

  it('treats a missing weight as 1', () => {
    const pick = weightedPicker([scenario('a'), scenario('b', 3)], seededRandom(1));
    let a = 0;
    for (let i = 0; i < 8000; i++) if (pick().name === 'a') a++;
    expect(a / 8000).toBeGreaterThan(0.2);
    expect(a / 8000).toBeLessThan(0.3);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects weight %s', (w) => {
    expect(() => weightedPicker([scenario('a', w)], seededRandom(1))).toThrow(InvalidArgumentError);
  });

  it('rejects an empty scenario list', () => {
    expect(() => weightedPicker([], seededRandom(1))).toThrow(/at least one scenario/);
  });
});
