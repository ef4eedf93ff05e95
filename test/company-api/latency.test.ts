import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadSchema } from '../../src/company-api/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  createRng,
  FAULT_KINDS,
  FaultInjector,
  LatencyModel,
  latencyProfiles,
  malformJson,
} from '../../src/testing/index.js';
import { percentile } from './helpers.js';

const sampleLoad = {
  id: '2314',
  status: 'in_transit',
  origin: { city: 'Dallas', state: 'TX' },
  destination: { city: 'Memphis', state: 'TN' },
  commodity: 'beverages',
  weightLbs: 38000,
  carrier: 'Summit Haulers',
  driverName: 'Ana Chen',
  equipmentId: 'TRK-0001',
  currentLocation: { city: 'Texarkana', state: 'TX' },
  pickupAt: '2025-01-05T12:00:00.000Z',
  estimatedDeliveryAt: '2025-01-06T20:00:00.000Z',
  deliveredAt: null,
  updatedAt: '2025-01-06T08:00:00.000Z',
};

describe('createRng', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng('42x');
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
  });

  it('keeps next() in [0, 1) and int(n) in [0, n) for any seed', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const rng = createRng(seed);
        for (let i = 0; i < 50; i++) {
          const x = rng.next();
          const k = rng.int(n);
          if (!(x >= 0 && x < 1 && Number.isInteger(k) && k >= 0 && k < n)) return false;
        }
        return true;
      }),
    );
  });
});

describe('LatencyModel', () => {
  it('returns the fixed value for a number or a fixed profile', () => {
    expect(new LatencyModel(25).sample()).toBe(25);
    expect(new LatencyModel({ kind: 'fixed', ms: 7 }).sample()).toBe(7);
    expect(new LatencyModel().sample()).toBe(0);
  });

  it('draws a distribution whose empirical P50 and P90 match the profile', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 500, noNaN: true }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.integer(),
        (p50Ms, spread, seed) => {
          const model = new LatencyModel({ kind: 'distribution', p50Ms, p90Ms: p50Ms * spread }, { seed });
          const xs = Array.from({ length: 20_000 }, () => model.sample());
          const p50 = percentile(xs, 50);
          const p90 = percentile(xs, 90);
          expect(p50 / p50Ms).toBeGreaterThan(0.93);
          expect(p50 / p50Ms).toBeLessThan(1.07);
          expect(p90 / (p50Ms * spread)).toBeGreaterThan(0.93);
          expect(p90 / (p50Ms * spread)).toBeLessThan(1.07);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('keeps draws inside minMs and maxMs', () => {
    const model = new LatencyModel(
      { kind: 'distribution', p50Ms: 50, p90Ms: 200, minMs: 40, maxMs: 250 },
      { seed: 3 },
    );
    const xs = Array.from({ length: 5000 }, () => model.sample());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(40);
    expect(Math.max(...xs)).toBeLessThanOrEqual(250);
  });

  it('switches profile at runtime', () => {
    const model = new LatencyModel(latencyProfiles.companyApi, { seed: 1 });
    model.set(500);
    expect(model.sample()).toBe(500);
    expect(model.profile).toBe(500);
  });

  it('rejects an invalid profile with InvalidArgumentError and keeps the old one', () => {
    const model = new LatencyModel(10);
    expect(() => model.set({ kind: 'distribution', p50Ms: 100, p90Ms: 50 })).toThrow(InvalidArgumentError);
    expect(() => model.set(-1)).toThrow(/Invalid latency profile/);
    expect(model.sample()).toBe(10);
  });
});

describe('FaultInjector', () => {
  it('injects nothing by default', () => {
    const f = new FaultInjector();
    for (let i = 0; i < 1000; i++) expect(f.decide('getLoad').kind).toBe('none');
    expect(Object.values(f.injected).every((n) => n === 0)).toBe(true);
  });

  it('injects each kind at about its rate and counts what it injected', () => {
    const f = new FaultInjector(
      {
        errorRate: 0.1,
        rateLimitRate: 0.05,
        slowRate: 0.05,
        timeoutRate: 0.05,
        malformedRate: 0.05,
        resetRate: 0.1,
      },
      { seed: 9 },
    );
    const seen: Record<string, number> = {};
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const d = f.decide();
      seen[d.kind] = (seen[d.kind] ?? 0) + 1;
    }
    expect((seen.error ?? 0) / n).toBeCloseTo(0.1, 1);
    expect((seen.reset ?? 0) / n).toBeCloseTo(0.1, 1);
    expect((seen.none ?? 0) / n).toBeCloseTo(0.6, 1);
    for (const k of FAULT_KINDS) expect(f.injected[k]).toBe(seen[k] ?? 0);
  });

  it('serves scripted faults first, in order, and only on their route', () => {
    const f = new FaultInjector();
    f.enqueue('reset', { kind: 'error', status: 502 }, { kind: 'timeout', route: 'listLoads' });
    expect(f.decide('getLoad')).toEqual({ kind: 'reset' });
    expect(f.decide('getLoad')).toEqual({ kind: 'error', status: 502 });
    expect(f.decide('getLoad').kind).toBe('none');
    expect(f.decide('listLoads').kind).toBe('timeout');
  });

  it('limits rate-based faults to the listed routes', () => {
    const f = new FaultInjector({ errorRate: 1, routes: ['listLoads'] });
    expect(f.decide('getLoad').kind).toBe('none');
    expect(f.decide('listLoads').kind).toBe('error');
  });

  it('can be healed and degraded at runtime', () => {
    const f = new FaultInjector({ resetRate: 1 });
    expect(f.decide().kind).toBe('reset');
    f.set(undefined);
    expect(f.decide().kind).toBe('none');
    f.set({ rateLimitRate: 1, retryAfterSeconds: 3 });
    expect(f.decide()).toEqual({ kind: 'rateLimit', status: 429, retryAfterSeconds: 3 });
  });

  it('rejects rates that add up to more than 1, unknown fields and unknown kinds', () => {
    expect(() => new FaultInjector({ errorRate: 0.7, resetRate: 0.7 })).toThrow(InvalidArgumentError);
    expect(() => new FaultInjector({ errorRatio: 0.1 } as never)).toThrow(InvalidArgumentError);
    expect(() => new FaultInjector().enqueue('explode' as never)).toThrow(InvalidArgumentError);
  });
});

describe('malformJson', () => {
  it('always produces a body that a schema-checking client rejects', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const text = malformJson(sampleLoad, createRng(seed));
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return true; // cut short: not JSON at all
        }
        return !loadSchema.safeParse(parsed).success;
      }),
      { numRuns: 300 },
    );
  });

  it('corrupts an item inside a page, not only the page', () => {
    const page = { items: [sampleLoad], nextCursor: null, total: 1 };
    let typeChanges = 0;
    for (let seed = 0; seed < 50; seed++) {
      const text = malformJson(page, createRng(seed));
      try {
        const parsed = JSON.parse(text) as { items: unknown[] };
        expect(loadSchema.safeParse(parsed.items[0]).success).toBe(false);
        typeChanges++;
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
    }
    expect(typeChanges).toBeGreaterThan(0);
  });
});
