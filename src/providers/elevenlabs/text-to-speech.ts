/**
 * `ElevenLabsTextToSpeech`: the {@link TextToSpeech} stage over `@elevenlabs/elevenlabs-js` v2
 * (the maintained successor of the deprecated `elevenlabs` package): streaming HTTP
 * (`textToSpeech.stream`) and the WebSocket stream-input mode (`synthesizeStream`, over `ws`).
 * @module
 */

import { ConfigError, InvalidArgumentError } from '../../errors.js';
import { raceAbort, throwIfAborted } from '../../internal/abort.js';
import { OP } from '../../perf/operations.js';
import type {
  AudioChunk,
  AudioFormat,
  SynthesisPrewarmOptions,
  SynthesizeOptions,
  TextToSpeech,
} from '../../pipeline/contracts.js';
import {
  CallControl,
  type CallOutcome,
  type LatencyRecorder,
  lazyAsync,
  NO_RECORDING,
  outcomeOf,
  raceControl,
  resolveApiKey,
} from '../shared/index.js';
import { malformed, mapElevenLabsError, PROVIDER, requestIdOf } from './errors.js';
import { MultiStreamConnection, multiStreamSynthesis, webSocketUrl } from './multi-stream.js';
import {
  ELEVENLABS_OUTPUT_FORMATS,
  type ElevenLabsOutputFormat,
  type ElevenLabsTextToSpeechOptions,
  type ElevenLabsUsage,
  parseElevenLabsOptions,
  type ResolvedElevenLabsOptions,
} from './options.js';
import { type ElevenLabsSdk, loadElevenLabsSdk, loadWs, type WsClass } from './sdk.js';
import { streamInput } from './stream-input.js';

type ElevenLabsClient = InstanceType<ElevenLabsSdk['ElevenLabsClient']>;

const DEFAULT_BASE_URL = 'https://api.elevenlabs.io';
/**
 * An HTTP call this recent means the fetch pool still holds an open connection (Node's pool
 * keeps an idle socket about 4 s), so `prewarm()` sends nothing.
 */
const HTTP_WARM_FOR_MS = 2000;

/** Waits one macrotask: Node's fetch pool takes a socket back a tick after the body ends. */
const socketReleased = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function isAudioContentType(type: string | null): boolean {
  if (!type) return true; // a proxy may strip it; the bytes decide
  const t = type.toLowerCase();
  return t.startsWith('audio/') || t.startsWith('application/octet-stream');
}

/** Voice settings without the keys left unset (the SDK type rejects explicit undefined). */
function voiceSettingsOf(v: ResolvedElevenLabsOptions['voiceSettings']) {
  return {
    stability: v.stability,
    similarityBoost: v.similarityBoost,
    ...(v.style === undefined ? {} : { style: v.style }),
    ...(v.useSpeakerBoost === undefined ? {} : { useSpeakerBoost: v.useSpeakerBoost }),
    ...(v.speed === undefined ? {} : { speed: v.speed }),
  };
}

/** Cumulative counters of one adapter instance. */
export interface ElevenLabsUsageTotals {
  /** Syntheses started (HTTP requests and stream-input sessions). */
  requests: number;
  /** Characters of text sent. */
  characters: number;
  /** Characters billed, summed over answers that reported it. */
  characterCost: number;
}

/**
 * Text-to-speech over ElevenLabs (`@elevenlabs/elevenlabs-js`, an optional peer:
 * `npm install @elevenlabs/elevenlabs-js`; plus `ws` for {@link ElevenLabsTextToSpeech.synthesizeStream}).
 *
 * - `synthesize(text)`: one streaming HTTP request (`POST /v1/text-to-speech/{voice}/stream`);
 *   audio chunks are yielded as they arrive.
 * - `synthesizeStream(textPieces)`: the WebSocket `multi-stream-input` mode (default); text goes
 *   in while the language model writes, audio comes out as soon as ElevenLabs has enough. One
 *   connection is kept and reused across calls (a context per call); `prewarm()` opens it before
 *   the first sentence is ready, `close()` closes it.
 *
 * Recorded in the monitor (labels `provider`, `model`, `mode: 'http' | 'websocket'`, `outcome`
 * `ok` | `error` | `timeout` | `aborted`):
 * `tts_ttfb` (time to the first audio byte) and `tts` (until the last byte). Characters go to
 * `onUsage` and {@link ElevenLabsTextToSpeech.usage}.
 *
 * @example
 * ```ts
 * import { ElevenLabsTextToSpeech } from 'earshot/elevenlabs';
 * const tts = await ElevenLabsTextToSpeech.create({ voiceId: '21m00Tcm4TlvDq8ikWAM' }); // key from ELEVENLABS_API_KEY
 * for await (const chunk of tts.synthesize('Load 2314 is in transit.')) speaker.write(chunk.data);
 * ```
 */
