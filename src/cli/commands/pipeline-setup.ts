/**
 * Setup the pipeline commands (`demo`, `check`, `load`) share: the fake latency profile, the
 * pipeline target built from the common flags, and the run facts every summary carries.
 * @module
 */
import { InvalidArgumentError } from '../../errors.js';
import type { SummarizeRunOptions } from '../../loadtest/summarize.js';
import type { PerformanceMonitor } from '../../perf/index.js';
import { type StageLatencyProfileName, stageLatencyProfiles } from '../../testing/profiles.js';
import { bool, type ParsedValues, str } from '../args.js';
import { type CliContext, providerModeOf, type ResolvedTargets } from '../common.js';
import { createPipelineTarget, type PipelineTarget, type PipelineTargetOptions } from '../pipeline-target.js';

/** True when the stages are earshot's fakes (not `--live`), so the latency profile applies. */
export function fakeProfile(values: ParsedValues): boolean {
  return !bool(values, 'live') && str(values, 'providers') !== 'live';
}

/** Resolves `--profile` to a fake latency profile name. */
export function profileOf(values: ParsedValues): StageLatencyProfileName {
  const p = str(values, 'profile') ?? 'sourceDesignAfter';
  if (!(p in stageLatencyProfiles)) {
    throw new InvalidArgumentError(
      `Unknown profile "${p}". Use one of: ${Object.keys(stageLatencyProfiles).join(', ')}.`,
    );
  }
  return p as StageLatencyProfileName;
}

/**
 * Builds the in-process pipeline from `--providers`/`--live`, `--profile` (unless `profile` is
 * given, already resolved), `--no-cache` and `REDIS_URL`.
 *
 * @example
 * ```ts
 * const target = await pipelineTargetFor(ctx, values, { monitor, seed: seedOf(values) });
 * ```
 */
export function pipelineTargetFor(
  ctx: CliContext,
  values: ParsedValues,
  o: {
    monitor: PerformanceMonitor;
    seed: number;
    profile?: StageLatencyProfileName;
    log?: (line: string) => void;
    /** Overrides `--no-cache` (the demo's "before" runs have no cache). */
    cache?: boolean;
    sequential?: boolean;
    pipelineOptions?: PipelineTargetOptions['pipelineOptions'];
    /** The mode when `--providers` is not given (default `auto`). */
    defaultMode?: PipelineTargetOptions['mode'];
  },
): Promise<PipelineTarget> {
  const mode = providerModeOf(values);
  return createPipelineTarget({
    mode: mode === 'auto' && str(values, 'providers') === undefined && o.defaultMode ? o.defaultMode : mode,
    monitor: o.monitor,
    // Resolved after the mode, so a bad --providers is reported before a bad --profile.
    profile: o.profile ?? profileOf(values),
    seed: o.seed,
    // REDIS_URL and the EARSHOT_* cache variables are read through loadConfigFromEnv.
    cache: o.cache ?? !bool(values, 'no-cache'),
    warmCache: bool(values, 'warm-cache'),
    env: ctx.streams.env,
    ...(o.sequential ? { sequential: true } : {}),
    ...(o.pipelineOptions ? { pipelineOptions: o.pipelineOptions } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
}

/** The summary fields every command fills the same way: version, targets, cache counters. */
export function runFactsOf(
  ctx: CliContext,
  targets: ResolvedTargets,
  target: PipelineTarget | undefined,
): Pick<SummarizeRunOptions, 'earshotVersion' | 'targets' | 'percentile' | 'maxErrorRate' | 'cache'> {
  return {
    earshotVersion: ctx.version,
    targets: { operations: targets.operations, stretch: targets.stretch },
    percentile: targets.percentile,
    maxErrorRate: targets.maxErrorRate,
    ...(target?.cache ? { cache: target.cache.stats() } : {}),
  };
}
