/**
 * The built-in operation names: the one place their string literals live. The pipeline, the
 * provider adapters, the cache, the load test, the CLI, the report and the default targets
 * all use these constants, so a typo is a compile error instead of a new, silent series.
 *
 * Free-form names stay allowed for a user's own operations (`monitor.track('geocode', …)`);
 * {@link OperationName} is `BuiltInOperation | (string & {})`, so editors still complete the
 * built-in ones.
 *
 * This module is a leaf (it imports nothing), so `config/` may use it too.
 * @module
 */

/**
 * Built-in operation names, recorded by earshot itself.
 *
 * @example
 * ```ts
 * import { OP, PerformanceMonitor } from 'earshot';
 * const monitor = new PerformanceMonitor();
 * monitor.record(OP.stt, 84, { provider: 'deepgram' });
 * monitor.stats(OP.timeToFirstAudio);
 * ```
 */
export const OP = {
  /** Speech-to-text: end of speech (or the call) → final transcript. */
  stt: 'stt',
  /** One language-model call, request → last event. */
  llm: 'llm',
  /** Language model: request → first output (text or tool call). */
  llmTtft: 'llm_ttft',
  /** Language model: time per output token after the first. */
  llmTpot: 'llm_tpot',
  /** One text-to-speech synthesis, request → last audio byte. */
  tts: 'tts',
  /** Text-to-speech: request (or first text) → first audio byte. */
  ttsTtfb: 'tts_ttfb',
  /** One company-API call. */
  companyApi: 'company_api',
  /** One document search (embedding + vector query when built from both). */
  search: 'search',
  /** One embedding call. */
  embed: 'embed',
  /** One cache read. */
  cacheRead: 'cache_read',
  /** One cache write. */
  cacheWrite: 'cache_write',
  /** One loader run behind `getOrSet` / `@cached`. */
  cacheLoad: 'cache_load',
  /** Whole turn: end of speech (or turn start) → last audio byte. */
  e2e: 'e2e',
  /** One turn, start → done (includes listening). */
  turn: 'turn',
  /** End of speech (or turn start) → first audio played, any speech (acknowledgements included). */
  timeToFirstAudio: 'time_to_first_audio',
  /** End of speech (or turn start) → first audio of the final answer (never an acknowledgement). */
  timeToAnswerAudio: 'time_to_answer_audio',
  /** Last speech → end of turn confirmed (the endpointing delay), when the STT reports it. */
  endOfTurn: 'end_of_turn',
  /** Preemptive generation outcomes (hit / miss), with wasted tokens as a label-free count. */
  preemptive: 'preemptive',
  /** Prefetch of tool data from the transcript. */
  prefetch: 'prefetch',
} as const;

/** A built-in operation name. */
export type BuiltInOperation = (typeof OP)[keyof typeof OP];

/** An operation name: a built-in one or any name of your own. */
export type OperationName = BuiltInOperation | (string & {});

/** Prefix of the per-tool operations the pipeline records (`tool:list_loads`). */
export const TOOL_OPERATION_PREFIX = 'tool:';

/** The operation name of one tool's calls. */
export function toolOperation(toolName: string): string {
  return `${TOOL_OPERATION_PREFIX}${toolName}`;
}
