import { MissingDependencyError } from '../errors.js';
import type { NormalizedLabels, RecordEvent } from '../perf/index.js';
import { OP } from '../perf/operations.js';
import { type CacheStatsProvider, namespaceStats } from './source.js';

/**
 * A bridge from the performance monitor to OpenTelemetry metrics. Every recorded sample is
 * recorded again into an OpenTelemetry histogram, so the SDK's own aggregation (explicit or
 * exponential buckets) and exporter (OTLP, Prometheus, ...) take it from there.
 *
 * Names follow the GenAI semantic conventions where they exist
 * (`gen_ai.client.operation.duration`, `gen_ai.client.operation.time_to_first_chunk`,
 * `gen_ai.client.token.usage`), and `earshot.*` for what they lack (speech-to-text,
 * text-to-speech, voice turns, tools, cache). Durations are in seconds, as the conventions ask.
 *
 * Only `@opentelemetry/api` is needed (an optional peer); the SDK is the application's choice.
 * @module
 */

/** Attribute values as OpenTelemetry accepts them. */
export type OtelAttributes = Record<string, string | number | boolean>;

/** The parts of an OpenTelemetry `Histogram` the bridge uses. */
export interface OtelHistogramLike {
  record(value: number, attributes?: OtelAttributes): void;
}

/** The parts of an OpenTelemetry `ObservableResult` the bridge uses. */
export interface OtelObservableResultLike {
  observe(value: number, attributes?: OtelAttributes): void;
}

/** The parts of an OpenTelemetry observable instrument the bridge uses. */
export interface OtelObservableLike {
  addCallback(callback: (result: OtelObservableResultLike) => void): void;
  removeCallback(callback: (result: OtelObservableResultLike) => void): void;
}

/** Instrument options, as in `@opentelemetry/api`'s `MetricOptions`. */
export interface OtelInstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

/**
 * The parts of an OpenTelemetry `Meter` the bridge uses. A real `Meter` from
 * `@opentelemetry/api` fits; the structural type keeps `@opentelemetry/api` out of earshot's
 * type dependencies.
 */
export interface OtelMeterLike {
  createHistogram(name: string, options?: OtelInstrumentOptions): OtelHistogramLike;
  createObservableCounter(name: string, options?: OtelInstrumentOptions): OtelObservableLike;
}

/** What the bridge subscribes to: the monitor's `onRecord`. */
export interface RecordSource {
  onRecord(listener: (event: RecordEvent) => void): () => void;
}

/** Where one operation's samples go: an instrument name and fixed attributes. */
export interface OtelInstrumentRule {
  instrument: string;
  attributes?: OtelAttributes;
}

// Bucket advice from the GenAI semantic conventions for durations and token counts.
const GEN_AI_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
const GEN_AI_TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
// Voice latency budgets are tens to hundreds of ms: finer buckets there.
const VOICE_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5,
  10,
];

interface InstrumentSpec {
  description: string;
  buckets: number[];
  genAi: boolean;
}

const INSTRUMENTS: Record<string, InstrumentSpec> = {
  'gen_ai.client.operation.duration': {
    description: 'GenAI operation duration.',
    buckets: GEN_AI_DURATION_BUCKETS,
    genAi: true,
  },
  'gen_ai.client.operation.time_to_first_chunk': {
    description: 'Time from the request to the first chunk of a streamed GenAI response.',
    buckets: GEN_AI_DURATION_BUCKETS,
    genAi: true,
  },
  'earshot.stt.duration': {
    description: 'Speech-to-text request duration.',
    buckets: VOICE_BUCKETS,
    genAi: false,
  },
  'earshot.tts.duration': {
    description: 'Text-to-speech request duration.',
    buckets: VOICE_BUCKETS,
    genAi: false,
  },
  'earshot.tts.time_to_first_byte': {
    description: 'Time from a text-to-speech request to its first audio byte.',
    buckets: VOICE_BUCKETS,
    genAi: false,
  },
  'earshot.voice.turn.duration': {
    description: 'Duration of a whole voice turn, end of speech to last audio byte.',
    buckets: VOICE_BUCKETS,
    genAi: false,
  },
  'earshot.voice.time_to_first_audio': {
    description: 'Time from the end of user speech to the first audio byte of the reply.',
    buckets: VOICE_BUCKETS,
    genAi: false,
  },
  'earshot.voice.time_to_answer_audio': {
    description:
      'Time from the end of user speech to the first audio of the final answer (never an acknowledgement).',
    buckets: VOICE_BUCKETS,
    genAi: false,
  },
  'earshot.tool.duration': {
    description: 'Duration of a tool call made for the language model.',
    buckets: VOICE_BUCKETS,
    genAi: false,
  },
  'earshot.cache.duration': {
    description: 'Duration of a cache read or write.',
    buckets: VOICE_BUCKETS,
    genAi: false,
  },
  'earshot.operation.duration': {
    description: 'Duration of an earshot operation without a dedicated instrument.',
    buckets: VOICE_BUCKETS,
    genAi: false,
  },
};

