/**
 * `earshot/exporters`: the monitor (and cache) for Prometheus, OpenTelemetry and CloudWatch.
 * @module
 */
export {
  EMF_MAX_VALUES,
  EmfExporter,
  type EmfHistogram,
  type EmfOptions,
  type EmfSource,
  emfOptionsSchema,
  histogramToEmf,
  toEmf,
} from './emf.js';
export {
  type CreateOpenTelemetryBridgeOptions,
  createOpenTelemetryBridge,
  DEFAULT_OTEL_RULES,
  OpenTelemetryBridge,
  type OpenTelemetryBridgeOptions,
  type OtelAttributes,
  type OtelHistogramLike,
  type OtelInstrumentOptions,
  type OtelInstrumentRule,
  type OtelMeterLike,
  type OtelObservableLike,
  type OtelObservableResultLike,
  type RecordSource,
  type TokenUsage,
} from './otel.js';
export {
  DEFAULT_LATENCY_BUCKETS_MS,
  PrometheusExporter,
  type PrometheusExporterOptions,
  type PrometheusScrape,
  prometheusExporterOptionsSchema,
} from './prometheus.js';
export {
  escapeLabelValue,
  formatPrometheus,
  formatPrometheusNumber,
  isValidLabelName,
  isValidMetricName,
  negotiatePrometheusFormat,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_TEXT_CONTENT_TYPE,
  type PrometheusFormat,
  type PrometheusHistogramSample,
  type PrometheusMetricFamily,
  type PrometheusSample,
  prometheusContentType,
} from './prometheus-text.js';
export type { CacheNamespaceStats, CacheStatsProvider, CacheStatsSnapshot, MetricsSource } from './source.js';
