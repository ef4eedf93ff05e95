export {
  type AlarmDatapoint,
  AlarmEvaluator,
  type AlarmEvent,
  type AlarmSource,
  type AlarmState,
  type AlarmTransition,
  createLatencyAlarm,
  LatencyAlarm,
  type LatencyAlarmOptions,
  latencyAlarmOptionsSchema,
  type TreatMissingData,
} from './alarms.js';
export { tracked } from './decorators.js';
export { performanceMonitor } from './default.js';
export type { EncodedSeries } from './encoded-series.js';
export {
  type HistogramStorage,
  LatencyHistogram,
  MAX_DURATION_MS,
  MAX_ENCODED_HISTOGRAM_LENGTH,
  type SparseCounts,
} from './histogram.js';
export type { Labels, LabelValue, NormalizedLabels } from './labels.js';
export { type ListenerErrorHandler, ListenerGuard } from './listeners.js';
export { PerformanceMonitor, type PerformanceMonitorOptions, type RecordEvent } from './monitor.js';
export {
  type BuiltInOperation,
  OP,
  type OperationName,
  TOOL_OPERATION_PREFIX,
  toolOperation,
} from './operations.js';
export type { ReportOptions } from './report.js';
export { Span, type SpanEndOptions } from './span.js';
export { type CheckTargetsOptions, DEFAULT_MAX_ERROR_RATE } from './targets.js';
export type { TrackedDecorator } from './tracked-decorator.js';
export type { OperationStats, SeriesSnapshot, StatsQuery, TargetResult, TargetsInput } from './types.js';
