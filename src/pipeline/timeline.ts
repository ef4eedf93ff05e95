/**
 * Records one turn's waterfall while it runs and turns it into a {@link TurnTimeline}:
 * spans relative to the end of speech, marks, measurements, and the critical path that
 * explains what the first audio waited on.
 * @module
 */
import type { Labels } from '../perf/index.js';
import { OP } from '../perf/operations.js';
import type {
  CriticalPathStep,
  FallbackRecord,
  FallbackStage,
  SpanOutcome,
  TimelineSpan,
  TurnMeasurement,
  TurnTargetCheck,
  TurnTimeline,
} from './events.js';

/** What the pipeline needs from a monitor: `PerformanceMonitor` fits, so does any recorder. */
export interface PipelineMonitor {
  record(name: string, durationMs: number, labels?: Labels): void;
  /** Optional fast path: a function recording into one pre-resolved series. */
  recorder?(name: string, labels?: Labels): (durationMs: number) => void;
}

/** Labels the pipeline records with. */
interface PipelineLabels {
  provider?: string;
  cached?: boolean;
  outcome?: string;
}

const MAX_RECORDERS = 1000;

/**
 * @internal Records into a monitor through cached pre-resolved recorders when the monitor has
 * them (a turn records about 15 samples; resolving labels each time was its largest cost).
 * Never throws: metrics must not break a turn. A sample the monitor refuses (cardinality limit,
 * a bad label, a throwing custom monitor) is lost, counted in `dropped`, and reported once per
 * sink as a process warning `EARSHOT_METRIC_DROPPED` instead of being swallowed silently.
 */
export class MetricSink {
  readonly monitor: PipelineMonitor;
  readonly #recorders = new Map<string, (durationMs: number) => void>();
  /** Samples the monitor refused. */
  dropped = 0;

  constructor(monitor: PipelineMonitor) {
    this.monitor = monitor;
  }

  record(name: string, durationMs: number, labels: PipelineLabels): void {
    try {
      const m = this.monitor;
      if (typeof m.recorder !== 'function') {
        m.record(name, durationMs, labels as Labels);
        return;
      }
      const key = `${name}|${labels.provider ?? '-'}|${labels.cached ?? '-'}|${labels.outcome ?? '-'}`;
      let rec = this.#recorders.get(key);
      if (!rec) {
        if (this.#recorders.size >= MAX_RECORDERS) {
          m.record(name, durationMs, labels as Labels);
          return;
        }
        rec = m.recorder(name, labels as Labels);
        this.#recorders.set(key, rec);
      }
      rec(durationMs);
    } catch (err) {
      // A monitor that refuses a sample loses that sample only; say so once.
      if (this.dropped++ === 0) {
        const why = err instanceof Error ? err.message : String(err);
        process.emitWarning(`earshot: the monitor refused a pipeline sample (${name}): ${why}`, {
          code: 'EARSHOT_METRIC_DROPPED',
        });
      }
    }
  }
}

/** A span while the turn runs: absolute `performance.now()` times. */
export interface LiveSpan {
  id: number;
  name: string;
  start: number;
  end?: number;
  firstOutput?: number;
  provider?: string;
  cached: boolean;
  outcome?: SpanOutcome;
  round?: number;
  sentenceIndex?: number;
  waitedOn?: { spanId: number; at: number; reason?: string };
  error?: string;
}

type MarkName =
  | 'transcript'
  | 'firstToken'
  | 'firstSentence'
  | 'firstAudio'
  | 'firstAnswerAudio'
  | 'lastAudio'
  | 'interrupted';

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** @internal Mutable recorder owned by one turn. */
export class TimelineRecorder {
  readonly turnId: string;
  origin: number;
  readonly spans: LiveSpan[] = [];
  readonly marks: Partial<Record<MarkName, number>> = {};
  readonly fallbacks: { stage: FallbackStage; from: string; to: string; at: number; reason: string }[] = [];
  readonly measurements: TurnMeasurement[] = [];
  /** The span whose first output was the first audio out. */
  firstAudioSpanId: number | undefined;
  readonly #sink: MetricSink | undefined;

  constructor(turnId: string, origin: number, sink?: MetricSink) {
    this.turnId = turnId;
    this.origin = origin;
    this.#sink = sink;
  }

  start(name: string, fields?: Partial<Omit<LiveSpan, 'id' | 'name'>>): LiveSpan {
    const span: LiveSpan = {
      id: this.spans.length,
      name,
      start: fields?.start ?? performance.now(),
      cached: false,
    };
    if (fields) {
      if (fields.cached !== undefined) span.cached = fields.cached;
      if (fields.provider !== undefined) span.provider = fields.provider;
      if (fields.round !== undefined) span.round = fields.round;
      if (fields.sentenceIndex !== undefined) span.sentenceIndex = fields.sentenceIndex;
      if (fields.waitedOn !== undefined) span.waitedOn = fields.waitedOn;
    }
    this.spans.push(span);
    return span;
  }

