/**
 * The saved-run format: one JSON file per run (demo, load, check) that the HTML report and
 * `earshot report` render, validated with zod and versioned so old files keep loading or fail
 * with a message that says what to do.
 * @module
 */
import { open, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';

/** Current version of the saved-run format. */
export const RUN_FILE_VERSION = 1;

const ms = z.number().finite().min(0);
const count = z.number().int().min(0);

/** A point of a stage's percentile distribution. */
const distributionPointSchema = z.object({ percentile: z.number().min(0).max(100), ms });

/** The verdict on one stage's target. */
const stageTargetSchema = z.object({
  percentile: z.number().gt(0).max(100),
  targetMs: z.number().positive(),
  actualMs: ms.nullable(),
  status: z.enum(['pass', 'fail', 'no-data']),
  /** Successful calls, the ones `actualMs` is measured on (absent in older run files). */
  okCount: count.optional(),
  /** Failed calls of this stage and their share of its calls. */
  errors: count.optional(),
  errorRate: z.number().min(0).max(1).optional(),
  /** The per-stage error-rate gate applied. */
  maxErrorRate: z.number().min(0).max(1).optional(),
  /** Why a `fail`: the latency (of successful calls), the error rate, or both. */
  failedOn: z.enum(['latency', 'errors', 'latency+errors']).optional(),
  stretchMs: z.number().positive().optional(),
  stretchPass: z.boolean().optional(),
});

/** Percentile statistics of one operation (a pipeline stage, a turn, an HTTP call). */
export const stageStatsSchema = z.object({
  name: z.string().min(1),
  count,
  errors: count,
  minMs: ms,
  maxMs: ms,
  meanMs: ms,
  p50: ms,
  p90: ms,
  p95: ms,
  p99: ms,
  p999: ms,
  target: stageTargetSchema.optional(),
  /** Percentile → ms, for the distribution plot. */
  distribution: z.array(distributionPointSchema),
  /** The merged HDR histogram (compressed base64 V2), to re-aggregate runs. */
  histogram: z.string().optional(),
});

/** One sample of the over-time series. */
export const timeseriesPointSchema = z.object({
  /** End of the interval, ms since the run started. */
  tMs: ms,
  intervalMs: z.number().positive(),
  users: count.optional(),
  targetRate: z.number().min(0).optional(),
  inFlight: count,
  started: count,
  completed: count,
  errors: count,
  throughputPerSec: z.number().min(0),
  p50: ms.optional(),
  p90: ms.optional(),
  p99: ms.optional(),
  /**
   * P50 and P90 over the last `size` iterations (at least one interval), one entry per window
   * size, for the over-time chart. Absent in older run files and before the first iteration.
   */
  rolling: z
    .array(
      z.object({
        size: z.number().int().positive(),
        turns: z.number().int().positive(),
        windowMs: ms,
        p50: ms,
        p90: ms,
      }),
    )
    .optional(),
});

const spanSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  startMs: z.number().finite(),
  endMs: z.number().finite(),
  firstOutputMs: z.number().finite().optional(),
  provider: z.string().optional(),
  cached: z.boolean().optional(),
  outcome: z.string().optional(),
  round: z.number().int().optional(),
  sentenceIndex: z.number().int().optional(),
});

const stepSchema = z.object({
  name: z.string(),
  startMs: z.number().finite(),
  endMs: z.number().finite(),
  durationMs: z.number().finite().optional(),
  spanId: z.number().int().optional(),
  detail: z.string().optional(),
});

/** A turn's waterfall (the subset of the pipeline's `TurnTimeline` the report draws). */
export const waterfallSchema = z.object({
  turnId: z.string().optional(),
  timeToFirstAudioMs: z.number().finite().optional(),
  e2eMs: z.number().finite().optional(),
  cached: z.boolean().optional(),
  interrupted: z.boolean().optional(),
  spans: z.array(spanSchema),
  marks: z
    .object({
      transcriptMs: z.number().finite().optional(),
      firstTokenMs: z.number().finite().optional(),
      firstSentenceMs: z.number().finite().optional(),
      firstAudioMs: z.number().finite().optional(),
      lastAudioMs: z.number().finite().optional(),
      doneMs: z.number().finite().optional(),
    })
    .optional(),
  criticalPath: z.array(stepSchema).optional(),
});

const cacheCountersSchema = z.object({
  hits: count,
  misses: count,
  stale: count.default(0),
  hitRate: z.number().min(0).max(1),
});

