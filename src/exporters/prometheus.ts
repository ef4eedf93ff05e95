import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { redact } from '../errors.js';
import { parseOptions } from './options.js';
import {
  formatPrometheus,
  isValidLabelName,
  isValidMetricName,
  negotiatePrometheusFormat,
  type PrometheusFormat,
  type PrometheusHistogramSample,
  type PrometheusMetricFamily,
  type PrometheusSample,
  prometheusContentType,
  wellFormed,
} from './prometheus-text.js';
import {
  CACHE_COUNTER_FIELDS,
  type CacheStatsProvider,
  extraNumericFields,
  type MetricsSource,
  namespaceStats,
  snakeCase,
} from './source.js';

/**
 * Default latency buckets in ms (exported in seconds): fine around the source design's targets
 * (cache 5/10 ms, company API 50 ms, STT/TTS/search 100 ms, LLM 300 ms, end-to-end 500 ms),
 * coarse above 1 s. Each bucket adds one series per labelled operation, so keep the list short.
 */
export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  1, 2.5, 5, 10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
]);

// Label names the exporter writes itself; a series label with one of these names is exported
// as `exported_<name>` (Prometheus' own convention for clashing labels).
const RESERVED_LABELS = new Set(['le', 'quantile', 'operation', 'namespace']);

/** Options of {@link PrometheusExporter}. */
export const prometheusExporterOptionsSchema = z.object({
  /** Prefix of every metric name. Default `earshot_`. */
  prefix: z
    .string()
    .refine(
      (p) => p === '' || isValidMetricName(p),
      'must be a valid metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)',
    )
    .default('earshot_'),
  /** Histogram bucket upper bounds in ms, ascending. Default {@link DEFAULT_LATENCY_BUCKETS_MS}. */
  bucketsMs: z
    .array(z.number().finite().positive('bucket bounds must be > 0 ms'))
    .min(1, 'give at least one bucket bound')
    .max(100, 'at most 100 buckets: each one is a series per labelled operation')
    .refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]!), 'bucket bounds must be strictly ascending')
    .default([...DEFAULT_LATENCY_BUCKETS_MS]),
  /** Labels added to every sample, e.g. `{ service: 'voice' }`. Default none. */
  constLabels: z
    .record(
      z
        .string()
        .refine(isValidLabelName, 'label names must match [a-zA-Z_][a-zA-Z0-9_]* and not start with "__"')
        .refine(
          (k) => !RESERVED_LABELS.has(k),
          'le, quantile, operation and namespace are written by the exporter',
        ),
      z.string(),
    )
    .default({}),
  /** Cache counters per namespace (e.g. earshot's `CacheManager`). Default none. */
  cache: z
    .custom<CacheStatsProvider>(
      (v) => typeof (v as CacheStatsProvider | undefined)?.stats === 'function',
      'must have a stats() method',
    )
    .optional(),
  /** Answer OpenMetrics when the scraper's Accept header asks for it. Default `true`. */
  openMetrics: z.boolean().default(true),
  /**
   * Cardinality guard of the cache families: namespaces past this many (by name) are summed
   * into one `namespace="other"` series. Default 100.
   */
  maxCacheNamespaces: z.number().int().min(1).max(10_000).default(100),
});

/** The `namespace` label of the cache series past `maxCacheNamespaces`. */
const OTHER_NAMESPACE = 'other';

/** Options of {@link PrometheusExporter}, as you pass them. */
export type PrometheusExporterOptions = z.input<typeof prometheusExporterOptionsSchema>;

/** A rendered scrape: the body and the content type to send it with. */
export interface PrometheusScrape {
  contentType: string;
  body: string;
}

interface HistogramAccumulator extends PrometheusHistogramSample {
  counts: number[];
}

/**
 * Exposes the monitor (and optionally the cache) to Prometheus: per-operation latency
 * histograms as real `_bucket`/`_sum`/`_count` series (in seconds, so PromQL's
 * `histogram_quantile` works across instances), error counters, and cache hit/miss counters.
 *
 * Metrics:
 * - `earshot_operation_duration_seconds{operation, <series labels>}` histogram
 * - `earshot_operation_errors_total{operation, <series labels>}` counter (outcome error/timeout)
 * - `earshot_cache_hits_total{namespace}`, `earshot_cache_misses_total{namespace}` counters, and
 *   `earshot_cache_<field>{namespace}` gauges for other numeric cache stats
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { performanceMonitor } from 'earshot';
 * import { PrometheusExporter } from 'earshot/exporters';
 *
 * const exporter = new PrometheusExporter(performanceMonitor, { constLabels: { service: 'voice' } });
 * createServer(exporter.handler).listen(9464); // GET /metrics (any path)
 * // Hono: app.get('/metrics', (c) => exporter.fetch(c.req.raw));
 * ```
 */
