/**
 * `earshot check`: the source design's latency test and target check. Measures each component
 * on its own (cache write and read, company API, document search), then whole turns one after
 * another, and exits non-zero with a table of what missed its target.
 * @module
 */
import { runClosedModel } from '../../loadtest/closed-model.js';
import { summarizeRun } from '../../loadtest/summarize.js';
import type { Scenario } from '../../loadtest/types.js';
import { PerformanceMonitor } from '../../perf/index.js';
import { OP } from '../../perf/operations.js';
import { type CommandSpec, int, type ParsedValues } from '../args.js';
import {
  type CliContext,
  combineResults,
  finishRun,
  OUTPUT_FLAGS,
  PIPELINE_FLAGS,
  progressFor,
  progressText,
  resolveTargets,
  seedOf,
  TARGET_FLAGS,
} from '../common.js';
import { demoQuestion } from '../demo-data.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { PipelineTarget } from '../pipeline-target.js';
import { pipelineScenarios } from '../scenarios.js';
import { fakeProfile, pipelineTargetFor, profileOf, runFactsOf } from './pipeline-setup.js';

export const checkSpec: CommandSpec = {
  name: 'check',
  summary: 'measure each component and whole turns, and exit non-zero when a latency target is missed',
  usage: 'earshot check [--turns N] [--calls N] [--target OP=MS] [--percentile P] [--live]',
  flags: {
    turns: { type: 'string', value: 'N', description: 'turns run one after another (default 20)' },
    calls: {
      type: 'string',
      value: 'N',
      description: 'calls of each component: cache write/read, company API, search (default 30)',
    },
    ...PIPELINE_FLAGS,
    ...TARGET_FLAGS,
    ...OUTPUT_FLAGS,
  },
  examples: [
    'earshot check',
    'earshot check --target time_to_first_audio=400 --percentile 95',
    'earshot check --json > check.json',
  ],
};

/** One iteration measures every component once (recorded by the components themselves). */
function componentScenario(target: PipelineTarget, monitor: PerformanceMonitor): Scenario {
  return {
    name: 'components',
    async run(ctx) {
      const i = ctx.iteration;
      const signal = ctx.signal;
      if (target.cache) {
        const key = `earshot-check:${i % 10}`;
        await target.cache.set(key, { question: 'earshot check', i }, 'llm', { ttlSeconds: 60 });
        await target.cache.get(key, 'llm');
      }
      await target.companyApi.getLoadStatus(target.ids.loads[i % Math.min(5, target.ids.loads.length)]!, {
        signal,
      });
      const question = demoQuestion('documents', target.ids, ctx.random);
      await monitor.track(OP.search, () => target.search.search(question, { signal, topK: 3 }), {
        provider: target.search.provider,
        cached: false,
      });
      return undefined;
    },
  };
}

export async function checkCommand(ctx: CliContext, values: ParsedValues): Promise<ExitCode> {
  const turns = int(values, 'turns', { min: 1, max: 100_000 }) ?? 20;
  const calls = int(values, 'calls', { min: 0, max: 100_000 }) ?? 30;
  const targets = resolveTargets(values, ctx.streams.env, 'pipeline');
  const seed = seedOf(values);
  const progress = progressFor(ctx, values, 2000);
  const monitor = new PerformanceMonitor();
  const profile = profileOf(values);
  const target = await pipelineTargetFor(ctx, values, {
    monitor,
    seed,
    profile,
    log: (l) => progress.log(l),
  });
  try {
    if (ctx.signal.aborted) return EXIT.interrupted;
    progress.log(`earshot check: ${calls} calls of each component, then ${turns} turns one after another`);
    progress.log(`  providers: ${target.providers}`);
    progress.log(`  cache: ${target.cacheDescription}`);
    if (target.cacheWarning) progress.log(`  ${target.cacheWarning}`);
    // Each phase has its own counter; the clock runs on across phases.
    let offsetMs = 0;
    const onProgressOf =
      (phase: string, of: number) =>
      (p: Parameters<typeof progressText>[0]): void => {
        const at = { ...p, elapsedMs: p.elapsedMs + offsetMs };
        progress.update(`${phase} ${p.completed}/${of} · ${progressText(at)}`, at.elapsedMs);
      };
    const common = { users: 1, monitor, signal: ctx.signal, seed, sampleIntervalMs: 250 };
    const components =
      calls > 0
        ? await runClosedModel({
            ...common,
            // The load engine's own `scenario` records of this phase stay out of the run's
            // monitor: there `scenario` is a turn, as in every other run (component calls are
            // recorded as their own operations by the scenario itself).
            monitor: new PerformanceMonitor(),
            iterations: calls,
            scenarios: [componentScenario(target, monitor)],
            onProgress: onProgressOf('phase 1/2 component calls', calls),
          })
        : undefined;
    offsetMs = components?.durationMs ?? 0;
    const scenarios = pipelineScenarios(target);
    const turnsResult =
      ctx.signal.aborted && components
        ? undefined
        : await runClosedModel({
            ...common,
            iterations: turns,
            scenarios,
            onProgress: onProgressOf(`phase ${components ? '2/2' : '1/1'} turns`, turns),
          });
    const result = components
      ? turnsResult
        ? combineResults(components, turnsResult)
        : components
      : turnsResult!;
    const phases = [
      components
        ? `phase 1: ${components.completed} component calls (cache write + read, company API, search) in ${(components.durationMs / 1000).toFixed(1)} s, ${components.errors} errors`
        : undefined,
      turnsResult
        ? `phase ${components ? 2 : 1}: ${turnsResult.completed} turns one after another in ${(turnsResult.durationMs / 1000).toFixed(1)} s, ${turnsResult.errors} errors`
        : 'phase 2: turns not run (interrupted)',
    ].filter((x): x is string => x !== undefined);
    const run = summarizeRun({
      kind: 'check',
      title: `earshot check: ${calls} component calls, ${turns} turns`,
      result,
      ...runFactsOf(ctx, targets, target),
      config: {
        model: 'closed',
        users: 1,
        iterations: calls + turns,
        target: { kind: 'pipeline', description: target.description },
        scenarios: [
          ...(calls > 0 ? [{ name: 'components', weight: 1 }] : []),
          ...scenarios.map((s) => ({ name: s.name, weight: s.weight ?? 1 })),
        ],
        providers: target.providers,
        cache: target.cacheDescription,
      },
    });
    // The summary counts turns, not component calls (those are phase 1, listed below the table).
    const turnCount = turnsResult?.completed ?? 0;
    run.summary.turns = turnCount;
    run.summary.throughputPerSec =
      turnsResult && turnsResult.durationMs > 0
        ? Math.round((turnCount / (turnsResult.durationMs / 1000)) * 100) / 100
        : 0;
    return await finishRun(ctx, values, run, {}, progress, {
      after: phases,
      explain: { cache: target.cache !== undefined, ...(fakeProfile(values) ? { profile } : {}) },
    });
  } finally {
    await target.close();
  }
}
