/**
 * The voice pipeline: stage contracts, `createVoicePipeline`, the sentence chunker, tools and
 * the turn timeline.
 * @module
 */

export {
  type CachedAudio,
  type CachedLlmAnswer,
  type CachedLlmEvent,
  PIPELINE_CACHE_NAMESPACES,
  type PipelineCache,
} from './cache.js';
export type * from './contracts.js';
export type {
  CriticalPathStep,
  FallbackRecord,
  FallbackStage,
  SpanOutcome,
  TimelineSpan,
  TurnEvent,
  TurnEventType,
  TurnMeasurement,
  TurnResult,
  TurnTargetCheck,
  TurnTimeline,
} from './events.js';
export { type VoicePipelineOptions, voicePipelineOptionsSchema } from './options.js';
export { createVoicePipeline, type RespondOptions, type TurnInput, type VoicePipeline } from './pipeline.js';
export { createDocumentSearchTool, createEmbeddingSearch, type DocumentSearchToolOptions } from './search.js';
export {
  SentenceChunker,
  type SentenceChunkerOptions,
  sentenceChunkerOptionsSchema,
} from './sentence-chunker.js';
export { withTextTransform } from './stage-wrappers.js';
export { criticalPath, formatWaterfall, type PipelineMonitor } from './timeline.js';
export { defineTool, type ToolSpec } from './tools.js';
export type { Turn } from './turn.js';
