/**
 * `earshot demo`: a realistic session of voice turns through the full pipeline, then the
 * per-stage table, the targets check, the cache hit rate and the HTML report.
 * @module
 */
import { runClosedModel } from '../../loadtest/closed-model.js';
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
import { EXIT, type ExitCode } from '../exit-codes.js';
import { pipelineScenarios } from '../scenarios.js';
import { pipelineTargetFor, profileOf, runFactsOf } from './pipeline-setup.js';

export const demoSpec: CommandSpec = {
  name: 'demo',
  summary: 'run a session of voice turns through the full pipeline and report the latency of every stage',
  usage: 'earshot demo [--turns N] [--users N] [--live] [--html FILE] [--json]',
  flags: {
    turns: { type: 'string', value: 'N', description: 'voice turns to run (default 40)' },
    users: { type: 'string', value: 'N', description: 'callers talking at the same time (default 4)' },
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
    'earshot demo',
    'earshot demo --turns 100 --html out/report.html',
    'REDIS_URL=redis://127.0.0.1:6379 earshot demo',
    'earshot demo --live',
  ],
};

export async function demoCommand(ctx: CliContext, values: ParsedValues): Promise<ExitCode> {
  const turns = int(values, 'turns', { min: 1, max: 100_000 }) ?? 40;
  const users = int(values, 'users', { min: 1, max: 1000 }) ?? 4;
  const profile = profileOf(values);
  const targets = resolveTargets(values, ctx.streams.env, 'pipeline');
  const seed = seedOf(values);
  const progress = progressFor(ctx, values, 2000);
  const monitor = new PerformanceMonitor();

  const target = await pipelineTargetFor(ctx, values, {
    monitor,
    seed,
    profile,
    log: (l) => progress.log(l),
  });
  try {
    if (ctx.signal.aborted) return EXIT.interrupted;
    progress.log(`earshot demo: ${turns} voice turns from ${users} callers`);
    progress.log(`  pipeline: ${target.description}`);
    progress.log(`  providers: ${target.providers}`);
    progress.log(`  cache: ${target.cacheDescription}`);
    const scenarios = pipelineScenarios(target);
    const result = await runClosedModel({
      users,
      spawnRate: users,
      iterations: turns,
      scenarios,
      monitor,
      signal: ctx.signal,
      seed,
      sampleIntervalMs: 250,
      onProgress: (p) => progress.update(progressText(p), p.elapsedMs),
    });
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
    const code = await finishRun(
      ctx,
      values,
      run,
      { out: 'earshot-run.json', html: 'earshot-report.html' },
      progress,
    );
    // A demo shows the verdict; only --check turns a missed target into a failing exit code.
    return code === EXIT.targetsMissed && !bool(values, 'check') ? EXIT.ok : code;
  } finally {
    await target.close();
  }
}
