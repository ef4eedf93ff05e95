/**
 * Scripted, in-process fake stages for pipeline tests and benchmarks: no network, seeded
 * latencies, honest cancellation (every timer is cleared when the signal aborts).
 *
 * - {@link FakeSpeechToText} reads the transcript out of fake speech (`synthesizeFakeSpeech`),
 *   one-shot or as a streaming session.
 * - {@link FakeLanguageModel} streams scripted replies and tool calls, or follows the built-in
 *   rules (`planFakeReply`: load, inventory and equipment questions call the company-API tools).
 * - {@link FakeTextToSpeech} produces fake speech that carries its text, so TTS → STT round-trips.
 * - {@link FakeDocumentSearch}, {@link FakeEmbedder}, {@link InMemoryVectorIndex}: search without a service.
 *
 * Latencies come from {@link LatencyProfile}s; see `stageLatencyProfiles` for the source
 * design's before/after figures.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { abortableSleep, abortReason } from '../internal/abort.js';
import type {
  AudioChunk,
  AudioFormat,
  AudioInput,
  ChatMessage,
  DocumentSearch,
  Embedder,
  GenerateOptions,
  LanguageModel,
  LanguageModelEvent,
  SearchOptions,
  SearchResult,
  SpeechToText,
  SpeechToTextEvent,
  SpeechToTextSession,
  StageCallOptions,
  SynthesizeOptions,
  TextToSpeech,
  ToolCall,
  ToolDefinition,
  TranscribeOptions,
  Transcript,
  VectorIndex,
  VectorRecord,
} from '../pipeline/contracts.js';
import { synthesizeFakeSpeech, transcribeFakeSpeech } from './audio.js';
import { cosineSimilarity, fakeEmbed } from './fake-embedding.js';
import { type FakeRulesMessage, fakeTokens, planFakeReply } from './fake-llm-rules.js';
import { createRng, LatencyModel, type LatencyProfile, type Rng } from './latency.js';

/** Call logs (`calls`, `texts`, `queries`) keep the last this many entries, so long runs do not grow without bound. */
export const FAKE_LOG_LIMIT = 1000;

function log<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > FAKE_LOG_LIMIT) list.shift();
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

async function collect(audio: AudioInput, signal: AbortSignal | undefined): Promise<Uint8Array> {
  if (audio instanceof Uint8Array) return audio;
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of audio) {
    throwIfAborted(signal);
    parts.push(chunk);
    n += chunk.byteLength;
  }
  throwIfAborted(signal);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * Paces one streamed call: waits until given times, with one abort listener for the whole
 * call (a reply has dozens of tokens; a listener per wait would cost more than the fake).
 */
class Pacer {
  readonly #signal: AbortSignal | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reject: ((err: unknown) => void) | undefined;
  readonly #onAbort = (): void => {
    clearTimeout(this.#timer);
    this.#reject?.(abortReason(this.#signal as AbortSignal));
  };

  constructor(signal: AbortSignal | undefined) {
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Waits `ms` (nothing below 1 ms, which timers cannot honour); throws when aborted. */
  wait(ms: number): Promise<void> | undefined {
    throwIfAborted(this.#signal);
    if (!(ms >= 1)) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.#reject = reject;
      this.#timer = setTimeout(() => {
        this.#reject = undefined;
        resolve();
      }, ms);
    });
  }

  /** Waits until `performance.now()` reaches `due`. */
  until(due: number): Promise<void> | undefined {
    return this.wait(due - performance.now());
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}

// ───────────────────────────── STT ─────────────────────────────

/** Options of {@link FakeSpeechToText}. */
export interface FakeSpeechToTextOptions {
  /** `provider` label. Default `fake`. */
  provider?: string;
  /** Default `fake-stt`. */
  model?: string;
  /** End of audio (or `finalize()`) → final transcript. Default none. */
  latency?: LatencyProfile;
  seed?: number | string;
  /** Replaces the transcript read from the audio. */
  transcript?: string | ((audio: Uint8Array) => string);
  /** Makes call number `call` (from 0) fail with the returned error, after the latency. */
  fail?: (call: number) => Error | undefined;
  /** Offer `stream()` sessions. Default true. */
  streaming?: boolean;
  /**
   * Streaming sessions: the endpointing delay. With it, the final transcript after
   * `finalize()` says `speechFinal: false` and the `end-of-speech` event (with
   * `lastWordEndSeconds`) follows this much later, the way a provider confirms the end of a
   * turn only after a stretch of silence. Default none (both at once, as before).
   */
  endOfTurnDelayMs?: LatencyProfile;
}