/** Where earshot's operation names go by default. */
export const DEFAULT_OTEL_RULES: Readonly<Record<string, OtelInstrumentRule>> = Object.freeze({
  [OP.llm]: {
    instrument: 'gen_ai.client.operation.duration',
    attributes: { 'gen_ai.operation.name': 'chat' },
  },
  [OP.llmTtft]: {
    instrument: 'gen_ai.client.operation.time_to_first_chunk',
    attributes: { 'gen_ai.operation.name': 'chat' },
  },
  [OP.embed]: {
    instrument: 'gen_ai.client.operation.duration',
    attributes: { 'gen_ai.operation.name': 'embeddings' },
  },
  [OP.stt]: { instrument: 'earshot.stt.duration' },
  [OP.tts]: { instrument: 'earshot.tts.duration' },
  [OP.ttsTtfb]: { instrument: 'earshot.tts.time_to_first_byte' },
  [OP.e2e]: { instrument: 'earshot.voice.turn.duration' },
  [OP.timeToFirstAudio]: { instrument: 'earshot.voice.time_to_first_audio' },
  [OP.timeToAnswerAudio]: { instrument: 'earshot.voice.time_to_answer_audio' },
  [OP.companyApi]: {
    instrument: 'earshot.tool.duration',
    attributes: { 'earshot.tool.name': OP.companyApi },
  },
  [OP.search]: { instrument: 'earshot.tool.duration', attributes: { 'earshot.tool.name': OP.search } },
  [OP.cacheRead]: { instrument: 'earshot.cache.duration', attributes: { 'earshot.cache.operation': 'read' } },
  [OP.cacheWrite]: {
    instrument: 'earshot.cache.duration',
    attributes: { 'earshot.cache.operation': 'write' },
  },
});

/** Options of {@link OpenTelemetryBridge}. */
export interface OpenTelemetryBridgeOptions {
  /** The meter to record into, e.g. `metrics.getMeter('earshot')`. */
  meter: OtelMeterLike;
  /**
   * Operation name → instrument, merged over {@link DEFAULT_OTEL_RULES}; `null` drops an
   * operation. Unlisted operations go to `earshot.operation.duration` with an
   * `earshot.operation` attribute.
   */
  rules?: Readonly<Record<string, OtelInstrumentRule | null>>;
  /** Cache counters per namespace, exported as `earshot.cache.hits` / `earshot.cache.misses`. */
  cache?: CacheStatsProvider;
}

/** Token counts of one GenAI call. */
export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  /** `gen_ai.provider.name`, e.g. `openai`. */
  provider?: string;
  /** `gen_ai.request.model`, e.g. `gpt-4o-mini`. */
  model?: string;
  /** `gen_ai.operation.name`. Default `chat`. */
  operation?: string;
}

const ERROR_OUTCOMES = new Set(['error', 'timeout']);

/**
 * Records every sample of a monitor into OpenTelemetry instruments. Create it once per
 * process; {@link close} unsubscribes.
 *
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * import { performanceMonitor } from 'earshot';
 * import { OpenTelemetryBridge } from 'earshot/exporters';
 *
 * const bridge = new OpenTelemetryBridge(performanceMonitor, { meter: metrics.getMeter('earshot') });
 * bridge.recordTokenUsage({ inputTokens: 812, outputTokens: 64, provider: 'openai', model: 'gpt-4o-mini' });
 * ```
 */
export class OpenTelemetryBridge {
  private readonly meter: OtelMeterLike;
  private readonly rules: Map<string, OtelInstrumentRule | null>;
  private readonly histograms = new Map<string, OtelHistogramLike>();
  // Attributes per (operation, label set): the monitor hands out one frozen labels object per
  // series, so this turns the per-sample work into a WeakMap lookup.
  private readonly attributeCache = new WeakMap<NormalizedLabels, Map<string, OtelAttributes>>();
  private readonly unsubscribe: () => void;
  private tokenHistogram: OtelHistogramLike | undefined;
  private readonly observables: {
    instrument: OtelObservableLike;
    callback: (r: OtelObservableResultLike) => void;
  }[] = [];

  constructor(source: RecordSource, options: OpenTelemetryBridgeOptions) {
    this.meter = options.meter;
    this.rules = new Map(Object.entries({ ...DEFAULT_OTEL_RULES, ...options.rules }));
    this.unsubscribe = source.onRecord((e) => this.record(e));
    if (options.cache) this.observeCache(options.cache);
  }

