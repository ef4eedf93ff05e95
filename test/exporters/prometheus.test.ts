import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError } from '../../src/errors.js';
import {
  formatPrometheus,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_TEXT_CONTENT_TYPE,
  PrometheusExporter,
} from '../../src/exporters/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { type ParsedFamily, parseExposition, prometheusParserAvailable } from './prometheus-parser.js';

function monitorWith(samples: Record<string, number[]>, labels: Record<string, string> = { provider: 'p' }) {
  const m = new PerformanceMonitor({ now: () => 1000 });
  for (const [op, values] of Object.entries(samples)) for (const v of values) m.record(op, v, labels);
  return m;
}

function family(families: ParsedFamily[], name: string): ParsedFamily {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name} in ${families.map((x) => x.name).join(', ')}`);
  return f;
}

const parserAvailable = prometheusParserAvailable();
beforeAll(() => {
  if (!parserAvailable) {
    const msg =
      'python3 with prometheus_client is not installed: the exposition-parser tests cannot run (pip install prometheus-client).';
    if (process.env.CI === 'true') throw new Error(msg);
    console.warn(`\n*** SKIPPING parser tests: ${msg}\n`);
  }
});

describe.runIf(parserAvailable)('Prometheus output read back by the reference parser', () => {
  it('exposes each operation as a histogram in seconds whose buckets match the samples', () => {
    const values = [0.5, 3, 7, 12, 40, 90, 120, 480, 900, 2500];
    const m = monitorWith({ stt: values });
    const families = parseExposition(new PrometheusExporter(m).metrics('text'), 'text');
    const f = family(families, 'earshot_operation_duration_seconds');
    expect(f.type).toBe('histogram');
    const buckets = f.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.operation === 'stt');
    for (const b of buckets) {
      const le = b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le) * 1000;
      expect(b.value, `le=${b.labels.le}`).toBe(values.filter((v) => v <= le).length);
      expect(b.labels.provider).toBe('p');
      expect(b.labels.outcome).toBeUndefined();
    }
    const sum = f.samples.find((s) => s.name.endsWith('_sum'))!;
    const count = f.samples.find((s) => s.name.endsWith('_count'))!;
    expect(sum.value).toBeCloseTo(values.reduce((a, b) => a + b, 0) / 1000, 9);
    expect(count.value).toBe(values.length);
  });

  it('writes OpenMetrics that the strict OpenMetrics parser accepts, with units and _total counters', () => {
    const m = new PerformanceMonitor({ now: () => 0 });
    m.record('llm', 250, { outcome: 'ok' });
    m.record('llm', 900, { outcome: 'error' });
    const text = new PrometheusExporter(m, {
      cache: { stats: () => ({ llm: { hits: 3, misses: 1 } }) },
    }).metrics('openmetrics');
    expect(text.endsWith('# EOF\n')).toBe(true);
    const families = parseExposition(text, 'openmetrics');
    const duration = family(families, 'earshot_operation_duration_seconds');
    expect(duration.unit).toBe('seconds');
    const errors = family(families, 'earshot_operation_errors');
    expect(errors.type).toBe('counter');
    const errorSample = errors.samples.find(
      (s) => s.labels.outcome === 'error' && s.name === 'earshot_operation_errors_total',
    );
    expect(errorSample?.value).toBe(1);
    expect(family(families, 'earshot_cache_hits').samples[0]).toMatchObject({
      name: 'earshot_cache_hits_total',
      value: 3,
    });
  });

  it('round-trips arbitrary label values (quotes, backslashes, newlines, unicode) through escaping', () => {
    const values = fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), { numRuns: 200, seed: 42 });
    values.push('a"b', 'back\\slash', 'new\nline', '\\n literally', '"', '\\', '');
    const samples = values.map((v, i) => ({ labels: { i: String(i), v }, value: i }));
    const text = formatPrometheus([{ name: 'label_echo', help: 'echo', type: 'gauge', samples }]);
    const parsed = family(parseExposition(text, 'text'), 'label_echo');
    for (const s of parsed.samples) {
      expect(s.labels.v).toBe(values[Number(s.labels.i)]);
    }
    const om = family(
      parseExposition(
        formatPrometheus([{ name: 'label_echo', help: 'echo', type: 'gauge', samples }], 'openmetrics'),
        'openmetrics',
      ),
      'label_echo',
    );
    expect(om.samples.map((s) => s.labels.v)).toEqual(values);
  });

  it('escapes HELP text so the parser reads it back unchanged', () => {
    const help = 'Back\\slash, "quotes" and a\nnewline';
    for (const format of ['text', 'openmetrics'] as const) {
      const text = formatPrometheus(
        [{ name: 'h', help, type: 'gauge', samples: [{ labels: {}, value: 1 }] }],
        format,
      );
      expect(family(parseExposition(text, format), 'h').documentation).toBe(help);
    }
  });

  it('exports cache stats from a CacheManager-shaped provider: hits/misses and counters, the rest as gauges', () => {
    const cache = {
      stats: () => ({
        namespaces: {
          'company_api:load': {
            hits: 7,
            misses: 2,
            stale: 1,
            errors: 0,
            sets: 2,
            deletes: 0,
            loads: 2,
            hitRate: 0.8,
          },
        },
        total: { hits: 7, misses: 2 },
        inflight: 0,
      }),
    };
    const families = parseExposition(
      new PrometheusExporter(new PerformanceMonitor(), { cache }).metrics('text'),
      'text',
    );
    expect(family(families, 'earshot_cache_hits').samples[0]).toMatchObject({
      labels: { namespace: 'company_api:load' },
      value: 7,
    });
    expect(family(families, 'earshot_cache_misses').samples[0]?.value).toBe(2);
    expect(family(families, 'earshot_cache_loads').type).toBe('counter');
    expect(family(families, 'earshot_cache_hit_rate')).toMatchObject({
      type: 'gauge',
      samples: [{ value: 0.8 }],
    });
  });

  it('adds constant labels and renames a series label that would clash with the exporter', () => {
    const m = new PerformanceMonitor({ now: () => 0 });
    m.record('tts', 10, { operation: 'synth', service: 'other' });
    const text = new PrometheusExporter(m, { constLabels: { service: 'voice' } }).metrics();
    const f = family(parseExposition(text, 'text'), 'earshot_operation_duration_seconds');
    expect(f.samples[0]?.labels).toMatchObject({
      operation: 'tts',
      exported_operation: 'synth',
      exported_service: 'other',
      service: 'voice',
    });
  });
});

describe('Prometheus exposition without a parser', () => {
  it('uses the configured bucket bounds, in seconds', () => {
    const m = monitorWith({ stt: [5, 50] });
    const text = new PrometheusExporter(m, { bucketsMs: [10, 100] }).metrics();
    expect(text).toContain(
      'earshot_operation_duration_seconds_bucket{operation="stt",provider="p",le="0.01"} 1',
    );
    expect(text).toContain('le="0.1"} 2');
    expect(text).toContain('le="+Inf"} 2');
    expect(text.match(/_bucket\{/g)).toHaveLength(3);
  });

  it('rejects bucket bounds that are not ascending with a ConfigError naming the field', () => {
    expect(() => new PrometheusExporter(new PerformanceMonitor(), { bucketsMs: [100, 10] })).toThrow(
      ConfigError,
    );
    try {
      new PrometheusExporter(new PerformanceMonitor(), { bucketsMs: [100, 10] });
    } catch (err) {
      expect((err as ConfigError).issues[0]?.path).toBe('bucketsMs');
    }
  });

  it('rejects invalid or reserved constant label names', () => {
    for (const name of ['1abc', 'with-dash', '__reserved', 'le', 'operation']) {
      expect(
        () => new PrometheusExporter(new PerformanceMonitor(), { constLabels: { [name]: 'x' } }),
        name,
      ).toThrow(ConfigError);
    }
  });

  it('refuses invalid metric and label names when formatting families', () => {
    expect(() => formatPrometheus([{ name: 'bad-name', help: '', type: 'gauge', samples: [] }])).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      formatPrometheus([
        { name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'bad.label': 'x' }, value: 1 }] },
      ]),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      formatPrometheus([
        {
          name: 'h',
          help: '',
          type: 'histogram',
          samples: [{ labels: { le: '1' }, buckets: [], count: 0, sum: 0 }],
        },
      ]),
    ).toThrow(/reserves/);
  });

  it('writes special float values the way Prometheus spells them', () => {
    const text = formatPrometheus([
      {
        name: 'g',
        help: '',
        type: 'gauge',
        samples: [
          { labels: { k: 'a' }, value: Number.POSITIVE_INFINITY },
          { labels: { k: 'b' }, value: Number.NEGATIVE_INFINITY },
          { labels: { k: 'c' }, value: Number.NaN },
        ],
      },
    ]);
    expect(text).toContain('g{k="a"} +Inf');
    expect(text).toContain('g{k="b"} -Inf');
    expect(text).toContain('g{k="c"} NaN');
  });

  it('merges two series that end up with the same labels instead of duplicating them', () => {
    const source = {
      collect: () => {
        const m = monitorWith({ stt: [1, 2] });
        const [a] = m.collect();
        return [a!, { ...a!, labels: { ...a!.labels } }];
      },
    };
    const text = new PrometheusExporter(source).metrics();
    expect(text).toContain('earshot_operation_duration_seconds_count{operation="stt",provider="p"} 4');
  });
});

describe('Prometheus HTTP handlers', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(exporter: PrometheusExporter): Promise<string> {
    server = createServer(exporter.handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  }

  it('serves the text format to a plain scraper from a node:http server', async () => {
    const url = await serve(new PrometheusExporter(monitorWith({ stt: [20] })));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(PROMETHEUS_TEXT_CONTENT_TYPE);
    expect(await res.text()).toContain('earshot_operation_duration_seconds_count{operation="stt"');
  });

  it('answers OpenMetrics when the scraper asks for it the way Prometheus does', async () => {
    const url = await serve(new PrometheusExporter(monitorWith({ stt: [20] })));
    const res = await fetch(url, {
      headers: {
        accept:
          'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      },
    });
    expect(res.headers.get('content-type')).toBe(OPENMETRICS_CONTENT_TYPE);
    expect((await res.text()).endsWith('# EOF\n')).toBe(true);
  });

  it('refuses methods other than GET and HEAD with 405', async () => {
    const url = await serve(new PrometheusExporter(new PerformanceMonitor()));
    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers a fetch Request with a Response (Hono, Next.js, Bun)', async () => {
    const exporter = new PrometheusExporter(monitorWith({ tts: [30] }));
    const res = exporter.fetch(new Request('http://x/metrics'));
    expect(res.headers.get('content-type')).toBe(PROMETHEUS_TEXT_CONTENT_TYPE);
    expect(await res.text()).toContain('operation="tts"');
    expect(exporter.fetch(new Request('http://x/metrics', { method: 'DELETE' })).status).toBe(405);
  });

  it('returns 500 with a message, not a crash, when collecting fails', async () => {
    const exporter = new PrometheusExporter({
      collect: () => {
        throw new Error('boom password=hunter22');
      },
    });
    const url = await serve(exporter);
    const res = await fetch(url);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).toContain('boom');
    expect(body).not.toContain('hunter22');
  });
});

describe.runIf(parserAvailable)('Prometheus exporter with earshot’s own cache', () => {
  it('takes a real CacheManager as its cache provider', async () => {
    const { createCacheManager } = await import('../../src/cache/index.js');
    const cache = createCacheManager({ namespaces: { llm: { ttlSeconds: 60 } } });
    await cache.set('q', 'answer', 'llm');
    await cache.get('q', 'llm');
    await cache.get('missing', 'llm');
    const families = parseExposition(
      new PrometheusExporter(new PerformanceMonitor(), { cache }).metrics(),
      'text',
    );
    expect(family(families, 'earshot_cache_hits').samples).toEqual([
      { name: 'earshot_cache_hits_total', labels: { namespace: 'llm' }, value: 1 },
    ]);
    expect(family(families, 'earshot_cache_misses').samples[0]?.value).toBe(1);
    await cache.close?.();
  });
});