export class PrometheusExporter {
  private readonly prefix: string;
  private readonly bucketsMs: readonly number[];
  private readonly bucketsSeconds: readonly number[];
  private readonly constLabels: Readonly<Record<string, string>>;
  private readonly maxCacheNamespaces: number;
  private readonly cache: CacheStatsProvider | undefined;
  private readonly openMetrics: boolean;

  constructor(
    private readonly source: MetricsSource,
    options: PrometheusExporterOptions = {},
  ) {
    const o = parseOptions(prometheusExporterOptionsSchema, options, 'PrometheusExporter options');
    this.prefix = o.prefix;
    this.bucketsMs = o.bucketsMs;
    this.bucketsSeconds = o.bucketsMs.map((ms) => ms / 1000);
    this.constLabels = o.constLabels;
    this.maxCacheNamespaces = o.maxCacheNamespaces;
    this.cache = o.cache;
    this.openMetrics = o.openMetrics;
  }

  /** The current metrics as families (for composing with your own before formatting). */
  families(): PrometheusMetricFamily[] {
    const families: PrometheusMetricFamily[] = [];
    const { histograms, errors } = this.operationSamples();
    families.push({
      name: `${this.prefix}operation_duration_seconds`,
      help: 'Duration of earshot operations (stt, llm, tts, company_api, ...) in seconds.',
      unit: 'seconds',
      type: 'histogram',
      samples: histograms,
    });
    families.push({
      name: `${this.prefix}operation_errors`,
      help: 'Operations that ended with outcome error or timeout.',
      type: 'counter',
      samples: errors,
    });
    if (this.cache) families.push(...this.cacheFamilies(this.cache));
    return families;
  }

  /** The metrics rendered in `format` (`text` = Prometheus 0.0.4, `openmetrics` = OpenMetrics 1.0). */
  metrics(format: PrometheusFormat = 'text'): string {
    return formatPrometheus(this.families(), format);
  }

  /**
   * Renders for a scraper's `Accept` header: OpenMetrics when asked for (and enabled), the
   * 0.0.4 text format otherwise. Use this from frameworks with their own reply object:
   * `const { contentType, body } = exporter.scrape(req.headers.accept); reply.type(contentType).send(body);`
   */
  scrape(accept?: string | null): PrometheusScrape {
    const format = this.openMetrics ? negotiatePrometheusFormat(accept) : 'text';
    return { contentType: prometheusContentType(format), body: this.metrics(format) };
  }

