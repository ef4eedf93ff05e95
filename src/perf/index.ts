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
export { type HistogramStorage, LatencyHistogram, type SparseCounts } from './histogram.js';
export type { Labels, LabelValue, NormalizedLabels } from './labels.js';
export {
  type CheckTargetsOptions,
  type EncodedSeries,
  type OperationStats,
  PerformanceMonitor,
  type PerformanceMonitorOptions,
  type RecordEvent,
  type SeriesSnapshot,
  type StatsQuery,
  type TargetResult,
  type TargetsInput,
  type TrackedDecorator,
} from './monitor.js';
export {
  type BuiltInOperation,
  OP,
  type OperationName,
  TOOL_OPERATION_PREFIX,
  toolOperation,
} from './operations.js';
export type { ReportOptions } from './report.js';
export { Span, type SpanEndOptions } from './span.js';
