/**
 * Hostile exporter inputs (issue 15: 17, 18, 23): series that are one on the wire are one in
 * the exposition, EMF documents stay within CloudWatch's documented limits, and the cache
 * families have a cardinality guard.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { PrometheusExporter, toEmf } from '../../src/exporters/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { parseExposition, prometheusParserAvailable } from '../exporters/prometheus-parser.js';

/** Every sample line name+labels appears once (a duplicate fails the whole scrape). */
function duplicateSeries(body: string): string[] {
  const seen = new Set<string>();
  const dup: string[] = [];
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const key = line.slice(0, line.lastIndexOf(' '));
    if (seen.has(key)) dup.push(key);
    seen.add(key);
  }
  return dup;
}

describe('Prometheus: values equal on the wire are one series (15.17)', () => {
  it.each([
    ['lone high and lone low surrogate', 'a\uD800', 'a\uDC00'],
    ['lone surrogate and U+FFFD', 'x\uDBFF', 'x\uFFFD'],
    ['two different lone highs', '\uD83D-', '\uD83C-'],
  ])('label values: %s', (_what, a, b) => {
    const m = new PerformanceMonitor();
    m.record('llm', 10, { provider: a });
    m.record('llm', 20, { provider: b });
    const body = new PrometheusExporter(m).metrics();
    expect(duplicateSeries(body)).toEqual([]);
    expect(body).toContain('provider="');
    expect(body).toMatch(/earshot_operation_duration_seconds_count\{[^}]*\} 2$/m);
    expect(body).not.toMatch(/[\uD800-\uDFFF]/u);
  });

  it('cache namespaces equal on the wire are summed into one series', () => {
    const m = new PerformanceMonitor();
    const cache = { stats: () => ({ 'n\uD800': { hits: 1, misses: 2 }, 'n\uDC00': { hits: 3, misses: 4 } }) };
    const body = new PrometheusExporter(m, { cache }).metrics();
    expect(duplicateSeries(body)).toEqual([]);
    expect(body).toMatch(/earshot_cache_hits_total\{namespace="n\uFFFD"\} 4/);
  });

  it.runIf(prometheusParserAvailable())('the reference parser accepts the exposition', () => {
    const m = new PerformanceMonitor();
    m.record('llm', 10, { provider: 'a\uD800' });
    m.record('llm', 20, { provider: 'a\uDC00' });
    const fams = parseExposition(new PrometheusExporter(m).metrics(), 'text');
    expect(fams.length).toBeGreaterThan(0);
  });
});

describe('Prometheus: the cache families have a cardinality guard (15.23)', () => {
  function flood(n: number) {
    const stats: Record<string, { hits: number; misses: number; stale: number; hitRate: number }> = {};
    for (let i = 0; i < n; i++)
      stats[`ns${String(i).padStart(6, '0')}`] = { hits: 1, misses: 1, stale: 1, hitRate: 0.5 };
    return { stats: () => stats };
  }
  const seriesOf = (body: string, family: string) =>
    body.split('\n').filter((l) => l.startsWith(`${family}{`) || l.startsWith(`${family} `));

  it('50,000 namespaces: at most maxCacheNamespaces + 1 series per family, totals kept', () => {
    const body = new PrometheusExporter(new PerformanceMonitor(), { cache: flood(50_000) }).metrics();
    const hits = seriesOf(body, 'earshot_cache_hits_total');
    expect(hits).toHaveLength(101);
    const total = hits.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(total).toBe(50_000);
    expect(body).toContain('earshot_cache_hits_total{namespace="other"} 49900');
    // Counters are summed into "other"; gauges (a hit rate) are not summed into nonsense.
    expect(body).toContain('earshot_cache_stale_total{namespace="other"} 49900');
    expect(body).not.toMatch(/earshot_cache_hit_rate\{namespace="other"\}/);
    expect(duplicateSeries(body)).toEqual([]);
  });

  it('the limit is an option, validated', () => {
    const body = new PrometheusExporter(new PerformanceMonitor(), {
      cache: flood(10),
      maxCacheNamespaces: 3,
    }).metrics();
    expect(seriesOf(body, 'earshot_cache_misses_total')).toHaveLength(4);
    expect(() => new PrometheusExporter(new PerformanceMonitor(), { maxCacheNamespaces: 0 })).toThrow(
      ConfigError,
    );
  });
});

describe('EMF: documents within CloudWatch limits (15.18)', () => {
  const monitor = () => {
    const m = new PerformanceMonitor();
    m.record('llm', 10, { provider: 'openai' });
    return m;
  };

  it('rejects more than 30 dimensions in a set, counting constant ones and operation', () => {
    const dims = Array.from({ length: 20 }, (_, i) => `d${i}`);
    const constDimensions = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`c${i}`, 'v']));
    expect(() => toEmf(monitor().collect(), { dimensions: dims, constDimensions })).toThrow(ConfigError);
    expect(() =>
      toEmf(monitor().collect(), { dimensions: dims.slice(0, 19), constDimensions }),
    ).not.toThrow();
    expect(() =>
      toEmf(monitor().collect(), { dimensions: Array.from({ length: 30 }, (_, i) => `d${i}`) }),
    ).toThrow(ConfigError);
  });

  it.each([
    'Latency',
    'Requests',
    'Errors',
    'CacheHits',
    'CacheMisses',
    'CacheStaleHits',
    'CacheErrors',
    'operation',
    'CacheNamespace',
  ])('rejects the dimension name %s (it would be overwritten)', (name) => {
    expect(() => toEmf(monitor().collect(), { dimensions: [name] })).toThrow(ConfigError);
    expect(() => toEmf(monitor().collect(), { constDimensions: { [name]: 'x' } })).toThrow(ConfigError);
  });

  it('rejects blank names and values and a dimension given twice', () => {
    expect(() => toEmf(monitor().collect(), { dimensions: ['  '] })).toThrow(ConfigError);
    expect(() => toEmf(monitor().collect(), { constDimensions: { Service: '   ' } })).toThrow(ConfigError);
    expect(() =>
      toEmf(monitor().collect(), { dimensions: ['Service'], constDimensions: { Service: 'x' } }),
    ).toThrow(ConfigError);
  });

  it.each([
    ['empty', ''],
    ['spaces', '   '],
    ['tab and newline', '\t\n'],
  ])('a blank label value (%s) becomes "none"', (_what, value) => {
    const m = new PerformanceMonitor();
    m.record('llm', 10, { provider: value });
    const doc = JSON.parse(toEmf(m.collect(), { dimensions: ['provider'] })[0]!) as Record<string, unknown>;
    expect(doc.provider).toBe('none');
  });
});
