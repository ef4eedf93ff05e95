/**
 * `earshot demo`: a realistic session of voice turns through the full pipeline, then the
 * per-stage table, the targets check, the cache hit rate and the HTML report.
 * @module
 */
import { runClosedModel } from '../../loadtest/closed-model.js';
import type { LoadRunResult } from '../../loadtest/run-control.js';
import { summarizeRun } from '../../loadtest/summarize.js';
import { PerformanceMonitor } from '../../perf/index.js';
import { bool, type CommandSpec, int, type ParsedValues } from '../args.js';
import {
  type CliContext,
  finishRun,
  OUTPUT_FLAGS,
  PIPELINE_FLAGS,
  progressFor,
  progressText,
  resolveTargets,
  seedOf,
  TARGET_FLAGS,
} from '../common.js';
import { type ComparisonColumn, formatComparison } from '../comparison.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { ProgressLine } from '../output.js';
import type { PipelineTarget } from '../pipeline-target.js';
import { pipelineScenarios } from '../scenarios.js';
import { fakeProfile, pipelineTargetFor, profileOf, runFactsOf } from './pipeline-setup.js';

export const demoSpec: CommandSpec = {
  name: 'demo',
  summary: 'run a session of voice turns through the full pipeline and report the latency of every stage',
  usage: 'earshot demo [--turns N] [--users N] [--warmup N] [--no-compare] [--live] [--html FILE] [--json]',
  flags: {
    turns: {
      type: 'string',
      value: 'N',
      description: 'voice turns measured in each of the three runs (default 40)',
    },
    users: { type: 'string', value: 'N', description: 'callers talking at the same time (default 8)' },
    warmup: {
      type: 'string',
      value: 'N',
      description:
        'turns run through the full pipeline before it is measured, so its cache is in steady state (default: half of --turns; 0 measures a cold cache)',
    },
    'no-compare': {
      type: 'boolean',
      description:
        "skip the source design's before/after runs (a) and (b): only the full pipeline (always skipped with --live)",
    },
    ...PIPELINE_FLAGS,
    ...TARGET_FLAGS,
    check: {
      type: 'boolean',
      description: 'exit 1 when a target is missed (by default the demo exits 0 and shows the verdict)',
    },
    ...OUTPUT_FLAGS,
    html: {
      type: 'string',
      value: 'FILE',
      description: 'write the HTML report to FILE (default ./earshot-report.html)',
    },
    out: {
      type: 'string',
      value: 'FILE',
      description: 'save the run as JSON to FILE (default ./earshot-run.json)',
    },
  },
  examples: [
    'earshot demo                      # in-process fake stages (the default for demo)',
    'earshot demo --providers servers  # the real SDKs against fake servers',
    'earshot demo --turns 100 --html out/report.html',
    'REDIS_URL=redis://127.0.0.1:6379 earshot demo',
    'earshot demo --live',
  ],
};

/**
 * Run (c): earshot's latency techniques, stated explicitly (they are also the defaults):
 * preemptive generation, prewarmed connections, prefetched tool data, streamed TTS input
 * when the TTS stage supports it (see docs/latency.md).
 */
const FULL_PIPELINE = { preemptive: true, prewarm: true, prefetch: 'tool', ttsInput: 'auto' } as const;

/**
 * The demo compares pipeline designs on the source design's latency profiles, so by default it
 * runs earshot's in-process fake stages: through the SDKs and fake servers (`--providers
 * servers`) three runs cost seconds of CPU each, which on a shared machine inflates every
 * column (a load average of 40 tripled the "before" P90s).
 */
const DEMO_DEFAULT_MODE = 'fake' as const;

/** One measured pass of the question mix. */
async function measure(
  ctx: CliContext,
  target: PipelineTarget,
  o: {
    turns: number;
    users: number;
    seed: number;
    monitor: PerformanceMonitor;
    progress: ProgressLine;
    phase: string;
  },
): Promise<LoadRunResult> {
  return runClosedModel({
    users: o.users,
    spawnRate: o.users,
    iterations: o.turns,
    scenarios: pipelineScenarios(target),
    monitor: o.monitor,
    signal: ctx.signal,
    seed: o.seed,
    sampleIntervalMs: 250,
    onProgress: (p) =>
      o.progress.update(`${o.phase} ${p.completed}/${o.turns} · ${progressText(p)}`, p.elapsedMs),
  });
}

/**
 * Runs (a) the source design's "before" and (b) the same on the "after" profile: stages one
 * after another, no cache. Returns the table columns (or none when interrupted).
 */
async function designRuns(
  ctx: CliContext,
  values: ParsedValues,
  o: { turns: number; users: number; seed: number; progress: ProgressLine },
): Promise<ComparisonColumn[]> {
  const runs = [
    { label: '(a) before', profile: 'sourceDesignBefore' as const },
    { label: '(b) after, sequential', profile: 'sourceDesignAfter' as const },
  ];
  // (a) and (b) run side by side: their latencies are the profiles' (timers), not CPU work.
  return Promise.all(
    runs.map(async (r, i): Promise<ComparisonColumn> => {
      const monitor = new PerformanceMonitor();
      const target = await pipelineTargetFor(ctx, values, {
        monitor,
        seed: o.seed,
        profile: r.profile,
        cache: false,
        sequential: true,
        // the design's "before" had none of earshot's latency techniques
        pipelineOptions: { preemptive: false, prewarm: false, prefetch: 'off', ttsInput: 'sentence' },
        defaultMode: DEMO_DEFAULT_MODE,
      });
      try {
        await measure(ctx, target, { ...o, monitor, phase: `run ${i + 1}/3 ${r.label}` });
      } finally {
        await target.close();
      }
      return { label: r.label, monitor };
    }),
  );
}

