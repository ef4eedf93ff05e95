import { InvalidArgumentError } from '../errors.js';

/**
 * The Prometheus text exposition format (0.0.4) and OpenMetrics 1.0, written from plain data.
 * {@link PrometheusExporter} builds its families from the monitor and the cache; use this
 * writer directly to expose families of your own in the same format.
 * @module
 */

/** `text` = Prometheus text format 0.0.4; `openmetrics` = OpenMetrics 1.0 text. */
export type PrometheusFormat = 'text' | 'openmetrics';

/** Content type of the Prometheus text format 0.0.4. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Content type of OpenMetrics 1.0 text. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** One counter or gauge value. Label names must be valid Prometheus label names. */
export interface PrometheusSample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** One histogram: cumulative counts per finite upper bound (ascending), plus count and sum. */
export interface PrometheusHistogramSample {
  labels: Readonly<Record<string, string>>;
  /** Ascending finite upper bounds with the cumulative count of observations ≤ `le`. */
  buckets: readonly { le: number; count: number }[];
  /** Total observations (the `+Inf` bucket). */
  count: number;
  /** Sum of the observations. */
  sum: number;
}

interface FamilyBase {
  /** Metric name without any `_total`/`_bucket` suffix, e.g. `earshot_operation_duration_seconds`. */
  name: string;
  help: string;
  /** OpenMetrics unit (`seconds`, `bytes`); written only when `name` ends with `_<unit>`. */
  unit?: string;
}

/** A metric family: one name, one type, any number of labelled samples. */
export type PrometheusMetricFamily =
  | (FamilyBase & { type: 'counter'; samples: readonly PrometheusSample[] })
  | (FamilyBase & { type: 'gauge'; samples: readonly PrometheusSample[] })
  | (FamilyBase & { type: 'histogram'; samples: readonly PrometheusHistogramSample[] });

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** True if `name` is a valid Prometheus metric name. */
export function isValidMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** True if `name` is a valid Prometheus label name (names starting with `__` are reserved). */
export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith('__');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const HAS_LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * `value` with every lone surrogate replaced by U+FFFD, which is what UTF-8 encoding does on
 * the wire anyway: `'a\uD800'` and `'a\uDC00'` are one series for Prometheus, so the exporter
 * must key them as one too (two would be a duplicate series and fail the scrape).
 */
export function wellFormed(value: string): string {
  return HAS_LONE_SURROGATE.test(value) ? value.replace(LONE_SURROGATE, '\uFFFD') : value;
}

/** Escapes a label value: backslash, double quote and newline (lone surrogates become U+FFFD). */
export function escapeLabelValue(value: string): string {
  value = wellFormed(value);
  // Fast path: most label values (provider names, outcomes) need no escaping.
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string, format: PrometheusFormat): string {
  const out = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  // OpenMetrics escapes double quotes in HELP too; the 0.0.4 format does not.
  return format === 'openmetrics' ? out.replace(/"/g, '\\"') : out;
}

/** Formats a sample value: `+Inf`, `-Inf`, `NaN`, or the shortest round-trip decimal. */
export function formatPrometheusNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

const checkedLabelNames = new Set<string>();

function renderLabels(labels: Readonly<Record<string, string>>, metric: string): string {
  let out = '';
  for (const k in labels) {
    if (!checkedLabelNames.has(k)) {
      if (!isValidLabelName(k)) {
        throw new InvalidArgumentError(
          `Label name "${k}" of metric "${metric}" is invalid: use [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__".`,
        );
      }
      // Bounded: label names come from code, not from data, so this set stays small.
      if (checkedLabelNames.size < 10_000) checkedLabelNames.add(k);
    }
    out += `${out === '' ? '' : ','}${k}="${escapeLabelValue(String(labels[k]))}"`;
  }
  return out;
}

/**
 * Renders metric families in the Prometheus text format or OpenMetrics. Throws
 * `InvalidArgumentError` on an invalid metric or label name, or on a reserved `le` label in a
 * histogram, so a bad family fails loudly in tests instead of breaking the scrape.
 *
 * @example
 * ```ts
 * const body = formatPrometheus([
 *   { name: 'jobs_done', help: 'Jobs finished.', type: 'counter', samples: [{ labels: { queue: 'a' }, value: 3 }] },
 * ]);
 * // # HELP jobs_done_total Jobs finished.
 * // # TYPE jobs_done_total counter
 * // jobs_done_total{queue="a"} 3
 * ```
 */
export function formatPrometheus(
  families: readonly PrometheusMetricFamily[],
  format: PrometheusFormat = 'text',
): string {
  const seen = new Set<string>();
  let out = '';
  for (const family of families) {
    const { name } = family;
    if (!isValidMetricName(name)) {
      throw new InvalidArgumentError(
        `Metric name "${name}" is invalid: use [a-zA-Z_:][a-zA-Z0-9_:]* (letters, digits, _ and :).`,
      );
    }
    if (seen.has(name))
      throw new InvalidArgumentError(`Metric family "${name}" appears twice; merge its samples.`);
    seen.add(name);
    const sampleName = family.type === 'counter' ? `${name}_total` : name;
    // The 0.0.4 format names the family after its sample (x_total); OpenMetrics after the base.
    const familyName = format === 'openmetrics' ? name : sampleName;
    out += `# HELP ${familyName} ${escapeHelp(family.help, format)}\n# TYPE ${familyName} ${family.type}\n`;
    if (format === 'openmetrics' && family.unit && name.endsWith(`_${family.unit}`)) {
      out += `# UNIT ${familyName} ${family.unit}\n`;
    }
    if (family.type === 'histogram') {
      for (const s of family.samples) out += renderHistogram(name, s);
    } else {
      for (const s of family.samples) {
        const labels = renderLabels(s.labels, name);
        out += `${sampleName}${labels === '' ? '' : `{${labels}}`} ${formatPrometheusNumber(s.value)}\n`;
      }
    }
  }
  if (format === 'openmetrics') out += '# EOF\n';
  return out;
}

function renderHistogram(name: string, s: PrometheusHistogramSample): string {
  if (Object.hasOwn(s.labels, 'le')) {
    throw new InvalidArgumentError(
      `Histogram "${name}" has a label named "le", which Prometheus reserves for buckets.`,
    );
  }
  const labels = renderLabels(s.labels, name);
  const prefix = labels === '' ? '' : `${labels},`;
  const plain = labels === '' ? '' : `{${labels}}`;
  let out = '';
  let last = Number.NEGATIVE_INFINITY;
  for (const b of s.buckets) {
    if (!(b.le > last) || !Number.isFinite(b.le)) {
      throw new InvalidArgumentError(`Histogram "${name}" buckets must be finite and strictly ascending.`);
    }
    last = b.le;
    out += `${name}_bucket{${prefix}le="${formatPrometheusNumber(b.le)}"} ${b.count}\n`;
  }
  out += `${name}_bucket{${prefix}le="+Inf"} ${s.count}\n`;
  out += `${name}_sum${plain} ${formatPrometheusNumber(s.sum)}\n`;
  out += `${name}_count${plain} ${s.count}\n`;
  return out;
}

/**
 * Picks the format from an HTTP `Accept` header: OpenMetrics when the scraper asks for
 * `application/openmetrics-text` (Prometheus does by default), otherwise the 0.0.4 text format.
 */
export function negotiatePrometheusFormat(accept: string | null | undefined): PrometheusFormat {
  return accept?.includes('application/openmetrics-text') ? 'openmetrics' : 'text';
}

/** The content type for `format`. */
export function prometheusContentType(format: PrometheusFormat): string {
  return format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_TEXT_CONTENT_TYPE;
}
