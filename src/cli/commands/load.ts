/**
 * `earshot load`: a load test of the in-process pipeline or of an HTTP endpoint, closed model
 * (users, spawn rate, presets) or open model (`--rate`), with live progress and a CI exit code.
 * @module
 */
import { InvalidArgumentError } from '../../errors.js';
import { runClosedModel } from '../../loadtest/closed-model.js';
import { httpScenario, probeUrl, safeUrl } from '../../loadtest/http-target.js';
import { runOpenModel } from '../../loadtest/open-model.js';
import { LOAD_PRESETS, loadPreset } from '../../loadtest/options.js';
import type { LoadRunResult } from '../../loadtest/run-control.js';
import type { SavedRun } from '../../loadtest/run-file.js';
import { summarizeRun } from '../../loadtest/summarize.js';
import type { Scenario } from '../../loadtest/types.js';
import { PerformanceMonitor } from '../../perf/index.js';
import {
  type CommandSpec,
  duration,
  headers,
  int,
  num,
  type ParsedValues,
  pairs,
  rate,
  str,
  thinkTime,
} from '../args.js';
import {
  type CliContext,
  finishRun,
  forbid,
  OUTPUT_FLAGS,
  PIPELINE_FLAGS,
  progressFor,
  progressText,
  resolveTargets,
  seedOf,
  TARGET_FLAGS,
} from '../common.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { MissContext } from '../explain.js';
import type { PipelineTarget } from '../pipeline-target.js';
import { pipelineScenarios } from '../scenarios.js';
import { fakeProfile, pipelineTargetFor, profileOf, runFactsOf } from './pipeline-setup.js';

const presets = Object.entries(LOAD_PRESETS)
  .map(([k, v]) => `${k} ${v.users}/${v.spawnRate}`)
  .join(', ');

export const loadSpec: CommandSpec = {
  name: 'load',
  summary: 'load-test the pipeline (or an HTTP endpoint): closed model with users, or open model with --rate',
  usage: 'earshot load [--preset NAME | --users N --spawn-rate R | --rate N/s] [--run-time 30s] [--url URL]',
  flags: {
    preset: {
      type: 'string',
      value: 'NAME',
      description: `users and spawn rate of the source design: ${presets} (default light)`,
    },
    users: { type: 'string', value: 'N', description: 'closed model: users to reach' },
    'spawn-rate': { type: 'string', value: 'R', description: 'closed model: users started per second' },
    'think-time': {
      type: 'string',
      value: 'T',
      description: "closed model: pause between a user's turns: 0 (default), 1s, or a range 1s-3s",
    },
    rate: {
      type: 'string',
      value: 'N/s',
      description: 'open model: arrivals per second (20, 20/s, 1200/m), sent whatever the responses do',
    },
    arrival: {
      type: 'string',
      value: 'KIND',
      description: 'open model: constant (default) or poisson spacing',
    },
    'max-in-flight': {
      type: 'string',
      value: 'N',
      description: 'open model: arrivals beyond N running turns are dropped (default 1000)',
    },
    'late-threshold': {
      type: 'string',
      value: 'T',
      description: 'open model: an arrival sent later than this counts as late (default 10ms)',
    },
    'run-time': { type: 'string', value: 'T', description: 'stop after this long: 30s (default), 5m, 1h30m' },
    iterations: { type: 'string', value: 'N', description: 'stop after N turns (or arrivals) instead' },
    'stop-timeout': {
      type: 'string',
      value: 'T',
      description: 'time turns in flight get to finish at the end (default 5s)',
    },
    'sample-interval': {
      type: 'string',
      value: 'T',
      description: 'progress and over-time resolution (default 1s)',
    },
    scenario: {
      type: 'string',
      multiple: true,
      value: 'NAME=W',
      description:
        'weighted scenarios: loads, inventory, equipment, documents, smalltalk (default loads=4 inventory=2 equipment=2 documents=2 smalltalk=1)',
    },
    url: {
      type: 'string',
      value: 'URL',
      description: 'load-test this HTTP endpoint of your app instead of the in-process pipeline',
    },
    method: {
      type: 'string',
      value: 'M',
      description: 'with --url: HTTP method (default GET, or POST with --body)',
    },
    body: { type: 'string', value: 'TEXT', description: 'with --url: request body' },
    header: { type: 'string', multiple: true, value: '"K: V"', description: 'with --url: request header' },
    timeout: { type: 'string', value: 'T', description: 'with --url: per-request deadline (default 10s)' },
    ...PIPELINE_FLAGS,
    ...TARGET_FLAGS,
    ...OUTPUT_FLAGS,
    out: {
      type: 'string',
      value: 'FILE',
      description: 'save the run as JSON to FILE (default ./earshot-run.json)',
    },
  },
  examples: [
    'earshot load --preset medium --run-time 5m --html report.html',
    'earshot load --users 50 --spawn-rate 5 --run-time 2m --scenario loads=3 --scenario documents=1',
    'earshot load --rate 20/s --run-time 1m --json > run.json',
    'earshot load --url http://localhost:8000/api/turn --method POST --body \'{"text":"Where is load 2314?"}\' --preset light',
  ],
};