export async function demoCommand(ctx: CliContext, values: ParsedValues): Promise<ExitCode> {
  const turns = int(values, 'turns', { min: 1, max: 100_000 }) ?? 40;
  const users = int(values, 'users', { min: 1, max: 1000 }) ?? 8;
  const warmup = int(values, 'warmup', { min: 0, max: 100_000 }) ?? Math.ceil(turns / 2);
  const profile = profileOf(values);
  const targets = resolveTargets(values, ctx.streams.env, 'pipeline');
  const seed = seedOf(values);
  const progress = progressFor(ctx, values, 2000);
  const fakes = fakeProfile(values);
  const compare = fakes && !bool(values, 'no-compare');
  const startedAt = Date.now();

  if (compare) {
    progress.log(
      `earshot demo: the same question mix three times, ${turns} voice turns from ${users} callers each:`,
    );
    progress.log(
      '  (a) the source design\'s "before": stages one after another, no cache, "before" latency profile',
    );
    progress.log('  (b) the same on the "after" latency profile');
    progress.log(
      `  (c) earshot's full pipeline on the "${profile}" profile: streaming, cache${warmup > 0 ? ` (warmed by ${warmup} turns first)` : ''}`,
    );
  }
  const columns =
    compare && !ctx.signal.aborted ? await designRuns(ctx, values, { turns, users, seed, progress }) : [];

  const monitor = new PerformanceMonitor();
  const target = await pipelineTargetFor(ctx, values, {
    monitor,
    seed,
    profile,
    log: (l) => progress.log(l),
    pipelineOptions: FULL_PIPELINE,
    defaultMode: DEMO_DEFAULT_MODE,
  });
  try {
    if (ctx.signal.aborted) return EXIT.interrupted;
    if (!compare) progress.log(`earshot demo: ${turns} voice turns from ${users} callers`);
    progress.log(`  pipeline: ${target.description}`);
    progress.log(`  providers: ${target.providers}`);
    progress.log(`  cache: ${target.cacheDescription}`);
    if (target.cacheWarning) progress.log(`  ${target.cacheWarning}`);
    const phase = compare ? 'run 3/3 (c) earshot' : 'turns';
    let warm: string | undefined;
    if (warmup > 0 && target.cache) {
      // The cache's steady state: the same mix once before measuring, then fresh counters.
      await measure(ctx, target, {
        turns: warmup,
        users,
        seed: seed + 1,
        monitor,
        progress,
        phase: `${phase} warm-up`,
      });
      const warmRate = target.cache.stats().total.hitRate;
      monitor.reset();
      target.cache.resetStats();
      warm = `cache steady state: warmed by ${warmup} turns before measuring (hit rate ${(100 * warmRate).toFixed(0)} % while warming`;
    }
    if (ctx.signal.aborted) return EXIT.interrupted;
    const scenarios = pipelineScenarios(target);
    const result = await measure(ctx, target, { turns, users, seed, monitor, progress, phase });
    const hitRate = target.cache?.stats().total.hitRate;
    if (warm) warm += `, ${(100 * (hitRate ?? 0)).toFixed(0)} % in the measured turns)`;
    columns.push({ label: compare ? '(c) earshot' : 'earshot', monitor, hitRate });
    const run = summarizeRun({
      kind: 'demo',
      title: `earshot demo: ${turns} voice turns`,
      result,
      ...runFactsOf(ctx, targets, target),
      config: {
        model: 'closed',
        users,
        spawnRate: users,
        iterations: turns,
        target: { kind: 'pipeline', description: target.description },
        scenarios: scenarios.map((s) => ({ name: s.name, weight: s.weight ?? 1 })),
        providers: target.providers,
        cache: target.cacheDescription,
      },
    });
    const before = compare
      ? [
          'The source design\'s "Expected Performance Results", measured (P90 in ms, same question mix in every column;',
          'TTS = first audio byte of a sentence, End-to-End = time to first audio, LLM = one whole model call):',
          '',
          formatComparison(columns),
          '',
          ...(warm ? [warm] : []),
          `The per-stage table below is run (c). Whole demo: ${((Date.now() - startedAt) / 1000).toFixed(1)} s.`,
        ].join('\n')
      : warm;
    const code = await finishRun(
      ctx,
      values,
      run,
      { out: 'earshot-run.json', html: 'earshot-report.html' },
      progress,
      {
        ...(before ? { before } : {}),
        explain: { cache: target.cache !== undefined, ...(fakes ? { profile } : {}) },
      },
    );
    // A demo shows the verdict; only --check turns a missed target into a failing exit code.
    return code === EXIT.targetsMissed && !bool(values, 'check') ? EXIT.ok : code;
  } finally {
    await target.close();
  }
}