/**
 * A speech-to-text stage that reads fake speech back to text.
 *
 * @example
 * ```ts
 * const stt = new FakeSpeechToText({ latency: stageLatencyProfiles.sourceDesignAfter.stt, seed: 1 });
 * (await stt.transcribe(synthesizeFakeSpeech('Where is load 2314?'))).text; // 'Where is load 2314?'
 * ```
 */
export class FakeSpeechToText implements SpeechToText {
  readonly provider: string;
  readonly model: string;
  /** Opens a streaming session (absent with `streaming: false`). */
  readonly stream?: (
    options?: TranscribeOptions & { interimResults?: boolean },
  ) => Promise<SpeechToTextSession>;
  readonly latency: LatencyModel;
  /** The endpointing delay of streaming sessions, when set. */
  readonly endOfTurnDelay: LatencyModel | undefined;
  #calls = 0;
  readonly #options: FakeSpeechToTextOptions;

  constructor(options: FakeSpeechToTextOptions = {}) {
    this.provider = options.provider ?? 'fake';
    this.model = options.model ?? 'fake-stt';
    this.latency = new LatencyModel(options.latency ?? { kind: 'none' }, { seed: options.seed ?? 1 });
    this.#options = options;
    this.endOfTurnDelay =
      options.endOfTurnDelayMs === undefined
        ? undefined
        : new LatencyModel(options.endOfTurnDelayMs, { seed: `${options.seed ?? 1}:eot` });
    if (options.streaming !== false) {
      this.stream = async (o = {}) => {
        throwIfAborted(o.signal);
        return new FakeSpeechToTextSession(this, o);
      };
    }
  }

  /** Number of transcriptions (one-shot and finalized session segments) so far. */
  get calls(): number {
    return this.#calls;
  }

  /** @internal */
  textOf(audio: Uint8Array): string {
    const t = this.#options.transcript;
    if (typeof t === 'string') return t;
    if (typeof t === 'function') return t(audio);
    return transcribeFakeSpeech(audio);
  }

  /** @internal Next call number; throws the scripted failure if any. */
  nextCall(): number {
    return this.#calls++;
  }

  /** @internal */
  failure(call: number): Error | undefined {
    return this.#options.fail?.(call);
  }

  async transcribe(audio: AudioInput, options: TranscribeOptions = {}): Promise<Transcript> {
    const bytes = await collect(audio, options.signal);
    const call = this.nextCall();
    await abortableSleep(this.latency.sample(), options.signal, abortReason);
    const err = this.failure(call);
    if (err) throw err;
    return {
      text: this.textOf(bytes),
      isFinal: true,
      confidence: 0.99,
      durationSeconds: bytes.byteLength / 32_000,
      requestId: `fake-stt-${call}`,
    };
  }
}

