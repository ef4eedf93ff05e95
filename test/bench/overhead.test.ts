import { describe, expect, it } from 'vitest';
import { overheadRows, overheadSummary, type PairedOverhead, pairedOverhead } from '../../bench/harness.js';

/** A hand-made run: `diff[i]` = pipeline − direct of pair i, direct 0.1 ms everywhere. */
function run(diff: number[], stalled: boolean[], hitByGc: boolean[]): PairedOverhead {
  const direct = diff.map(() => 0.1);
  return {
    n: diff.length,
    pipe: { wall: diff.map((d) => d + 0.1), cpu: diff.map((d) => d + 0.1), allocKb: diff.map(() => 100) },
    direct: { wall: direct, cpu: direct, allocKb: diff.map(() => 10) },
    diff: { wall: diff, cpu: diff },
    stalled,
    hitByGc,
    gcEvery: 0,
    load: [1, 1],
  };
}

describe('paired framework overhead (bench/harness.ts)', () => {
  // 100 pairs: 0.2 ms each, except 3 stalled (20 ms) and 2 hit by a GC (30 ms).
  const diff = Array.from({ length: 100 }, (_, i) => (i < 3 ? 20 : i < 5 ? 30 : 0.2));
  const stalled = diff.map((_, i) => i < 3);
  const gc = diff.map((_, i) => i >= 3 && i < 5);
  const o = run(diff, stalled, gc);

  it('judges the P99 on every sample: stalls and GC count, and are not averaged away', () => {
    const s = overheadSummary(o);
    expect(s.wallP99).toBe(30);
    expect(s.wallP50).toBe(0.2);
    expect(s.stalledShare).toBeCloseTo(0.03);
    expect(s.gcShare).toBeCloseTo(0.02);
    // the split is reported next to it, never instead of it
    expect(s.quietWallP99).toBe(0.2);
    expect(s.quietCount).toBe(95);
    expect(s.noStallWallP99).toBe(30);
    expect(s.noGcWallP99).toBe(20);
    expect(s.pipeAllocKb).toBe(100);
    expect(s.directAllocKb).toBe(10);
  });

  it('is the P99 of the paired differences, not P99(pipeline) − P99(direct)', () => {
    // Each arm has its own rare spike in different pairs: unpaired, they cancel out.
    const pipe = Array.from({ length: 100 }, (_, i) => (i < 2 ? 10 : 0.3));
    const direct = Array.from({ length: 100 }, (_, i) => (i >= 98 ? 10 : 0.1));
    const paired = run(
      pipe.map((p, i) => p - (direct[i] as number)),
      pipe.map(() => false),
      pipe.map(() => false),
    );
    expect(overheadSummary(paired).wallP99).toBeCloseTo(9.9);
  });

  it('prints every sample, the clean samples and each cause as separate rows', () => {
    const rows = overheadRows(o);
    const byCase = new Map(rows.filter((r) => r.clock === 'wall').map((r) => [r.case, r]));
    expect(byCase.get('overhead (pipeline − baseline, paired), every sample')?.samples).toBe(100);
    expect(byCase.get('overhead (pipeline − baseline, paired), no run-queue stall and no GC')?.samples).toBe(
      95,
    );
    expect(byCase.get('overhead (pipeline − baseline, paired), hit by a run-queue stall')?.samples).toBe(3);
    expect(byCase.get('overhead (pipeline − baseline, paired), hit by a GC')?.samples).toBe(2);
  });

  it('measures real turns: every pair runs both arms, in order, and is recorded', async () => {
    const order: string[] = [];
    const out = await pairedOverhead({
      n: 20,
      warmup: 2,
      gcEvery: 5,
      pipelineTurn: async () => {
        order.push('p');
      },
      directTurn: async () => {
        order.push('d');
      },
    });
    expect(order.join('')).toBe('pd'.repeat(22));
    expect(out.n).toBe(20);
    for (const xs of [out.pipe.wall, out.direct.wall, out.diff.wall, out.stalled, out.hitByGc])
      expect(xs).toHaveLength(20);
    expect(
      out.diff.wall.every((d, i) => d === (out.pipe.wall[i] as number) - (out.direct.wall[i] as number)),
    ).toBe(true);
  });
});