export class ElevenLabsTextToSpeech implements TextToSpeech {
  readonly provider = PROVIDER;
  readonly model: string;
  readonly defaultFormat: AudioFormat;
  readonly #options: Omit<ResolvedElevenLabsOptions, 'apiKey'>;
  readonly #apiKey: string;
  readonly #monitor: LatencyRecorder;
  readonly #usage: ElevenLabsUsageTotals = { requests: 0, characters: 0, characterCost: 0 };
  /** multi-stream-input connections kept for reuse, one per output format. */
  readonly #connections = new Map<string, MultiStreamConnection>();
  /** `performance.now()` when an HTTP call last left the fetch pool a warm connection. */
  #httpUsedAt = Number.NEGATIVE_INFINITY;
  #httpPrewarm: Promise<void> | undefined;
  readonly #getClient = lazyAsync(() =>
    loadElevenLabsSdk().then(
      (sdk): ElevenLabsClient =>
        new sdk.ElevenLabsClient({
          apiKey: this.#apiKey,
          baseUrl: this.#options.baseUrl ?? DEFAULT_BASE_URL,
          maxRetries: this.#options.maxRetries,
          timeoutInSeconds: this.#options.timeoutMs / 1000,
        }),
    ),
  );

  /**
   * Validates options (ConfigError on bad ones) and resolves the API key (ConfigError naming
   * `ELEVENLABS_API_KEY` when absent). Does not load the SDK yet.
   */
  constructor(options: ElevenLabsTextToSpeechOptions = {}) {
    const { apiKey, ...rest } = parseElevenLabsOptions(options);
    this.#apiKey = resolveApiKey(apiKey, 'ELEVENLABS_API_KEY', 'ElevenLabs');
    if (rest.idleConnectionMs >= rest.inactivityTimeoutSeconds * 1000) {
      throw new ConfigError(
        [
          {
            path: 'idleConnectionMs',
            message: `must stay below inactivityTimeoutSeconds × 1000 (${rest.inactivityTimeoutSeconds * 1000}): ElevenLabs closes an idle connection then`,
          },
        ],
        { source: 'ElevenLabsTextToSpeech options' },
      );
    }
    this.#options = rest;
    this.model = rest.modelId;
    this.defaultFormat = rest.outputFormat;
    // Only a monitor given explicitly: the pipeline is the default recorder of stage calls.
    this.#monitor = rest.monitor === undefined || rest.monitor === false ? NO_RECORDING : rest.monitor;
  }

  /**
   * Creates the adapter and loads the SDK now, so a missing `@elevenlabs/elevenlabs-js` fails
   * at startup with a MissingDependencyError instead of on the first call.
   */
  static async create(options: ElevenLabsTextToSpeechOptions = {}): Promise<ElevenLabsTextToSpeech> {
    const tts = new ElevenLabsTextToSpeech(options);
    await tts.#getClient();
    return tts;
  }

  /** Voice used by every call. */
  get voiceId(): string {
    return this.#options.voiceId;
  }

  /** Totals since this instance was created. */
  get usage(): Readonly<ElevenLabsUsageTotals> {
    return { ...this.#usage };
  }

  #format(requested: AudioFormat | undefined): ElevenLabsOutputFormat {
    const f = requested ?? this.#options.outputFormat;
    if (!(ELEVENLABS_OUTPUT_FORMATS as readonly string[]).includes(f)) {
      throw new InvalidArgumentError(
        `ElevenLabs cannot produce audio format "${f}". Use one of: ${ELEVENLABS_OUTPUT_FORMATS.join(', ')}.`,
      );
    }
    return f as ElevenLabsOutputFormat;
  }

  #report(usage: ElevenLabsUsage): void {
    this.#usage.characters += usage.characters;
    this.#usage.characterCost += usage.characterCost ?? 0;
    this.#options.onUsage?.(usage);
  }

  /**
   * Synthesizes `text` with one streaming HTTP request. Chunks are yielded as they arrive;
   * breaking out of the loop (or aborting `signal`) cancels the request.
   */
  async *synthesize(text: string, options: SynthesizeOptions = {}): AsyncGenerator<AudioChunk> {
    if (typeof text !== 'string' || text.trim() === '') {
      throw new InvalidArgumentError('ElevenLabs synthesize() needs non-empty text.');
    }
    throwIfAborted(options.signal, 'ElevenLabs synthesis');
    const o = this.#options;
    const format = this.#format(options.format);
    const client = await this.#getClient();
    const what = 'ElevenLabs synthesis';
    const labels = { provider: PROVIDER, model: o.modelId, mode: 'http' };
    const control = new CallControl(options.signal);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let requestId: string | undefined;
    let firstByteAt: number | undefined;
    let done = false;
    let failed = false;
    this.#usage.requests++;
    const started = performance.now();
    const recordEnd = (outcome: CallOutcome) => {
      const now = performance.now();
      if (firstByteAt === undefined) this.#monitor.record(OP.ttsTtfb, now - started, { ...labels, outcome });
      this.#monitor.record(OP.tts, now - started, { ...labels, outcome });
    };
    // One deadline, re-armed before every read: time to first byte, then each gap between chunks.
    control.arm(o.timeoutMs);
    try {
      const call = client.textToSpeech
        .stream(
          o.voiceId,
          {
            text,
            modelId: o.modelId,
            outputFormat: format,
            ...(o.optimizeStreamingLatency === undefined
              ? {}
              : { optimizeStreamingLatency: o.optimizeStreamingLatency }),
            voiceSettings: voiceSettingsOf(o.voiceSettings),
            ...(o.languageCode ? { languageCode: o.languageCode } : {}),
          },
          { abortSignal: control.signal, maxRetries: o.maxRetries, timeoutInSeconds: o.timeoutMs / 1000 },
        )
        .withRawResponse();
      const { data, rawResponse } = await raceControl(call, control, () => undefined);
      requestId = requestIdOf(rawResponse.headers);
      const type = rawResponse.headers.get('content-type');
      if (!isAudioContentType(type)) {
        void data.cancel().catch(() => {});
        throw malformed(what, 'content-type', `expected audio, got "${type}"`, requestId);
      }
      reader = data.getReader();
      for (;;) {
        control.arm(o.timeoutMs);
        const next = await raceControl(reader.read(), control, () => undefined);
        control.disarm();
        if (next.done) break;
        const value = next.value;
        if (!value || value.byteLength === 0) continue;
        if (firstByteAt === undefined) {
          firstByteAt = performance.now();
          this.#monitor.record(OP.ttsTtfb, firstByteAt - started, { ...labels, outcome: 'ok' });
        }
        yield { data: value, format };
      }
      if (firstByteAt === undefined) throw malformed(what, '(body)', 'the audio stream was empty', requestId);
      done = true;
      recordEnd('ok');
      const costHeader =
        rawResponse.headers.get('character-cost') ?? rawResponse.headers.get('x-character-count');
      const cost = costHeader === null ? undefined : Number(costHeader);
      this.#report({
        mode: 'http',
        characters: text.length,
        ...(cost !== undefined && Number.isFinite(cost) ? { characterCost: cost } : {}),
        ...(requestId ? { requestId } : {}),
      });
      // Hand the socket back to the pool before the caller's next request (same tick: a new one).
      await socketReleased();
      this.#httpUsedAt = performance.now();
    } catch (err) {
      const mapped = mapElevenLabsError(err, { what, timeoutMs: o.timeoutMs, control, requestId });
      failed = true;
      recordEnd(outcomeOf(mapped));
      throw mapped;
    } finally {
      // Early exit (break, abort, error): cancel the body so the connection is released.
      if (!done) {
        control.abort('closed');
        void reader?.cancel().catch(() => {});
        // Neither done nor failed: the consumer stopped early, which cancels like an abort.
        if (!failed) recordEnd('aborted');
      }
      control.dispose();
    }
  }

  /**
   * WebSocket stream-input: sends each text piece as the language model writes it and yields
   * audio as ElevenLabs produces it. With `flush: 'first-and-sentence'` (default) the first
   * piece and every piece that ends a sentence are generated at once. Needs the `ws` package.
   *
   * @example
   * ```ts
   * const pieces = chunker.sentences(llm.stream(messages)); // AsyncIterable<string>
   * for await (const chunk of tts.synthesizeStream(pieces, { signal })) speaker.write(chunk.data);
   * ```
   */
  async *synthesizeStream(
    text: AsyncIterable<string>,
    options: SynthesizeOptions = {},
  ): AsyncGenerator<AudioChunk> {
    throwIfAborted(options.signal, 'ElevenLabs stream-input synthesis');
    const format = this.#format(options.format);
    const WebSocket = await loadWs();
    this.#usage.requests++;
    const labels = { provider: PROVIDER, model: this.#options.modelId, mode: 'websocket' };
    if (this.#options.webSocketRoute === 'stream-input') {
      yield* streamInput(text, {
        WebSocket,
        apiKey: this.#apiKey,
        baseUrl: this.#options.baseUrl ?? DEFAULT_BASE_URL,
        options: this.#options,
        format,
        monitor: this.#monitor,
        labels,
        signal: options.signal,
        onUsage: (u) => this.#report(u),
      });
      return;
    }
    yield* multiStreamSynthesis(text, {
      connect: (fresh) => this.#connection(WebSocket, format, fresh),
      options: this.#options,
      format,
      monitor: this.#monitor,
      labels,
      signal: options.signal,
      onUsage: (u) => this.#report(u),
    });
  }

  /**
   * Opens the connections the next synthesis will use, so its first sentence pays no DNS,
   * TCP/TLS or WebSocket handshake:
   *
   * - HTTP (`synthesize()`): a `GET /v1/models` (the cheapest authenticated request, free of
   *   characters), which leaves a kept-alive socket in Node's fetch pool for the next
   *   `POST /v1/text-to-speech/{voice}/stream`. Skipped when an HTTP call used the pool in the
   *   last 2 s.
   * - WebSocket (`synthesizeStream()`, `webSocketRoute: 'multi-stream-input'`): opens the
   *   multi-stream-input connection in the default output format; idempotent. Skipped when
   *   `streamedInput` is `false` (a pipeline in sentence mode says so; it would never use it).
   *
   * Both run in parallel. Never rejects for a provider fault (the next call then connects as
   * usual); rejects with `AbortedError` when `signal` aborts.
   *
   * @example
   * ```ts
   * void tts.prewarm(); // at the start of a turn, while speech-to-text runs
   * for await (const chunk of tts.synthesizeStream(llmText)) speaker.write(chunk.data);
   * ```
   */
  async prewarm(options: SynthesisPrewarmOptions = {}): Promise<void> {
    throwIfAborted(options.signal, 'Prewarming the ElevenLabs connections');
    await Promise.all([
      this.#prewarmHttp(options.signal),
      // A pipeline in sentence mode never uses the socket: no idle connection for it.
      options.streamedInput === false ? undefined : this.#prewarmWebSocket(options.signal),
    ]);
  }

  async #prewarmHttp(signal: AbortSignal | undefined): Promise<void> {
    if (performance.now() - this.#httpUsedAt < HTTP_WARM_FOR_MS) return;
    this.#httpPrewarm ??= (async () => {
      try {
        const client = await this.#getClient();
        await client.models.list({ maxRetries: 0, timeoutInSeconds: this.#options.timeoutMs / 1000 });
        await socketReleased();
        this.#httpUsedAt = performance.now();
      } catch {
        // A missing SDK is reported by synthesize(); a provider fault leaves the connection cold.
      } finally {
        this.#httpPrewarm = undefined;
      }
    })();
    await raceAbort(this.#httpPrewarm, signal, 'Prewarming the ElevenLabs HTTP connection');
  }

  async #prewarmWebSocket(signal: AbortSignal | undefined): Promise<void> {
    if (this.#options.webSocketRoute !== 'multi-stream-input') return;
    let WebSocket: WsClass;
    try {
      WebSocket = await loadWs();
    } catch {
      return; // synthesizeStream reports the missing package
    }
    const { connection } = this.#connection(WebSocket, this.#options.outputFormat, false);
    try {
      await connection.ready(signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      // A failed prewarm leaves the connection cold.
    }
  }

  /** Closes the kept WebSocket connections (gracefully, with `close_socket`) and forgets the warm HTTP state. Idempotent. */
  async close(): Promise<void> {
    this.#httpUsedAt = Number.NEGATIVE_INFINITY;
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  /** The pooled connection for `format`: reused while usable, else (or when `fresh`) a new one. */
  #connection(
    WebSocket: WsClass,
    format: string,
    fresh: boolean,
  ): { connection: MultiStreamConnection; warm: boolean } {
    const pooled = this.#connections.get(format);
    if (pooled && !fresh && pooled.usable) return { connection: pooled, warm: pooled.isOpen };
    if (pooled) void pooled.close();
    const o = this.#options;
    const connection = new MultiStreamConnection({
      WebSocket,
      url: webSocketUrl(o.baseUrl ?? DEFAULT_BASE_URL, o, format, 'multi-stream-input'),
      apiKey: this.#apiKey,
      timeoutMs: o.timeoutMs,
      idleMs: o.idleConnectionMs,
    });
    this.#connections.set(format, connection);
    // A connection that closed (idle timeout, server close) stays here until a call replaces it.
    return { connection, warm: false };
  }
}