/** A streaming session of {@link FakeSpeechToText}: a final transcript after each `finalize()`. */
class FakeSpeechToTextSession implements SpeechToTextSession {
  readonly #stt: FakeSpeechToText;
  readonly #signal: AbortSignal | undefined;
  readonly #interim: boolean;
  #chunks: Uint8Array[] = [];
  readonly #queue: SpeechToTextEvent[] = [];
  #waiter: (() => void) | undefined;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #closing = false;
  #ended = false;
  #error: Error | undefined;
  #started = false;
  readonly #t0 = performance.now();
  readonly #onAbort = (): void => {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#error = abortReason(this.#signal as AbortSignal);
    this.#ended = true;
    this.#wake();
  };

  constructor(stt: FakeSpeechToText, options: TranscribeOptions & { interimResults?: boolean }) {
    this.#stt = stt;
    this.#signal = options.signal;
    this.#interim = options.interimResults ?? false;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  #push(ev: SpeechToTextEvent): void {
    this.#queue.push(ev);
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  #endIfIdle(): void {
    if (this.#closing && this.#timers.size === 0 && !this.#ended) {
      this.#ended = true;
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#wake();
    }
  }

  send(chunk: Uint8Array): void {
    if (this.#ended || this.#closing)
      throw new InvalidArgumentError('send() after close(): open a new session.');
    if (!this.#started) {
      this.#started = true;
      this.#push({ type: 'speech-started', atMs: performance.now() - this.#t0 });
    }
    this.#chunks.push(chunk);
    if (this.#interim) {
      const text = transcribeFakeSpeech(concat(this.#chunks));
      if (text) this.#push({ type: 'transcript', transcript: { text, isFinal: false } });
    }
  }

  finalize(): void {
    if (this.#ended) return;
    const bytes = concat(this.#chunks);
    this.#chunks = [];
    const call = this.#stt.nextCall();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const err = this.#stt.failure(call);
      if (err) {
        this.#error = err;
        this.#ended = true;
        this.#wake();
        return;
      }
      const text = this.#stt.textOf(bytes);
      const delay = this.#stt.endOfTurnDelay;
      const transcript: Transcript = { text, isFinal: true, confidence: 0.99, requestId: `fake-stt-${call}` };
      if (delay) transcript.speechFinal = false;
      this.#push({ type: 'transcript', transcript });
      if (!delay) {
        this.#push({ type: 'end-of-speech', atMs: performance.now() - this.#t0, transcript: text });
        this.#endIfIdle();
        return;
      }
      const lastWordEndSeconds = bytes.byteLength / 32_000;
      const endpoint = setTimeout(() => {
        this.#timers.delete(endpoint);
        this.#push({
          type: 'end-of-speech',
          atMs: performance.now() - this.#t0,
          transcript: text,
          lastWordEndSeconds,
        });
        this.#endIfIdle();
      }, delay.sample());
      this.#timers.add(endpoint);
    }, this.#stt.latency.sample());
    this.#timers.add(timer);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#endIfIdle();
  }

  [Symbol.asyncIterator](): AsyncIterator<SpeechToTextEvent> {
    const next = async (): Promise<IteratorResult<SpeechToTextEvent>> => {
      for (;;) {
        const ev = this.#queue.shift();
        if (ev) return { value: ev, done: false };
        if (this.#error) throw this.#error;
        if (this.#ended) return { value: undefined, done: true };
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
        });
      }
    };
    return {
      next,
      return: async () => {
        this.#closing = true;
        for (const t of this.#timers) clearTimeout(t);
        this.#timers.clear();
        this.#endIfIdle();
        return { value: undefined, done: true };
      },
    };
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

// ───────────────────────────── LLM ─────────────────────────────

/** One scripted reply of {@link FakeLanguageModel}: text, tool calls, or a failure. */
export type FakeLlmReply =
  | string
  | {
      text?: string;
      /** Emitted after the text. `arguments` may be an object (serialized) or raw JSON text. */
      toolCalls?: { name: string; arguments?: unknown; id?: string }[];
      /** Thrown after the time to first token, before any output (a fallback may take over). */
      error?: Error;
      /** With `error`: throw after this many text tokens instead (output already went out). */
      errorAfterTokens?: number;
      finishReason?: 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'other';
    };

/** Options of {@link FakeLanguageModel}. */
export interface FakeLanguageModelOptions {
  /** Default `fake`. */
  provider?: string;
  /** Default `fake-llm`. */
  model?: string;
  /** Time to first token and token rate. Default: instant. */
  latency?: { ttft?: LatencyProfile; tokensPerSecond?: number };
  seed?: number | string;
  /** Replies used one per call, in order; after the last one, `respond` or the rules answer. */
  script?: FakeLlmReply[];
  /** Custom replies: return `undefined` to fall through to the built-in rules. */
  respond?: (messages: readonly ChatMessage[], tools: readonly ToolDefinition[]) => FakeLlmReply | undefined;
  /**
   * Built-in rules (default true): a question about a load, inventory or equipment calls the
   * matching company-API tool when it is offered; tool results become a short spoken answer;
   * anything else gets a canned answer of a few sentences.
   */
  rules?: boolean;
}

/** A call the fake model received. */
export interface FakeLanguageModelCall {
  messages: ChatMessage[];
  tools: ToolDefinition[];
}

/**
 * A streaming language model that follows a script or simple rules.
 *
 * @example
 * ```ts
 * const llm = new FakeLanguageModel({
 *   script: [{ toolCalls: [{ name: 'get_load_status', arguments: { load_id: '2314' } }] }, 'Load 2314 is in transit.'],
 *   latency: { ttft: 120, tokensPerSecond: 300 },
 * });
 * ```
 */
export class FakeLanguageModel implements LanguageModel {
  readonly provider: string;
  readonly model: string;
  readonly ttft: LatencyModel;
  readonly tokensPerSecond: number;
  /** The calls received (messages and offered tools), oldest first; the last {@link FAKE_LOG_LIMIT}. */
  readonly calls: FakeLanguageModelCall[] = [];
  #callCount = 0;
  readonly #script: FakeLlmReply[];
  readonly #options: FakeLanguageModelOptions;
  readonly #rng: Rng;
  #seq = 0;

  constructor(options: FakeLanguageModelOptions = {}) {
    this.provider = options.provider ?? 'fake';
    this.model = options.model ?? 'fake-llm';
    this.#rng = createRng(options.seed ?? 1);
    this.ttft = new LatencyModel(options.latency?.ttft ?? { kind: 'none' }, { rng: this.#rng });
    const tps = options.latency?.tokensPerSecond ?? Number.POSITIVE_INFINITY;
    if (!(tps > 0)) throw new InvalidArgumentError('tokensPerSecond must be > 0 (Infinity for no pacing).');
    this.tokensPerSecond = tps;
    this.#script = [...(options.script ?? [])];
    this.#options = options;
  }

  /** Scripted replies not used yet. */
  get remainingScript(): number {
    return this.#script.length;
  }

  #plan(messages: readonly ChatMessage[], tools: readonly ToolDefinition[]): Exclude<FakeLlmReply, string> {
    const scripted = this.#script.shift() ?? this.#options.respond?.(messages, tools);
    if (scripted !== undefined) return typeof scripted === 'string' ? { text: scripted } : scripted;
    if (this.#options.rules === false) return { text: 'OK.' };
    const plan = planFakeReply(messages.map(toRulesMessage), tools, { seed: this.#rng.int(2 ** 31) });
    if (plan.kind === 'text') return { text: plan.text };
    return { toolCalls: plan.calls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })) };
  }

  async *stream(
    messages: readonly ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncIterable<LanguageModelEvent> {
    const signal = options.signal;
    throwIfAborted(signal);
    const tools = [...(options.tools ?? [])];
    log(this.calls, { messages: messages.slice(), tools });
    const callNumber = ++this.#callCount;
    const plan = this.#plan(messages, tools);
    const start = performance.now();
    const ttft = this.ttft.sample();
    const pacer = new Pacer(signal);
    let tokens: string[];
    try {
      await pacer.wait(ttft);
      if (plan.error && plan.errorAfterTokens === undefined) throw plan.error;
      tokens = fakeTokens(plan.text ?? '');
      const interval = 1000 / this.tokensPerSecond;
      const paced = Number.isFinite(interval);
      for (let k = 0; k < tokens.length; k++) {
        if (plan.error && k === plan.errorAfterTokens) throw plan.error;
        if (paced) await pacer.until(start + ttft + k * interval);
        throwIfAborted(signal);
        yield { type: 'text-delta', text: tokens[k] as string };
      }
      if (plan.error) throw plan.error;
    } finally {
      pacer.dispose();
    }
    const calls: ToolCall[] = (plan.toolCalls ?? []).map((c) => ({
      id: c.id ?? `call_fake_${++this.#seq}`,
      name: c.name,
      arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {}),
    }));
    for (const call of calls) {
      throwIfAborted(signal);
      yield { type: 'tool-call', call };
    }
    let inputChars = 0;
    for (const m of messages) inputChars += m.content.length;
    yield {
      type: 'usage',
      usage: {
        inputTokens: Math.ceil(inputChars / 4),
        outputTokens: tokens.length + calls.length * 8,
        totalTokens: Math.ceil(inputChars / 4) + tokens.length + calls.length * 8,
      },
    };
    yield {
      type: 'finish',
      reason: plan.finishReason ?? (calls.length > 0 ? 'tool-calls' : 'stop'),
      requestId: `fake-llm-${callNumber}`,
    };
  }
}

function toRulesMessage(m: ChatMessage): FakeRulesMessage {
  if (m.role === 'assistant') {
    const out: FakeRulesMessage = { role: 'assistant', content: m.content };
    if (m.toolCalls) out.toolCalls = m.toolCalls.map((c) => ({ id: c.id, name: c.name }));
    return out;
  }
  if (m.role === 'tool') return { role: 'tool', content: m.content, toolCallId: m.toolCallId, name: m.name };
  return { role: m.role, content: m.content };
}

// ───────────────────────────── TTS ─────────────────────────────

/** Options of {@link FakeTextToSpeech}. */
export interface FakeTextToSpeechOptions {
  /** Default `fake`. */
  provider?: string;
  /** Voice/model id. Default `fake-voice`. */
  model?: string;
  /** Default `pcm_16000`. The fake makes raw PCM for any `<codec>_<rate>` and RIFF for `wav`. */
  defaultFormat?: AudioFormat;
  /** Time to first byte and delivery rate. Default: instant. */
  latency?: { ttfb?: LatencyProfile; bytesPerSecond?: number };
  seed?: number | string;
  /** Bytes per audio chunk. Default 8192. */
  chunkBytes?: number;
  /** Spoken length per character (ms); smaller is cheaper to generate. Default 55. */
  msPerChar?: number;
  /** Makes call number `call` (from 0, text `text`) fail with the returned error, after the time to first byte. */
  fail?: (text: string, call: number) => Error | undefined;
}

/**
 * A text-to-speech stage that produces fake speech carrying its text.
 *
 * @example
 * ```ts
 * const tts = new FakeTextToSpeech({ latency: { ttfb: 85, bytesPerSecond: 160_000 } });
 * for await (const chunk of tts.synthesize('Hello.')) speaker.write(chunk.data);
 * ```
 */
export class FakeTextToSpeech implements TextToSpeech {
  readonly provider: string;
  readonly model: string;
  readonly defaultFormat: AudioFormat;
  readonly ttfb: LatencyModel;
  readonly bytesPerSecond: number;
  /** The texts synthesized, in call order; the last {@link FAKE_LOG_LIMIT}. */
  readonly texts: string[] = [];
  #calls = 0;
  readonly #chunkBytes: number;
  readonly #msPerChar: number;
  readonly #fail: FakeTextToSpeechOptions['fail'];
  readonly #memo = new Map<string, Uint8Array>();

  constructor(options: FakeTextToSpeechOptions = {}) {
    this.provider = options.provider ?? 'fake';
    this.model = options.model ?? 'fake-voice';
    this.defaultFormat = options.defaultFormat ?? 'pcm_16000';
    this.ttfb = new LatencyModel(options.latency?.ttfb ?? { kind: 'none' }, { seed: options.seed ?? 1 });
    const bps = options.latency?.bytesPerSecond ?? Number.POSITIVE_INFINITY;
    if (!(bps > 0)) throw new InvalidArgumentError('bytesPerSecond must be > 0 (Infinity for no pacing).');
    this.bytesPerSecond = bps;
    this.#chunkBytes = options.chunkBytes ?? 8192;
    if (!Number.isInteger(this.#chunkBytes) || this.#chunkBytes < 2) {
      throw new InvalidArgumentError('chunkBytes must be an integer ≥ 2.');
    }
    this.#msPerChar = options.msPerChar ?? 55;
    this.#fail = options.fail;
  }

  async *synthesize(text: string, options: SynthesizeOptions = {}): AsyncIterable<AudioChunk> {
    const signal = options.signal;
    throwIfAborted(signal);
    const call = this.#calls++;
    log(this.texts, text);
    const format = options.format ?? this.defaultFormat;
    const start = performance.now();
    const ttfb = this.ttfb.sample();
    const pacer = new Pacer(signal);
    try {
      await pacer.wait(ttfb);
      const err = this.#fail?.(text, call);
      if (err) throw err;
      const audio = this.#audio(text, format);
      const paced = Number.isFinite(this.bytesPerSecond);
      for (let o = 0; o < audio.byteLength; o += this.#chunkBytes) {
        if (paced && o > 0) await pacer.until(start + ttfb + (o / this.bytesPerSecond) * 1000);
        throwIfAborted(signal);
        yield { data: audio.subarray(o, Math.min(audio.byteLength, o + this.#chunkBytes)), format };
      }
    } finally {
      pacer.dispose();
    }
  }

  /**
   * Fake speech for `text`, memoized (the last 256 texts): generating the tone costs more CPU
   * than everything a pipeline does with it, and benchmarks should measure the pipeline.
   * Chunks are views of the shared buffer: do not write into them.
   */
  #audio(text: string, format: AudioFormat): Uint8Array {
    const key = `${format}|${text}`;
    const hit = this.#memo.get(key);
    if (hit) return hit;
    const audio = synthesizeFakeSpeech(text, { format, msPerChar: this.#msPerChar });
    if (this.#memo.size >= 256) this.#memo.delete(this.#memo.keys().next().value as string);
    this.#memo.set(key, audio);
    return audio;
  }

  async *synthesizeStream(
    text: AsyncIterable<string>,
    options: SynthesizeOptions = {},
  ): AsyncIterable<AudioChunk> {
    for await (const piece of text) {
      throwIfAborted(options.signal);
      if (piece.trim().length > 0) yield* this.synthesize(piece, options);
    }
  }
}

// ───────────────────────────── search ─────────────────────────────

/** A document for {@link FakeDocumentSearch}. */
export interface FakeSearchDocument {
  id: string;
  text: string;
  metadata?: Record<string, unknown>;
}

/**
 * An in-memory document search over {@link fakeEmbed} vectors (cosine similarity).
 *
 * @example
 * ```ts
 * const search = new FakeDocumentSearch([{ id: 'p1', text: 'Report a damaged trailer to dispatch within one hour.' }]);
 * await search.search('damaged trailer'); // [{ id: 'p1', score: 0.6, text: ... }]
 * ```
 */
export class FakeDocumentSearch implements DocumentSearch {
  readonly provider: string;
  readonly model: string;
  readonly latency: LatencyModel;
  /** The queries received, in order; the last {@link FAKE_LOG_LIMIT}. */
  readonly queries: string[] = [];
  readonly #docs: { doc: FakeSearchDocument; vector: number[] }[];

  constructor(
    documents: readonly FakeSearchDocument[],
    options: { provider?: string; model?: string; latency?: LatencyProfile; seed?: number | string } = {},
  ) {
    this.provider = options.provider ?? 'fake';
    this.model = options.model ?? 'fake-index';
    this.latency = new LatencyModel(options.latency ?? { kind: 'none' }, { seed: options.seed ?? 1 });
    this.#docs = documents.map((doc) => ({ doc, vector: fakeEmbed(doc.text, 256) }));
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    log(this.queries, query);
    await abortableSleep(this.latency.sample(), options.signal, abortReason);
    const q = fakeEmbed(query, 256);
    return this.#docs
      .map(({ doc, vector }) => {
        const r: SearchResult = { id: doc.id, score: cosineSimilarity(q, vector), text: doc.text };
        if (doc.metadata) r.metadata = doc.metadata;
        return r;
      })
      .sort((a, b) => b.score - a.score)
      .slice(0, options.topK ?? 5);
  }
}

/** An {@link Embedder} over {@link fakeEmbed}: deterministic, no model. */
export class FakeEmbedder implements Embedder {
  readonly provider = 'fake';
  readonly model = 'fake-embedding';
  readonly dimensions: number;
  /** Texts embedded so far; the last {@link FAKE_LOG_LIMIT}. */
  readonly texts: string[] = [];

  constructor(dimensions = 256) {
    this.dimensions = dimensions;
  }

  async embed(texts: readonly string[], options: StageCallOptions = {}): Promise<number[][]> {
    throwIfAborted(options.signal);
    for (const t of texts) log(this.texts, t);
    return texts.map((t) => fakeEmbed(t, this.dimensions));
  }
}

/** A {@link VectorIndex} in memory (cosine similarity, exact search; filters on equal metadata values). */
export class InMemoryVectorIndex implements VectorIndex {
  readonly provider = 'memory';
  readonly model: string;
  readonly #namespaces = new Map<string, Map<string, VectorRecord>>();

  constructor(name = 'memory-index') {
    this.model = name;
  }

  async upsert(
    records: readonly VectorRecord[],
    options: StageCallOptions & { namespace?: string } = {},
  ): Promise<void> {
    throwIfAborted(options.signal);
    const ns = options.namespace ?? '';
    let map = this.#namespaces.get(ns);
    if (!map) {
      map = new Map();
      this.#namespaces.set(ns, map);
    }
    for (const r of records) map.set(r.id, r);
  }

  async query(vector: readonly number[], options: SearchOptions = {}): Promise<SearchResult[]> {
    throwIfAborted(options.signal);
    const map = this.#namespaces.get(options.namespace ?? '') ?? new Map<string, VectorRecord>();
    const filter = options.filter ?? {};
    const out: SearchResult[] = [];
    for (const r of map.values()) {
      if (!Object.entries(filter).every(([k, v]) => r.metadata?.[k] === v)) continue;
      const res: SearchResult = { id: r.id, score: cosineSimilarity(vector, r.values) };
      if (r.metadata) {
        res.metadata = r.metadata;
        if (typeof r.metadata.text === 'string') res.text = r.metadata.text;
      }
      out.push(res);
    }
    return out.sort((a, b) => b.score - a.score).slice(0, options.topK ?? 5);
  }
}
