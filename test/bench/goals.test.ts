import { describe, expect, it } from 'vitest';
import {
  formatGoalLine,
  formatRunLine,
  type GoalLine,
  judge,
  mergeGoalsTable,
  parseBenchOutput,
  type RunLine,
} from '../../bench/goals.js';

const g = (id: string, measured: string, verdict: GoalLine['verdict'] = 'met'): GoalLine => ({
  id,
  what: `what ${id}`,
  measured,
  goal: '≤ 1.10x',
  verdict,
});
const run = (bench: string, at = '2026-12-04T19:00:00Z'): RunLine => ({
  bench,
  at,
  node: 'v20.20.2',
  loadStart: '3.10',
  loadEnd: '4.20',
  mode: 'full',
});

const DOC = [
  '# Performance',
  '',
  '<!-- goals:start -->',
  '| id | what is compared | measured | goal | verdict |',
  '|---|---|---|---|---|',
  '| `cache.a` | old a | 9x | ≥ 5x | **met** |',
  '| `cache.b` | old b | 9x | ≥ 5x | **met** |',
  '| `monitor.x` | kept x | 1.0x | ≤ 2x | **met** |',
  '',
  '- `cache`: old run',
  '- `monitor`: monitor run',
  '<!-- goals:end -->',
  '',
  '## Next section stays',
].join('\n');

describe('goal lines', () => {
  it('round-trips through the printed line, with a separator inside a field made harmless', () => {
    const line = formatGoalLine({ ...g('cache.redis-seq', '1.17x', 'not met'), what: 'a | b\nc' });
    expect(line).toBe('GOAL cache.redis-seq | a / b c | 1.17x | ≤ 1.10x | not met');
    const parsed = parseBenchOutput(`noise\n${line}\nmore noise`);
    expect(parsed.goals).toEqual([
      { id: 'cache.redis-seq', what: 'a / b c', measured: '1.17x', goal: '≤ 1.10x', verdict: 'not met' },
    ]);
  });

  it('reads RUN lines back as written', () => {
    const r = run('fleet');
    expect(parseBenchOutput(formatRunLine(r)).runs).toEqual([r]);
  });

  it('rejects ids without a bench prefix, unknown verdicts and malformed lines', () => {
    expect(() => formatGoalLine(g('redis-seq', '1x'))).toThrow(/<bench>\.<name>/);
    expect(() => formatGoalLine({ ...g('cache.x', '1x'), verdict: 'passed' as 'met' })).toThrow(/verdict/);
    expect(() => parseBenchOutput('GOAL cache.x | only | three')).toThrow(/malformed goal line/);
  });

  it('judges each comparison at its boundary and never meets NaN', () => {
    expect(judge(1.1, '<=', 1.1)).toBe('met');
    expect(judge(1.1, '<', 1.1)).toBe('not met');
    expect(judge(5, '>=', 5)).toBe('met');
    expect(judge(5, '>', 5)).toBe('not met');
    expect(judge(4.99, '>=', 5)).toBe('not met');
    expect(judge(Number.NaN, '<=', 1)).toBe('not met');
    expect(judge(Number.POSITIVE_INFINITY, '>=', 1)).toBe('not met');
  });
});

describe('mergeGoalsTable', () => {
  it('replaces the rows and run note of the benches that ran and keeps the others in place', () => {
    const out = mergeGoalsTable(DOC, [g('cache.c', '1.17x', 'not met')], [run('cache')]);
    expect(out).not.toContain('old a');
    expect(out).not.toContain('old b');
    expect(out).not.toContain('old run');
    expect(out).toContain('| `cache.c` | what cache.c | 1.17x | ≤ 1.10x | **not met** |');
    expect(out).toContain('| `monitor.x` | kept x | 1.0x | ≤ 2x | **met** |');
    expect(out).toContain('- `monitor`: monitor run');
    expect(out).toContain('- `cache`: 2026-12-04T19:00:00Z, Node.js v20.20.2, load average 3.10 at start');
    // the cache rows stay where they were: before the monitor row
    expect(out.indexOf('`cache.c`')).toBeLessThan(out.indexOf('`monitor.x`'));
    expect(out.startsWith('# Performance\n\n<!-- goals:start -->')).toBe(true);
    expect(out.endsWith('<!-- goals:end -->\n\n## Next section stays')).toBe(true);
  });

  it('appends a bench new to the table after the existing rows, in the order stated', () => {
    const out = mergeGoalsTable(DOC, [g('fleet.b', '2'), g('fleet.a', '1')], [run('fleet')]);
    const rows = out.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.map((l) => /`([^`]+)`/.exec(l)?.[1])).toEqual([
      'cache.a',
      'cache.b',
      'monitor.x',
      'fleet.b',
      'fleet.a',
    ]);
  });

  it('drops the rows of a bench that ran but no longer states them (no stale figures)', () => {
    const out = mergeGoalsTable(DOC, [], [run('cache')]);
    expect(out).not.toContain('`cache.a`');
    expect(out).toContain('`monitor.x`');
  });

  it('gives the same page when run twice with the same figures', () => {
    const once = mergeGoalsTable(DOC, [g('cache.c', '1x')], [run('cache')]);
    expect(mergeGoalsTable(once, [g('cache.c', '1x')], [run('cache')])).toBe(once);
  });

  it('refuses a page without the markers instead of adding a second table', () => {
    expect(() => mergeGoalsTable('# Performance\n', [g('cache.c', '1x')], [run('cache')])).toThrow(
      /goals:start/,
    );
  });
});