interface LoadPlan {
  model: 'closed' | 'open';
  preset?: string;
  users?: number;
  spawnRate?: number;
  ratePerSec?: number;
  runTimeMs?: number;
  iterations?: number;
}

function planOf(values: ParsedValues): LoadPlan {
  const runTimeMs = duration(values, 'run-time');
  const iterations = int(values, 'iterations', { min: 1, max: 100_000_000 });
  // Default run time 30 s, unless only --iterations bounds the run.
  const limit: { runTimeMs?: number; iterations?: number } = {};
  if (iterations !== undefined) limit.iterations = iterations;
  if (runTimeMs !== undefined) limit.runTimeMs = runTimeMs;
  else if (iterations === undefined) limit.runTimeMs = 30_000;
  const ratePerSec = rate(values, 'rate');
  if (ratePerSec !== undefined) {
    forbid(
      values,
      ['preset', 'users', 'spawn-rate', 'think-time'],
      'belongs to the closed model; --rate runs the open model. Use one or the other.',
    );
    return { model: 'open', ratePerSec, ...limit };
  }
  forbid(
    values,
    ['arrival', 'max-in-flight', 'late-threshold'],
    'belongs to the open model: add --rate N/s, or drop it.',
  );
  const presetName = str(values, 'preset');
  const preset = presetName !== undefined ? loadPreset(presetName) : undefined;
  const usersFlag = int(values, 'users', { min: 1, max: 100_000 });
  const spawnFlag = num(values, 'spawn-rate', { min: 0, max: 100_000, exclusiveMin: true });
  const defaults = preset ?? (usersFlag === undefined ? LOAD_PRESETS.light : undefined);
  const users = usersFlag ?? defaults?.users ?? 1;
  const spawnRate = spawnFlag ?? defaults?.spawnRate ?? users;
  const plan: LoadPlan = { model: 'closed', users, spawnRate, ...limit };
  const name = presetName ?? (usersFlag === undefined && spawnFlag === undefined ? 'light' : undefined);
  if (name !== undefined) plan.preset = name;
  return plan;
}