  end(span: LiveSpan, outcome: SpanOutcome = 'ok', error?: string, at = performance.now()): void {
    if (span.end !== undefined) return;
    span.end = at;
    span.outcome = outcome;
    if (error !== undefined) span.error = error;
  }

  mark(name: MarkName, at = performance.now()): void {
    if (this.marks[name] === undefined) this.marks[name] = at;
  }

  fallback(stage: FallbackStage, from: string, to: string, reason: string): void {
    this.fallbacks.push({ stage, from, to, at: performance.now(), reason });
  }

  /** Records into the monitor (never throws: metrics must not break a turn) and keeps a copy. */
  record(name: string, durationMs: number, labels: PipelineLabels): void {
    // Not Math.max: a NaN from a broken clock must become 0, not reach the histogram.
    // biome-ignore lint/complexity/useMathMinMax: see above
    const ms = durationMs > 0 ? durationMs : 0;
    this.measurements.push({ name, durationMs: ms, labels: labels as Record<string, string | boolean> });
    this.#sink?.record(name, ms, labels);
  }

  /** Freezes the recording into a {@link TurnTimeline}. Open spans end at `doneAt` as interrupted. */
  build(
    doneAt: number,
    flags: { cached: boolean; interrupted: boolean },
    targets: Readonly<Record<string, number>> | undefined,
  ): TurnTimeline {
    const rel = (t: number): number => round3(t - this.origin);
    const spans: TimelineSpan[] = this.spans.map((s) => {
      const out: TimelineSpan = {
        id: s.id,
        name: s.name,
        startMs: rel(s.start),
        endMs: rel(s.end ?? doneAt),
        cached: s.cached,
        outcome: s.outcome ?? 'interrupted',
      };
      if (s.firstOutput !== undefined) out.firstOutputMs = rel(s.firstOutput);
      if (s.provider !== undefined) out.provider = s.provider;
      if (s.round !== undefined) out.round = s.round;
      if (s.sentenceIndex !== undefined) out.sentenceIndex = s.sentenceIndex;
      if (s.waitedOn) {
        out.waitedOn = { spanId: s.waitedOn.spanId, atMs: rel(s.waitedOn.at) };
        if (s.waitedOn.reason !== undefined) out.waitedOn.reason = s.waitedOn.reason;
      }
      if (s.error !== undefined) out.error = s.error;
      return out;
    });
    const m = this.marks;
    const marks: TurnTimeline['marks'] = { doneMs: rel(doneAt) };
    if (m.transcript !== undefined) marks.transcriptMs = rel(m.transcript);
    if (m.firstToken !== undefined) marks.firstTokenMs = rel(m.firstToken);
    if (m.firstSentence !== undefined) marks.firstSentenceMs = rel(m.firstSentence);
    if (m.firstAudio !== undefined) marks.firstAudioMs = rel(m.firstAudio);
    if (m.firstAnswerAudio !== undefined) marks.firstAnswerAudioMs = rel(m.firstAnswerAudio);
    if (m.lastAudio !== undefined) marks.lastAudioMs = rel(m.lastAudio);
    if (m.interrupted !== undefined) marks.interruptedMs = rel(m.interrupted);
    const ttfa = marks.firstAudioMs;
    const fallbacks: FallbackRecord[] = this.fallbacks.map((f) => ({
      stage: f.stage,
      from: f.from,
      to: f.to,
      atMs: rel(f.at),
      reason: f.reason,
    }));
    return {
      turnId: this.turnId,
      speechEndedAt: this.origin,
      spans,
      marks,
      timeToFirstAudioMs: ttfa,
      ...(marks.firstAnswerAudioMs === undefined ? {} : { timeToAnswerAudioMs: marks.firstAnswerAudioMs }),
      e2eMs: flags.interrupted ? undefined : marks.lastAudioMs,
      cached: flags.cached,
      interrupted: flags.interrupted,
      fallbacks,
      criticalPath: ttfa === undefined ? [] : criticalPath(spans, this.firstAudioSpanId, ttfa),
      measurements: this.measurements.slice(),
      targets: checkTargets(this.measurements, targets),
    };
  }
}

function checkTargets(
  measurements: readonly TurnMeasurement[],
  targets: Readonly<Record<string, number>> | undefined,
): TurnTargetCheck[] {
  if (!targets) return [];
  const out: TurnTargetCheck[] = [];
  for (const [operation, targetMs] of Object.entries(targets)) {
    let actual: number | undefined;
    for (const x of measurements) {
      if (x.name === operation && (actual === undefined || x.durationMs > actual)) actual = x.durationMs;
    }
    out.push({ operation, targetMs, actualMs: actual, pass: actual === undefined || actual <= targetMs });
  }
  return out;
}

/**
 * Walks back from the first audio byte through what each span waited on, producing steps that
 * tile `[0, ttfa]` exactly: stage time where a stage was working, `overhead` in between.
 */
