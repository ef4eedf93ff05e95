/**
 * What `demo`, `load` and `check` share: the context a command runs in, target resolution,
 * progress lines, and finishing a run (save JSON, write HTML, print, pick the exit code).
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadConfigFromEnv } from '../config/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { LoadRunResult } from '../loadtest/run-control.js';
import { type SavedRun, writeRunFile } from '../loadtest/run-file.js';
import type { LoadProgress } from '../loadtest/types.js';
import { OP } from '../perf/operations.js';
import { formatMs } from '../report/format.js';
import { renderHtmlReport } from '../report/html-report.js';
import { formatTextReport } from '../report/text-report.js';
import { bool, type FlagSpec, int, num, type ParsedValues, pairs, str } from './args.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { explainMisses, type MissContext } from './explain.js';
import { type CliStreams, ProgressLine, styleFor } from './output.js';
import { type PipelineTargetOptions, PROVIDER_MODES } from './pipeline-target.js';

/** What a command runs with. */
export interface CliContext {
  streams: CliStreams;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
  /** Base of relative paths. */
  cwd: string;
  /** earshot's version. */
  version: string;
}

/** Flags every running command (`demo`, `load`, `check`) takes. */
export const OUTPUT_FLAGS: Record<string, FlagSpec> = {
  html: { type: 'string', value: 'FILE', description: 'write the HTML report to FILE' },
  out: { type: 'string', value: 'FILE', description: 'save the run (JSON, versioned) to FILE' },
  json: { type: 'boolean', description: 'print the run as JSON on stdout instead of the text table' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress output' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** Flags that choose what is judged. */
export const TARGET_FLAGS: Record<string, FlagSpec> = {
  target: {
    type: 'string',
    multiple: true,
    value: 'OP=MS',
    description: 'latency target of an operation, e.g. stt=100 (overrides the defaults)',
  },
  percentile: {
    type: 'string',
    value: 'P',
    description: 'percentile the targets are judged at (default 90, or EARSHOT_PERCENTILE)',
  },
  'max-error-rate': {
    type: 'string',
    value: 'R',
    description: 'highest error rate that passes, 0–1 (default 0.01)',
  },
};

/** Flags of the in-process pipeline target. */
export const PIPELINE_FLAGS: Record<string, FlagSpec> = {
  providers: {
    type: 'string',
    value: 'MODE',
    description:
      'auto (default: the real adapters and SDKs against fake servers on 127.0.0.1 when the SDKs are installed, else fake), fake (in-process fake stages), servers, live',
  },
  live: {
    type: 'boolean',
    description:
      'same as --providers live: the real services (DEEPGRAM_API_KEY, OPENAI_API_KEY, ELEVENLABS_API_KEY)',
  },
  profile: {
    type: 'string',
    value: 'NAME',
    description:
      'latency profile of the fake providers: sourceDesignAfter (default), sourceDesignBefore, instant',
  },
  'no-cache': { type: 'boolean', description: 'turn the cache off (measure the uncached pipeline)' },
  'warm-cache': {
    type: 'boolean',
    description:
      'with REDIS_URL: reuse the shared key prefix, so answers cached by earlier runs count as hits (default: a fresh prefix per run, deleted at the end)',
  },
  seed: {
    type: 'string',
    value: 'N',
    description: 'seed of questions, fake latencies and scenario picks (default 1)',
  },
};

/** Targets as judged by a run. */
export interface ResolvedTargets {
  operations: Record<string, number>;
  stretch: Record<string, number>;
  percentile: number;
  maxErrorRate: number;
}

/**
 * In a streaming pipeline the user waits for the first token, the first audio byte and the
 * first audio, not for the whole answer: the source design's LLM, TTS and end-to-end targets
 * are judged on those operations. Explicit `--target` flags are taken as they are.
 */
const STREAMING_EQUIVALENT: Readonly<Record<string, string>> = {
  [OP.llm]: OP.llmTtft,
  [OP.tts]: OP.ttsTtfb,
  [OP.e2e]: OP.timeToFirstAudio,
};

/**
 * The targets of a run: the configuration's (defaults, `EARSHOT_TARGET_<OP>`,
 * `EARSHOT_PERCENTILE`), mapped to the target kind, then the `--target` flags.
 * @throws ConfigError for a bad environment variable, InvalidArgumentError for a bad flag.
 */
export function resolveTargets(
  values: ParsedValues,
  env: CliStreams['env'],
  kind: 'pipeline' | 'http',
): ResolvedTargets {
  const cfg = loadConfigFromEnv(env).targets;
  const operations: Record<string, number> = {};
  const stretch: Record<string, number> = {};
  const base = cfg.operations as Record<string, number>;
  if (kind === 'pipeline') {
    for (const [op, ms] of Object.entries(base)) operations[STREAMING_EQUIVALENT[op] ?? op] = ms;
    for (const [op, ms] of Object.entries(cfg.stretch)) stretch[STREAMING_EQUIVALENT[op] ?? op] = ms;
  } else {
    // An HTTP endpoint answers a whole turn: judge the request against the end-to-end target.
    if (base.e2e !== undefined) operations.http = base.e2e;
    if (cfg.stretch.e2e !== undefined) stretch.http = cfg.stretch.e2e;
  }
  Object.assign(operations, pairs(values, 'target', 'operation'));
  const percentile = num(values, 'percentile', { min: 0, max: 100, exclusiveMin: true }) ?? cfg.percentile;
  const maxErrorRate = num(values, 'max-error-rate', { min: 0, max: 1 }) ?? 0.01;
  return { operations, stretch, percentile, maxErrorRate };
}

/** The `--providers` / `--live` flags. */
export function providerModeOf(values: ParsedValues): PipelineTargetOptions['mode'] {
  const flag = str(values, 'providers');
  if (bool(values, 'live')) {
    if (flag !== undefined && flag !== 'live')
      throw new InvalidArgumentError(`--live contradicts --providers ${flag}.`);
    return 'live';
  }
  if (flag === undefined) return 'auto';
  if (!(PROVIDER_MODES as readonly string[]).includes(flag)) {
    throw new InvalidArgumentError(
      `Unknown --providers "${flag}". Use one of: ${PROVIDER_MODES.join(', ')}.`,
    );
  }
  return flag as PipelineTargetOptions['mode'];
}

/** The `--seed` flag. */
export function seedOf(values: ParsedValues): number {
  return int(values, 'seed', { min: 0, max: 2 ** 31 - 1 }) ?? 1;
}

/** One status line: elapsed, load, completions, errors and P50/P90/P99 so far. */
export function progressText(p: LoadProgress): string {
  const parts: string[] = [];
  if (p.targetUsers !== undefined) parts.push(`users ${p.users ?? 0}/${p.targetUsers}`);
  if (p.targetRate !== undefined) parts.push(`rate ${Number(p.targetRate.toFixed(2))}/s`);
  parts.push(
    `${p.startedPerSec.toFixed(1)} started/s`,
    `in flight ${p.inFlight}`,
    `done ${p.completed}`,
    `errors ${p.errors}`,
  );
  if (p.late !== undefined) parts.push(`late ${p.late}`);
  if (p.dropped !== undefined) parts.push(`dropped ${p.dropped}`);
  parts.push(
    p.p50 === undefined
      ? 'P50/P90/P99 –'
      : `P50 ${formatMs(p.p50)} P90 ${formatMs(p.p90)} P99 ${formatMs(p.p99)} ms`,
  );
  return `[${(p.elapsedMs / 1000).toFixed(1).padStart(5)}s] ${parts.join(' · ')}`;
}

/** A progress renderer for a run (stderr; quiet with `--quiet`). */
export function progressFor(ctx: CliContext, values: ParsedValues, plainEveryMs: number): ProgressLine {
  return new ProgressLine(ctx.streams.stderr, { quiet: bool(values, 'quiet'), plainEveryMs });
}

/**
 * Runs `write` (an output file the user named), turning a filesystem error (a directory, no
 * permission, a read-only disk) into a usage error that names the path, instead of a crash.
 */
export async function writeOutput(what: string, path: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') throw err;
    throw new InvalidArgumentError(
      `Cannot write ${what} to ${path} (${code}). Check the path and its directory.`,
      {
        cause: err,
      },
    );
  }
}

/** Resolves a user path against the CLI's working directory. */
export function outPath(ctx: CliContext, path: string): string {
  return resolve(ctx.cwd, path);
}

/**
 * Saves and reports a run: run JSON (`--out` or `defaults.out`), HTML (`--html` or
 * `defaults.html`), then the text table (or the JSON with `--json`). Returns the exit code:
 * 130 when interrupted, 1 when a target was missed, 0 otherwise.
 */
export async function finishRun(
  ctx: CliContext,
  values: ParsedValues,
  run: SavedRun,
  defaults: { out?: string; html?: string },
  progress: ProgressLine,
  extra: {
    /** Printed before the per-stage table (the demo's before/after table). */
    before?: string;
    /** Printed after the verdict (the phases of `check`). */
    after?: readonly string[];
    /** Explain every missed target with this context. */
    explain?: MissContext;
  } = {},
): Promise<ExitCode> {
  progress.clear();
  const style = styleFor(ctx.streams.stdout, ctx.streams.env);
  const errStyle = styleFor(ctx.streams.stderr, ctx.streams.env);
  const out = str(values, 'out') ?? defaults.out;
  const html = str(values, 'html') ?? defaults.html;
  const written: string[] = [];
  if (out) {
    const p = outPath(ctx, out);
    await writeOutput('the run', p, async () => {
      await mkdir(dirname(p), { recursive: true });
      await writeRunFile(p, run);
    });
    written.push(`run saved to ${p}`);
  }
  if (html) {
    const p = outPath(ctx, html);
    await writeOutput('the HTML report', p, async () => {
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, renderHtmlReport(run), 'utf8');
    });
    written.push(`HTML report written to ${p}`);
  }
  const why = extra.explain ? explainMisses(run, extra.explain) : [];
  const notes = [
    ...(extra.after ?? []),
    ...(why.length > 0 ? ['Why the targets were missed:', ...why.map((w) => `  - ${w}`)] : []),
  ];
  if (bool(values, 'json')) {
    ctx.streams.stdout.write(`${JSON.stringify(run)}\n`);
    // stdout stays one JSON document; the words go to stderr.
    if (extra.before) ctx.streams.stderr.write(`${extra.before}\n`);
    for (const n of notes) ctx.streams.stderr.write(`${n}\n`);
    for (const w of written) ctx.streams.stderr.write(`${w}\n`);
  } else {
    if (extra.before) ctx.streams.stdout.write(`\n${extra.before}\n`);
    ctx.streams.stdout.write(`\n${formatTextReport(run, style)}\n`);
    for (const n of notes) ctx.streams.stdout.write(`${n}\n`);
    for (const w of written) ctx.streams.stdout.write(`${w}\n`);
  }
  if (run.status === 'interrupted') {
    ctx.streams.stderr.write(
      `${errStyle('warn', `Interrupted: partial results${written.length ? ' saved' : ''}.`)}\n`,
    );
    return EXIT.interrupted;
  }
  return run.verdict.pass ? EXIT.ok : EXIT.targetsMissed;
}