export async function loadCommand(ctx: CliContext, values: ParsedValues): Promise<ExitCode> {
  const url = str(values, 'url');
  const plan = planOf(values);
  const targets = resolveTargets(values, ctx.streams.env, url ? 'http' : 'pipeline');
  const seed = seedOf(values);
  const stopTimeoutMs = duration(values, 'stop-timeout') ?? 5000;
  const sampleIntervalMs = duration(values, 'sample-interval') ?? 1000;
  if (sampleIntervalMs < 50) throw new InvalidArgumentError('--sample-interval must be at least 50ms.');
  const progress = progressFor(ctx, values, Math.max(5000, sampleIntervalMs));
  const monitor = new PerformanceMonitor();

  let scenarios: Scenario[];
  let target: PipelineTarget | undefined;
  let description: string;
  let providers: string | undefined;
  if (url) {
    forbid(
      values,
      ['live', 'profile', 'no-cache', 'scenario'],
      'applies to the in-process pipeline, not to --url.',
    );
    const method = str(values, 'method')?.toUpperCase();
    const body = str(values, 'body');
    const timeoutMs = duration(values, 'timeout');
    scenarios = [
      httpScenario({
        url,
        ...(method !== undefined ? { method: method as 'GET' } : {}),
        ...(body !== undefined ? { body } : {}),
        headers: headers(values, 'header'),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      }),
    ];
    description = `${method ?? (body === undefined ? 'GET' : 'POST')} ${safeUrl(url)}`;
    await probeUrl(url);
  } else {
    forbid(values, ['method', 'body', 'header', 'timeout'], 'applies to --url only.');
    const weights = pairs(values, 'scenario', 'scenario');
    target = await pipelineTargetFor(ctx, values, { monitor, seed, log: (l) => progress.log(l) });
    try {
      scenarios = pipelineScenarios(target, weights);
    } catch (err) {
      await target.close();
      throw err;
    }
    description = target.description;
    providers = target.providers;
  }

  try {
    if (ctx.signal.aborted) return EXIT.interrupted;
    const common = {
      scenarios,
      monitor,
      signal: ctx.signal,
      seed,
      stopTimeoutMs,
      sampleIntervalMs,
      onProgress: (p: Parameters<typeof progressText>[0]) => progress.update(progressText(p), p.elapsedMs),
      ...(plan.runTimeMs !== undefined ? { runTimeMs: plan.runTimeMs } : {}),
      ...(plan.iterations !== undefined ? { iterations: plan.iterations } : {}),
    };
    const what =
      plan.model === 'open'
        ? `open model, ${plan.ratePerSec}/s`
        : `closed model, ${plan.users} users at ${plan.spawnRate}/s${plan.preset ? ` (preset ${plan.preset})` : ''}`;
    progress.log(`earshot load: ${what} against ${description}`);
    if (providers) progress.log(`  providers: ${providers}`);
    if (target) progress.log(`  cache: ${target.cacheDescription}`);
    let result: LoadRunResult;
    let maxInFlight: number | undefined;
    if (plan.model === 'open') {
      maxInFlight = int(values, 'max-in-flight', { min: 1, max: 1_000_000 }) ?? 1000;
      const arrival = str(values, 'arrival') ?? 'constant';
      if (arrival !== 'constant' && arrival !== 'poisson') {
        throw new InvalidArgumentError(`--arrival must be constant or poisson, got "${arrival}".`);
      }
      result = await runOpenModel({
        ...common,
        ratePerSec: plan.ratePerSec!,
        arrival,
        maxInFlight,
        lateThresholdMs: duration(values, 'late-threshold') ?? 10,
      });
    } else {
      const think = thinkTime(values, 'think-time');
      result = await runClosedModel({
        ...common,
        users: plan.users!,
        spawnRate: plan.spawnRate!,
        ...(think !== undefined ? { thinkTimeMs: think } : {}),
      });
    }
    const config: SavedRun['config'] = {
      model: plan.model,
      target: { kind: url ? 'http' : 'pipeline', description },
      scenarios: scenarios.map((s) => ({ name: s.name, weight: s.weight ?? 1 })),
    };
    if (plan.preset !== undefined) config.preset = plan.preset;
    if (plan.users !== undefined) config.users = plan.users;
    if (plan.spawnRate !== undefined) config.spawnRate = plan.spawnRate;
    if (plan.ratePerSec !== undefined) config.ratePerSec = plan.ratePerSec;
    if (plan.runTimeMs !== undefined) config.runTimeMs = plan.runTimeMs;
    if (plan.iterations !== undefined) config.iterations = plan.iterations;
    if (maxInFlight !== undefined) config.maxInFlight = maxInFlight;
    if (providers !== undefined) config.providers = providers;
    if (target) config.cache = target.cacheDescription;
    const run = summarizeRun({
      kind: 'load',
      title: `earshot load: ${what}`,
      result,
      ...runFactsOf(ctx, targets, target),
      config,
    });
    // Every miss explains itself, as in `demo` and `check` (issue 17 item 1).
    const explain: MissContext = target
      ? { cache: target.cache !== undefined, ...(fakeProfile(values) ? { profile: profileOf(values) } : {}) }
      : { cache: false, url: description };
    return await finishRun(ctx, values, run, { out: 'earshot-run.json' }, progress, { explain });
  } finally {
    await target?.close();
  }
}