export function criticalPath(
  spans: readonly TimelineSpan[],
  firstAudioSpanId: number | undefined,
  ttfa: number,
): CriticalPathStep[] {
  const steps: CriticalPathStep[] = [];
  let cursor = ttfa;
  const push = (name: string, start: number, spanId?: number, detail?: string): void => {
    const s = Math.max(0, Math.min(start, cursor));
    if (s === cursor && name === 'overhead') return;
    const step: CriticalPathStep = { name, startMs: s, endMs: cursor, durationMs: round3(cursor - s) };
    if (spanId !== undefined) step.spanId = spanId;
    if (detail !== undefined) step.detail = detail;
    steps.unshift(step);
    cursor = s;
  };
  let span = firstAudioSpanId === undefined ? undefined : spans[firstAudioSpanId];
  let why: string | undefined = 'first audio byte';
  const seen = new Set<number>();
  while (span && !seen.has(span.id)) {
    seen.add(span.id);
    const fo = span.firstOutputMs;
    if (span.name === OP.tts || span.name === 'cache:tts') {
      if (fo !== undefined && fo < cursor) push('overhead', fo, undefined, 'handing the audio out');
      push(
        span.name === OP.tts ? OP.ttsTtfb : 'cache:tts',
        span.startMs,
        span.id,
        `sentence ${span.sentenceIndex ?? '?'}`,
      );
    } else if (span.name === OP.llm) {
      if (fo !== undefined && fo < cursor) {
        push(OP.llm, fo, span.id, why ? `until ${why}` : undefined);
        push(OP.llmTtft, span.startMs, span.id, span.cached ? 'cached answer' : undefined);
      } else {
        push(OP.llmTtft, span.startMs, span.id, why ? `until ${why}` : undefined);
      }
    } else {
      if (span.endMs < cursor) push('overhead', span.endMs);
      push(span.name, span.startMs, span.id, span.cached ? 'cached' : undefined);
    }
    const w = span.waitedOn;
    if (!w) break;
    const next = spans[w.spanId];
    if (!next) break;
    if (w.atMs < cursor) {
      push(
        w.reason === 'free TTS slot' ? 'tts_queue' : 'overhead',
        w.atMs,
        undefined,
        w.reason === 'free TTS slot' ? w.reason : undefined,
      );
    }
    why = w.reason;
    span = next;
  }
  push('overhead', 0, undefined, 'before the first stage started');
  return steps;
}

/**
 * Renders a timeline as a text waterfall (one row per span, `█` working, `▒` first output
 * reached, `*` on the critical path), for logs and the CLI.
 *
 * @example
 * ```ts
 * const { timeline } = await pipeline.respond(audio).done;
 * console.log(formatWaterfall(timeline));
 * ```
 */
export function formatWaterfall(timeline: TurnTimeline, width = 48): string {
  const end = Math.max(timeline.marks.doneMs, 1);
  const scale = (ms: number): number => Math.max(0, Math.min(width, Math.round((ms / end) * width)));
  const onPath = new Set(timeline.criticalPath.map((s) => s.spanId).filter((x) => x !== undefined));
  const rows = timeline.spans.map((s) => {
    const label =
      s.name +
      (s.sentenceIndex !== undefined ? ` #${s.sentenceIndex}` : '') +
      (s.round !== undefined && s.name === OP.llm ? ` r${s.round}` : '');
    const a = scale(s.startMs);
    const f = s.firstOutputMs === undefined ? scale(s.endMs) : scale(s.firstOutputMs);
    const b = Math.max(scale(s.endMs), a + 1);
    const bar =
      ' '.repeat(a) +
      '█'.repeat(Math.max(0, Math.min(f, b) - a)) +
      '▒'.repeat(Math.max(0, b - Math.max(f, a)));
    const flags = `${s.cached ? ' cached' : ''}${s.outcome === 'ok' ? '' : ` ${s.outcome}`}`;
    return `${onPath.has(s.id) ? '*' : ' '} ${label.padEnd(22).slice(0, 22)} ${bar.padEnd(width)} ${s.startMs.toFixed(1).padStart(7)} → ${s.endMs.toFixed(1).padStart(7)} ms${flags}`;
  });
  const ttfa = timeline.timeToFirstAudioMs;
  const head =
    `turn ${timeline.turnId}: first audio ${ttfa === undefined ? '—' : `${ttfa.toFixed(1)} ms`}, ` +
    `last audio ${timeline.e2eMs === undefined ? '—' : `${timeline.e2eMs.toFixed(1)} ms`}` +
    `${timeline.cached ? ', cached' : ''}${timeline.interrupted ? ', interrupted' : ''}`;
  const path = timeline.criticalPath.map((s) => `${s.name} ${s.durationMs.toFixed(1)}`).join(' → ');
  return [head, ...rows, path ? `critical path: ${path}` : 'critical path: (no audio)'].join('\n');
}