/** Combines two phases of a run (component calls, then turns) into one result. */
export function combineResults(a: LoadRunResult, b: LoadRunResult): LoadRunResult {
  const offset = b.startedAt.getTime() - a.startedAt.getTime();
  const kinds = new Map(a.errorKinds.map((k) => [k.kind, { ...k }]));
  for (const k of b.errorKinds) {
    const known = kinds.get(k.kind);
    if (known) known.count += k.count;
    else kinds.set(k.kind, { ...k });
  }
  return {
    ...b,
    status: a.status === 'interrupted' ? 'interrupted' : b.status,
    stopReason: a.status === 'interrupted' ? a.stopReason : b.stopReason,
    startedAt: a.startedAt,
    durationMs: offset + b.durationMs,
    started: a.started + b.started,
    completed: a.completed + b.completed,
    errors: a.errors + b.errors,
    interrupted: a.interrupted + b.interrupted,
    abandoned: a.abandoned + b.abandoned,
    errorKinds: [...kinds.values()].sort((x, y) => y.count - x.count),
    timeseries: [
      ...a.timeseries,
      ...b.timeseries.map((p) => ({ ...p, tMs: Math.round((p.tMs + offset) * 10) / 10 })),
    ],
  };
}

/** Throws a usage error when any of `flags` is set. */
export function forbid(values: ParsedValues, flags: readonly string[], why: string): void {
  for (const f of flags) {
    const v = values[f];
    if (v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0)) {
      throw new InvalidArgumentError(`--${f} ${why}`);
    }
  }
}