  /**
   * A `node:http` request listener (also an Express/Connect handler): answers GET and HEAD
   * with the metrics, any other method with 405. Mount it on the path you scrape.
   */
  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Method Not Allowed\n');
      return;
    }
    let scrape: PrometheusScrape;
    try {
      scrape = this.scrape(req.headers.accept);
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(
        `earshot: could not render metrics: ${redact(err instanceof Error ? err.message : String(err))}\n`,
      );
      return;
    }
    res.writeHead(200, {
      'Content-Type': scrape.contentType,
      'Content-Length': Buffer.byteLength(scrape.body),
      'Cache-Control': 'no-store',
    });
    res.end(method === 'HEAD' ? undefined : scrape.body);
  };

  /**
   * A fetch-style handler (`Request → Response`) for Hono, Next.js route handlers, Bun, Deno
   * and anything else built on the Fetch API.
   */
  readonly fetch = (request: Request): Response => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('Method Not Allowed\n', { status: 405, headers: { Allow: 'GET, HEAD' } });
    }
    try {
      const { contentType, body } = this.scrape(request.headers.get('accept'));
      return new Response(request.method === 'HEAD' ? null : body, {
        status: 200,
        headers: { 'Content-Type': contentType, 'Cache-Control': 'no-store' },
      });
    } catch (err) {
      const message = redact(err instanceof Error ? err.message : String(err));
      return new Response(`earshot: could not render metrics: ${message}\n`, { status: 500 });
    }
  };

  private operationSamples(): { histograms: HistogramAccumulator[]; errors: PrometheusSample[] } {
    // Keyed by the final label set: two series that map to the same labels (after renaming
    // a reserved label) are merged, since a duplicate series would fail the whole scrape.
    const byKey = new Map<string, { hist: HistogramAccumulator; errors: PrometheusSample }>();
    for (const s of this.source.collect()) {
      const labels = this.seriesLabels(s.name, s.labels);
      const key = JSON.stringify(labels);
      const counts = s.histogram.countsAtOrBelowMs(this.bucketsMs);
      const sum = s.sumMs / 1000;
      const existing = byKey.get(key);
      if (existing) {
        const h = existing.hist;
        for (let i = 0; i < counts.length; i++) h.counts[i]! += counts[i]!;
        h.count += s.count;
        h.sum += sum;
        existing.errors.value += s.errors;
        continue;
      }
      const hist: HistogramAccumulator = { labels, counts, buckets: [], count: s.count, sum };
      byKey.set(key, { hist, errors: { labels, value: s.errors } });
    }
    const histograms: HistogramAccumulator[] = [];
    const errors: PrometheusSample[] = [];
    for (const { hist, errors: e } of byKey.values()) {
      hist.buckets = this.bucketsSeconds.map((le, i) => ({ le, count: hist.counts[i]! }));
      histograms.push(hist);
      errors.push(e);
    }
    return { histograms, errors };
  }

  private seriesLabels(name: string, labels: Readonly<Record<string, string>>): Record<string, string> {
    // Values as they will be on the wire (lone surrogates → U+FFFD), so the merge key above
    // sees the same series Prometheus will.
    const out: Record<string, string> = { operation: wellFormed(name) };
    for (const k in labels) {
      let key = k;
      if (!isValidLabelName(k) || RESERVED_LABELS.has(k) || Object.hasOwn(this.constLabels, k)) {
        key = `exported_${k.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^_+/, '')}`;
      }
      if (!Object.hasOwn(out, key)) out[key] = wellFormed(String(labels[k]));
    }
    return Object.assign(out, this.constLabels);
  }

  private cacheFamilies(cache: CacheStatsProvider): PrometheusMetricFamily[] {
    const hits: PrometheusSample[] = [];
    const misses: PrometheusSample[] = [];
    const extra = new Map<
      string,
      { type: 'counter' | 'gauge'; field: string; samples: PrometheusSample[] }
    >();
    // Cardinality guard: at most maxCacheNamespaces namespaces get their own series (sorted by
    // name, so the choice is stable between scrapes); the rest are summed into one
    // `namespace="other"` series. Namespaces equal on the wire are summed too.
    const byNs = new Map<
      string,
      { hits: number; misses: number; merged: number; fields: Map<string, number> }
    >();
    const all = [...namespaceStats(cache)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    let distinct = 0;
    for (const [rawNs, st] of all) {
      let ns = wellFormed(rawNs);
      if (!byNs.has(ns)) {
        if (distinct >= this.maxCacheNamespaces) ns = OTHER_NAMESPACE;
        else distinct++;
      }
      let acc = byNs.get(ns);
      if (!acc) {
        acc = { hits: 0, misses: 0, merged: 0, fields: new Map() };
        byNs.set(ns, acc);
      }
      acc.merged++;
      acc.hits += st.hits;
      acc.misses += st.misses;
      for (const [field, value] of extraNumericFields(st)) {
        acc.fields.set(field, (acc.fields.get(field) ?? 0) + value);
      }
    }
    for (const [namespace, s] of byNs) {
      const labels = { namespace, ...this.constLabels };
      hits.push({ labels, value: s.hits });
      misses.push({ labels, value: s.misses });
      for (const [field, value] of s.fields) {
        // A sum of gauges (hit rates) over merged namespaces means nothing: counters only.
        if (s.merged > 1 && !CACHE_COUNTER_FIELDS.has(field)) continue;
        const name = `${this.prefix}cache_${snakeCase(field)}`;
        let family = extra.get(name);
        if (!family) {
          const type = CACHE_COUNTER_FIELDS.has(field) ? 'counter' : 'gauge';
          family = { type, field, samples: [] };
          extra.set(name, family);
        }
        family.samples.push({ labels, value });
      }
    }
    const families: PrometheusMetricFamily[] = [
      {
        name: `${this.prefix}cache_hits`,
        help: 'Cache reads served fresh from the cache.',
        type: 'counter',
        samples: hits,
      },
      {
        name: `${this.prefix}cache_misses`,
        help: 'Cache reads that found nothing usable.',
        type: 'counter',
        samples: misses,
      },
    ];
    const taken = new Set([`${this.prefix}cache_hits`, `${this.prefix}cache_misses`]);
    for (const [name, f] of extra) {
      // A field that snake-cases onto an existing family (e.g. "hits_total") would duplicate it.
      const sampleName = f.type === 'counter' ? `${name}_total` : name;
      if (taken.has(name) || taken.has(sampleName) || [...taken].some((t) => `${t}_total` === name)) continue;
      taken.add(name);
      families.push({
        name,
        help: `Cache statistic "${f.field}" per namespace.`,
        type: f.type,
        samples: f.samples,
      });
    }
    return families;
  }
}
