/**
 * The load-test engine's contracts: a scenario is an async function that runs one turn (or one
 * request) and may return what it learned about it; the engine times it, counts errors and
 * keeps a few waterfalls.
 * @module
 */
import type { PerformanceMonitor } from '../perf/index.js';

/**
 * A turn's waterfall as the report draws it: a structural subset of the pipeline's
 * `TurnTimeline`, so a pipeline turn's `timeline` can be returned as is.
 */
export interface TurnWaterfall {
  turnId?: string | undefined;
  /** End of speech → first audio byte, ms. */
  timeToFirstAudioMs?: number | undefined;
  /** End of speech → last audio byte, ms. */
  e2eMs?: number | undefined;
  cached?: boolean | undefined;
  interrupted?: boolean | undefined;
  spans: readonly {
    id: number;
    name: string;
    startMs: number;
    endMs: number;
    firstOutputMs?: number | undefined;
    provider?: string | undefined;
    cached?: boolean | undefined;
    outcome?: string | undefined;
    round?: number | undefined;
    sentenceIndex?: number | undefined;
  }[];
  marks?:
    | {
        transcriptMs?: number | undefined;
        firstTokenMs?: number | undefined;
        firstSentenceMs?: number | undefined;
        firstAudioMs?: number | undefined;
        lastAudioMs?: number | undefined;
        doneMs?: number | undefined;
      }
    | undefined;
  /** Steps that tile end-of-speech → first audio (what the first audio waited on). */
  criticalPath?:
    | readonly {
        name: string;
        startMs: number;
        endMs: number;
        durationMs?: number | undefined;
        spanId?: number | undefined;
        detail?: string | undefined;
      }[]
    | undefined;
}

/** What a scenario is given for one iteration. */
export interface ScenarioContext {
  /** Aborted when the run stops (run time over, Ctrl-C): stop promptly. */
  signal: AbortSignal;
  /** Virtual user number (closed model), or arrival number (open model), from 0. */
  user: number;
  /** Iteration number of this user (closed model) or 0 (open model). */
  iteration: number;
  /** Per-user state that survives across this user's iterations (conversation history...). */
  state: Map<string, unknown>;
  /** Seeded random numbers in [0, 1). */
  random: () => number;
  /** The run's monitor: record extra operations here (the pipeline records its stages). */
  monitor: PerformanceMonitor;
}

/** What a scenario may return about the iteration it ran. */
export interface ScenarioResult {
  /** The turn's waterfall, if the target produces one (the in-process pipeline does). */
  waterfall?: TurnWaterfall;
  /** The turn ended because it was interrupted (barge-in): kept out of the latency figures. */
  interrupted?: boolean;
}

/** A weighted task, like a Locust `@task(weight)`. */
export interface Scenario {
  name: string;
  /** Relative weight; a scenario of weight 3 runs three times as often as one of weight 1. Default 1. */
  weight?: number;
  // biome-ignore lint/suspicious/noConfusingVoidType: lets a scenario be a plain `async () => { await ... }`
  run(ctx: ScenarioContext): Promise<ScenarioResult | undefined | void>;
}

/** Live figures, emitted every `sampleIntervalMs` while a run goes on. */
export interface LoadProgress {
  elapsedMs: number;
  /** `ramping`, `steady`, `stopping`. */
  phase: 'ramping' | 'steady' | 'stopping';
  /** Closed model: users running / wanted. */
  users?: number;
  targetUsers?: number;
  /** Open model: arrival rate wanted (per second). */
  targetRate?: number;
  /** Iterations started in the last second. */
  startedPerSec: number;
  inFlight: number;
  completed: number;
  errors: number;
  /** Turn latency so far (from the actual send), ms; undefined before the first turn. */
  p50?: number;
  p90?: number;
  p99?: number;
  /** Open model only. */
  late?: number;
  dropped?: number;
}