  /** Records the token counts of one GenAI call into `gen_ai.client.token.usage`. */
  recordTokenUsage(usage: TokenUsage): void {
    this.tokenHistogram ??= this.meter.createHistogram('gen_ai.client.token.usage', {
      description: 'Number of input and output tokens used.',
      unit: '{token}',
      advice: { explicitBucketBoundaries: GEN_AI_TOKEN_BUCKETS },
    });
    const base: OtelAttributes = { 'gen_ai.operation.name': usage.operation ?? 'chat' };
    if (usage.provider) base['gen_ai.provider.name'] = usage.provider;
    if (usage.model) base['gen_ai.request.model'] = usage.model;
    if (usage.inputTokens !== undefined && usage.inputTokens >= 0) {
      this.tokenHistogram.record(usage.inputTokens, { ...base, 'gen_ai.token.type': 'input' });
    }
    if (usage.outputTokens !== undefined && usage.outputTokens >= 0) {
      this.tokenHistogram.record(usage.outputTokens, { ...base, 'gen_ai.token.type': 'output' });
    }
  }

  /** Stops recording and removes the cache callbacks. */
  close(): void {
    this.unsubscribe();
    for (const { instrument, callback } of this.observables) instrument.removeCallback(callback);
    this.observables.length = 0;
  }

  private record(e: RecordEvent): void {
    let byName = this.attributeCache.get(e.labels);
    if (!byName) {
      byName = new Map();
      this.attributeCache.set(e.labels, byName);
    }
    let attributes = byName.get(e.name);
    let rule = this.rules.get(e.name);
    if (rule === null) return;
    rule ??= { instrument: 'earshot.operation.duration', attributes: { 'earshot.operation': e.name } };
    if (!attributes) {
      attributes = toAttributes(rule, e.labels);
      byName.set(e.name, attributes);
    }
    this.histogram(rule.instrument).record(e.durationMs / 1000, attributes);
  }

  private histogram(name: string): OtelHistogramLike {
    let h = this.histograms.get(name);
    if (!h) {
      const spec = INSTRUMENTS[name];
      h = this.meter.createHistogram(name, {
        description: spec?.description ?? `earshot operation duration (${name}).`,
        unit: 's',
        advice: { explicitBucketBoundaries: spec?.buckets ?? VOICE_BUCKETS },
      });
      this.histograms.set(name, h);
    }
    return h;
  }

  private observeCache(cache: CacheStatsProvider): void {
    const hits = this.meter.createObservableCounter('earshot.cache.hits', {
      description: 'Cache reads served fresh from the cache.',
      unit: '{request}',
    });
    const misses = this.meter.createObservableCounter('earshot.cache.misses', {
      description: 'Cache reads that found nothing usable.',
      unit: '{request}',
    });
    const observeHits = (r: OtelObservableResultLike) => {
      for (const [ns, s] of namespaceStats(cache)) r.observe(s.hits, { 'earshot.cache.namespace': ns });
    };
    const observeMisses = (r: OtelObservableResultLike) => {
      for (const [ns, s] of namespaceStats(cache)) r.observe(s.misses, { 'earshot.cache.namespace': ns });
    };
    hits.addCallback(observeHits);
    misses.addCallback(observeMisses);
    this.observables.push(
      { instrument: hits, callback: observeHits },
      { instrument: misses, callback: observeMisses },
    );
  }
}

function toAttributes(rule: OtelInstrumentRule, labels: NormalizedLabels): OtelAttributes {
  const genAi = INSTRUMENTS[rule.instrument]?.genAi ?? rule.instrument.startsWith('gen_ai.');
  const out: OtelAttributes = { ...rule.attributes };
  for (const [k, v] of Object.entries(labels)) {
    if (k === 'outcome') {
      out['earshot.outcome'] = v;
      if (ERROR_OUTCOMES.has(v))
        out['error.type'] = labels.error_type ?? (v === 'timeout' ? 'timeout' : '_OTHER');
      continue;
    }
    if (genAi && k === 'provider') out['gen_ai.provider.name'] = v;
    else if (genAi && k === 'model') out['gen_ai.request.model'] = v;
    else if (k !== 'error_type') out[`earshot.${k}`] = v;
  }
  return out;
}

/** Options of {@link createOpenTelemetryBridge}: the meter is optional there. */
export type CreateOpenTelemetryBridgeOptions = Omit<OpenTelemetryBridgeOptions, 'meter'> & {
  /** Default: `metrics.getMeter(meterName)` from `@opentelemetry/api`. */
  meter?: OtelMeterLike;
  /** Default `earshot`. */
  meterName?: string;
};

/**
 * Like `new OpenTelemetryBridge(...)`, but takes the meter from the global `MeterProvider`
 * of `@opentelemetry/api` when none is given. Throws `MissingDependencyError` when the
 * package is not installed.
 */
export async function createOpenTelemetryBridge(
  source: RecordSource,
  options: CreateOpenTelemetryBridgeOptions = {},
): Promise<OpenTelemetryBridge> {
  const { meter, meterName, ...rest } = options;
  if (meter) return new OpenTelemetryBridge(source, { ...rest, meter });
  let api: typeof import('@opentelemetry/api');
  try {
    api = await import('@opentelemetry/api');
  } catch (err) {
    throw new MissingDependencyError('@opentelemetry/api', 'The OpenTelemetry bridge', { cause: err });
  }
  return new OpenTelemetryBridge(source, { ...rest, meter: api.metrics.getMeter(meterName ?? 'earshot') });
}