/** A saved run. */
export const savedRunSchema = z.object({
  version: z.literal(RUN_FILE_VERSION),
  tool: z.literal('earshot'),
  earshotVersion: z.string(),
  kind: z.enum(['demo', 'load', 'check']),
  title: z.string(),
  /** ISO 8601 start time; anything `Date` cannot read is rejected (exit 4 in `report`). */
  startedAt: z.string().refine((v) => Number.isFinite(Date.parse(v)), 'must be an ISO 8601 date'),
  durationMs: ms,
  status: z.enum(['completed', 'interrupted', 'failed']),
  /** Why the run stopped early (Ctrl-C, an error). */
  stopReason: z.string().optional(),
  config: z.object({
    model: z.enum(['closed', 'open']),
    preset: z.string().optional(),
    users: count.optional(),
    spawnRate: z.number().positive().optional(),
    runTimeMs: ms.optional(),
    iterations: count.optional(),
    ratePerSec: z.number().positive().optional(),
    maxInFlight: count.optional(),
    target: z.object({ kind: z.enum(['pipeline', 'http', 'function']), description: z.string() }),
    scenarios: z.array(z.object({ name: z.string(), weight: z.number().positive() })),
    cache: z.string().optional(),
    providers: z.string().optional(),
  }),
  summary: z.object({
    turns: count,
    errors: count,
    interrupted: count.default(0),
    errorRate: z.number().min(0).max(1),
    throughputPerSec: z.number().min(0),
  }),
  /** Targets judged and the overall verdict. */
  verdict: z.object({
    pass: z.boolean(),
    percentile: z.number().gt(0).max(100),
    maxErrorRate: z.number().min(0).max(1),
    failures: z.array(z.string()),
  }),
  stages: z.array(stageStatsSchema),
  timeseries: z.array(timeseriesPointSchema),
  /** Open model only: what happened to the scheduled arrivals. */
  arrivals: z
    .object({
      targetRatePerSec: z.number().positive(),
      scheduled: count,
      sent: count,
      late: count,
      dropped: count,
      lateThresholdMs: ms,
      maxSendLagMs: ms,
    })
    .optional(),
  cache: z
    .object({
      namespaces: z.record(z.string(), cacheCountersSchema),
      total: cacheCountersSchema,
    })
    .optional(),
  errors: z.array(z.object({ kind: z.string(), count: z.number().int().positive(), message: z.string() })),
  turns: z.object({ typical: waterfallSchema.optional(), p90: waterfallSchema.optional() }),
});

/** A saved run, as read from a file. */
export type SavedRun = z.output<typeof savedRunSchema>;
/** What {@link savedRunSchema} accepts (defaults may be omitted). */
export type SavedRunInput = z.input<typeof savedRunSchema>;
export type StageStats = z.output<typeof stageStatsSchema>;
export type TimeseriesPoint = z.output<typeof timeseriesPointSchema>;
export type SavedWaterfall = z.output<typeof waterfallSchema>;

/**
 * Validates a parsed JSON value as a saved run.
 * @throws InvalidArgumentError naming every bad field, or saying which version is expected.
 */
export function parseSavedRun(value: unknown, source = 'run file'): SavedRun {
  if (value && typeof value === 'object' && 'version' in value && value.version !== RUN_FILE_VERSION) {
    throw new InvalidArgumentError(
      `${source} has format version ${JSON.stringify(value.version)}, but this earshot reads version ${RUN_FILE_VERSION}. Re-run the test with this earshot version, or render it with the earshot version that wrote it.`,
    );
  }
  const parsed = savedRunSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 8)
      .map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('\n');
    throw new InvalidArgumentError(
      `${source} is not an earshot run (version ${RUN_FILE_VERSION}):\n${issues}`,
    );
  }
  return parsed.data;
}

/**
 * Reads and validates a saved run.
 * @throws InvalidArgumentError when the file is missing, not JSON, or not a run.
 */
export async function readRunFile(path: string): Promise<SavedRun> {
  let text: string;
  try {
    text = await readCapped(path, MAX_RUN_FILE_BYTES);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(
      code === 'ENOENT'
        ? `Run file not found: ${path}`
        : `Cannot read run file ${path} (${code ?? 'error'}).`,
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseSavedRun(json, path);
}

/** Largest run file {@link readRunFile} reads: runs are a few MB; this stops `/dev/zero` or a wrong path. */
const MAX_RUN_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a file as UTF-8, refusing it past `maxBytes`: a device or pipe that never ends
 * (`earshot report /dev/zero`) must be an error, not an out-of-memory crash.
 */
async function readCapped(path: string, maxBytes: number): Promise<string> {
  const file = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) {
        throw new InvalidArgumentError(
          `${path} is larger than ${maxBytes / (1024 * 1024)} MiB (or never ends): not an earshot run file.`,
        );
      }
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await file.close();
  }
}

/** Writes a run as pretty JSON, atomically (temp file + rename), after validating it. */
export async function writeRunFile(path: string, run: SavedRunInput): Promise<void> {
  const valid = savedRunSchema.parse(run);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(valid, null, 2)}\n`, 'utf8');
  await rename(tmp, path);
}
