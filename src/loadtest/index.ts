/**
 * Load testing for voice pipelines and the apps around them: a closed model (Locust's users
 * and spawn rate, weighted scenarios, presets), an open model (arrivals at a fixed rate,
 * latency corrected for coordinated omission, late and dropped arrivals counted), an HTTP
 * target, and the saved-run format the HTML report renders.
 * @module
 */
export { runClosedModel } from './closed-model.js';
export {
  HTTP_OPERATIONS,
  type HttpTargetOptionsInput,
  httpScenario,
  httpTargetOptionsSchema,
  probeUrl,
  safeUrl,
} from './http-target.js';
export { runOpenModel } from './open-model.js';
export {
  type ClosedModelOptions,
  type ClosedModelOptionsInput,
  closedModelOptionsSchema,
  formatDuration,
  LOAD_PRESETS,
  type LoadPresetName,
  loadPreset,
  type OpenModelOptions,
  type OpenModelOptionsInput,
  openModelOptionsSchema,
  parseDuration,
  parseRate,
} from './options.js';
export { seededRandom, weightedPicker } from './random.js';
export {
  type ErrorKindCount,
  errorKind,
  SCENARIO_FROM_INTENDED_OPERATION,
  SCENARIO_OPERATION,
} from './recorder.js';
export type { ArrivalStats, LoadRunInput, LoadRunResult } from './run-control.js';
export {
  parseSavedRun,
  RUN_FILE_VERSION,
  readRunFile,
  type SavedRun,
  type SavedRunInput,
  type SavedWaterfall,
  type StageStats,
  savedRunSchema,
  type TimeseriesPoint,
  writeRunFile,
} from './run-file.js';
export {
  type CacheCountersInput,
  distribution,
  type SummarizeRunOptions,
  sortStages,
  summarizeRun,
} from './summarize.js';
export type { LoadProgress, Scenario, ScenarioContext, ScenarioResult, TurnWaterfall } from './types.js';
