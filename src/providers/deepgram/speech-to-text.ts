/**
 * `DeepgramSpeechToText`: the {@link SpeechToText} stage over `@deepgram/sdk` v5, prerecorded
 * (`POST /v1/listen`) and live (WebSocket `/v1/listen`).
 * @module
 */

import { Readable } from 'node:stream';
import { InvalidArgumentError, ProviderError } from '../../errors.js';
import { raceAbort, throwIfAborted } from '../../internal/abort.js';
import { OP } from '../../perf/operations.js';
import type {
  AudioFormat,
  AudioInput,
  SpeechToText,
  SpeechToTextSession,
  TranscribeOptions,
  Transcript,
} from '../../pipeline/contracts.js';
import {
  CallControl,
  finiteNumber,
  type LatencyRecorder,
  lazyAsync,
  NO_RECORDING,
  outcomeOf,
  raceControl,
  resolveApiKey,
} from '../shared/index.js';
import { malformed, mapDeepgramError, PROVIDER } from './errors.js';
import { DeepgramFluxSession } from './flux-session.js';
import { DeepgramLiveSession } from './live-session.js';
import {
  type DeepgramSpeechToTextOptions,
  isFluxModel,
  parseDeepgramOptions,
  type ResolvedDeepgramOptions,
} from './options.js';
import { type DeepgramSdk, loadDeepgramSdk } from './sdk.js';
import type { DeepgramSocketSession } from './socket-session.js';

type DeepgramClient = InstanceType<DeepgramSdk['DeepgramClient']>;

/** Deepgram query parameters that describe raw audio. */
interface FormatParams {
  encoding?: string;
  sampleRate?: number;
}

/**
 * Maps an earshot {@link AudioFormat} to Deepgram's `encoding` / `sample_rate`. Containers
 * (WAV, MP3, Opus/Ogg) are self-describing, so Deepgram needs neither.
 */
export function deepgramFormat(format: AudioFormat | undefined): FormatParams | undefined {
  if (format === undefined) return undefined;
  if (format === 'wav' || /^(mp3|opus)_/.test(format)) return {};
  const m = /^(pcm|ulaw|alaw)_(\d+)$/.exec(format);
  if (!m) {
    throw new InvalidArgumentError(
      `Deepgram cannot take audio format "${format}": use pcm_<rate>, ulaw_<rate>, alaw_<rate>, wav, mp3_* or opus_*.`,
    );
  }
  const encoding = m[1] === 'pcm' ? 'linear16' : m[1] === 'ulaw' ? 'mulaw' : 'alaw';
  return { encoding, sampleRate: Number(m[2]) };
}

function bytesPerSecond(encoding: string | undefined, sampleRate: number | undefined, channels: number) {
  if (!encoding || !sampleRate) return undefined;
  const width = { linear16: 2, linear32: 4, mulaw: 1, alaw: 1 }[encoding];
  return width === undefined ? undefined : width * sampleRate * channels;
}

/** The connect parameters of one live socket, and the key that tells two of them apart. */
interface LiveSettings {
  query: {
    model: string;
    smart_format: string;
    interim_results: string;
    vad_events: string;
    endpointing: number | 'false';
    utterance_end_ms?: number;
    language?: string;
    encoding?: string;
    sample_rate?: number | undefined;
    channels?: number;
  };
  extra: Record<string, string>;
  /** Flux (`/v2/listen`) connect parameters, for a `flux-*` model; `query` is then unused. */
  flux?: {
    model: string;
    encoding?: string;
    sample_rate?: number | undefined;
    eager_eot_threshold?: number;
    eot_threshold?: number;
    eot_timeout_ms?: number;
    language_hint?: string;
  };
  interimResults: boolean;
  bytesPerSecond: number | undefined;
  key: string;
}

interface PrerecordedBody {
  metadata?: { request_id?: unknown; duration?: unknown };
  results?: { channels?: { alternatives?: { transcript?: unknown; confidence?: unknown }[] }[] };
  request_id?: unknown;
}

function parsePrerecorded(data: unknown, headerRequestId: string | null): Transcript {
  const what = 'Deepgram transcription';
  if (data === null || typeof data !== 'object') throw malformed(what, '(body)', 'expected a JSON object');
  const body = data as PrerecordedBody;
  const requestId =
    typeof body.metadata?.request_id === 'string'
      ? body.metadata.request_id
      : typeof body.request_id === 'string'
        ? body.request_id
        : (headerRequestId ?? undefined);
  if (!('results' in body) && typeof body.request_id === 'string') {
    throw new ProviderError(
      `${what}: Deepgram accepted the request for asynchronous processing (a callback URL was set); earshot needs the synchronous result. Remove the callback parameter.`,
      { provider: PROVIDER, retryable: false, requestId: body.request_id },
    );
  }
  if (
    typeof body.metadata !== 'object' ||
    body.metadata === null ||
    typeof body.metadata.request_id !== 'string'
  ) {
    throw malformed(what, 'metadata.request_id', 'expected a string', requestId);
  }
  const alt = body.results?.channels?.[0]?.alternatives?.[0];
  if (!alt || typeof alt.transcript !== 'string') {
    throw malformed(what, 'results.channels.0.alternatives.0.transcript', 'expected a string', requestId);
  }
  const confidence = finiteNumber(alt.confidence);
  const durationSeconds = finiteNumber(body.metadata.duration);
  return {
    text: alt.transcript,
    isFinal: true,
    ...(confidence === undefined ? {} : { confidence }),
    startSeconds: 0,
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(requestId ? { requestId } : {}),
  };
}

async function* bytesOf(audio: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const chunk of audio) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Speech-to-text over Deepgram (`@deepgram/sdk` v5, an optional peer: `npm install @deepgram/sdk`).
 *
 * - `transcribe()`: one prerecorded request (`POST /v1/listen`), recorded as `stt` with
 *   `mode: 'prerecorded'` (the whole request).
 * - `stream()`: a live WebSocket session with interim results, endpointing, utterance end and
 *   VAD events; `stt` with `mode: 'stream'` measures end of speech → final transcript.
 * - With a `flux-*` model, `stream()` opens a Deepgram Flux session (`/v2/listen`): Flux
 *   detects turns itself; with `eagerEotThreshold` its `EagerEndOfTurn` becomes a preflight
 *   transcript (preemptive generation starts on it) and `TurnResumed` a `turn-resumed` event.
 *   Flux only streams: `transcribe()` needs a nova model.
 *
 * The SDK is loaded on first use (or by {@link DeepgramSpeechToText.create}). Retries and
 * reconnects are off by default: the pipeline owns deadlines.
 *
 * @example
 * ```ts
 * import { DeepgramSpeechToText } from 'earshot/deepgram';
 * const stt = await DeepgramSpeechToText.create({ model: 'nova-2' }); // key from DEEPGRAM_API_KEY
 * const { text } = await stt.transcribe(wavBytes, { format: 'wav' });
 *
 * const session = await stt.stream({ format: 'pcm_16000' });
 * for await (const e of session) if (e.type === 'end-of-speech') console.log(e.transcript);
 * ```
 */
export class DeepgramSpeechToText implements SpeechToText {
  readonly provider = PROVIDER;
  readonly model: string;
  readonly #options: Omit<ResolvedDeepgramOptions, 'apiKey'>;
  readonly #apiKey: string;
  readonly #monitor: LatencyRecorder;
  /** A live socket opened by prewarm(), waiting for the next stream() with the same settings. */
  #warm: { key: string; session: DeepgramSocketSession; timer: ReturnType<typeof setTimeout> } | undefined;
  #warming: Promise<void> | undefined;
  /** Settings of the last `stream()` call: what the next utterance's prewarmed socket uses. */
  #lastStreamSettings: LiveSettings | undefined;
  readonly #getClient = lazyAsync(() =>
    loadDeepgramSdk().then(
      (sdk) =>
        new sdk.DeepgramClient({
          apiKey: this.#apiKey,
          ...(this.#options.baseUrl ? { baseUrl: this.#options.baseUrl } : {}),
          maxRetries: this.#options.maxRetries,
          timeoutInSeconds: this.#options.timeoutMs / 1000,
        }),
    ),
  );

  /**
   * Validates options (ConfigError on bad ones) and resolves the API key (ConfigError naming
   * `DEEPGRAM_API_KEY` when absent). Does not load the SDK yet.
   */
  constructor(options: DeepgramSpeechToTextOptions = {}) {
    const { apiKey, ...rest } = parseDeepgramOptions(options);
    this.#apiKey = resolveApiKey(apiKey, 'DEEPGRAM_API_KEY', 'Deepgram');
    this.#options = rest;
    this.model = rest.model;
    // Only a monitor given explicitly: the pipeline is the default recorder of stage calls.
    this.#monitor = rest.monitor === undefined || rest.monitor === false ? NO_RECORDING : rest.monitor;
  }

  /**
   * Creates the adapter and loads the SDK now, so a missing `@deepgram/sdk` fails at startup
   * with a MissingDependencyError instead of on the first call.
   */
  static async create(options: DeepgramSpeechToTextOptions = {}): Promise<DeepgramSpeechToText> {
    const stt = new DeepgramSpeechToText(options);
    await stt.#getClient();
    return stt;
  }

  /**
   * Transcribes a finished utterance with one prerecorded request. Raw audio needs `format`
   * (`pcm_16000`...); WAV, MP3 and Opus describe themselves. An async iterable is uploaded as
   * it is produced (chunked), so the upload overlaps the recording.
   */
  async transcribe(audio: AudioInput, options: TranscribeOptions = {}): Promise<Transcript> {
    throwIfAborted(options.signal, 'Deepgram transcription');
    const o = this.#options;
    if (isFluxModel(o.model)) {
      throw new InvalidArgumentError(
        `Deepgram Flux (${o.model}) only streams: use stream() for it, or a second DeepgramSpeechToText with a nova model for transcribe().`,
      );
    }
    const fmt = deepgramFormat(options.format) ?? {};
    const language = options.language ?? o.language;
    const client = await this.#getClient();
    const control = new CallControl(options.signal);
    const labels = { provider: PROVIDER, model: o.model, mode: 'prerecorded' };
    const what = 'Deepgram transcription';
    const started = performance.now();
    control.arm(o.timeoutMs);
    try {
      const body = audio instanceof Uint8Array ? audio : Readable.from(bytesOf(audio), { objectMode: false });
      const call = client.listen.v1.media
        .transcribeFile(
          body,
          {
            model: o.model,
            smart_format: o.smartFormat,
            ...(language ? { language } : {}),
            ...(fmt.encoding ? { encoding: fmt.encoding } : {}),
          },
          {
            abortSignal: control.signal,
            maxRetries: o.maxRetries,
            timeoutInSeconds: o.timeoutMs / 1000,
            ...(fmt.sampleRate ? { queryParams: { sample_rate: fmt.sampleRate } } : {}),
          },
        )
        .withRawResponse();
      const { data, rawResponse } = await raceControl(call, control, () => undefined);
      const transcript = parsePrerecorded(data, rawResponse.headers.get('dg-request-id'));
      this.#monitor.record(OP.stt, performance.now() - started, { ...labels, outcome: 'ok' });
      // Node's fetch pool takes the socket back a tick after the body ends: a request made in
      // the same tick would open a second connection.
      await new Promise((resolve) => setImmediate(resolve));
      return transcript;
    } catch (err) {
      const mapped = mapDeepgramError(err, { what, timeoutMs: o.timeoutMs, control });
      this.#monitor.record(OP.stt, performance.now() - started, { ...labels, outcome: outcomeOf(mapped) });
      throw mapped;
    } finally {
      control.dispose();
    }
  }

  /**
   * Opens a live session (resolves once the WebSocket is open). Send raw audio in `format`
   * (default `pcm_16000`, from the `encoding`/`sampleRate` options) or a container format.
   * Call `finalize()` when your VAD says the user stopped, to get the final transcript fast.
   * A socket opened by {@link DeepgramSpeechToText.prewarm} with the same settings is used at once.
   */
  async stream(options: TranscribeOptions & { interimResults?: boolean } = {}): Promise<SpeechToTextSession> {
    throwIfAborted(options.signal, 'Opening a Deepgram live session');
    const settings = this.#liveSettings(options);
    this.#lastStreamSettings = settings;
    const warm = this.#takeWarm(settings.key);
    if (warm) {
      warm.attachSignal(options.signal);
      return warm;
    }
    return this.#open(settings, options.signal);
  }

  /**
   * Opens a live socket now and keeps it ready (with KeepAlive messages, for at most
   * `warmIdleMs`) for the next {@link DeepgramSpeechToText.stream} call, so that call skips the
   * WebSocket handshake. The socket is opened with the settings given (format, language,
   * interim results: those of the `stream()` call it is for; the pipeline passes its own), else
   * those of the last `stream()` call (the next utterance is expected to look like the last
   * one), else the defaults. A `stream()` with other settings opens its own.
   * Idempotent; never rejects for a provider fault (the next `stream()` then connects as usual).
   *
   * @example
   * ```ts
   * await stt.prewarm(); // at the start of a conversation, or right after an utterance ends
   * const session = await stt.stream(); // no handshake here
   * ```
   */
  async prewarm(options: TranscribeOptions & { interimResults?: boolean } = {}): Promise<void> {
    throwIfAborted(options.signal, 'Prewarming the Deepgram live socket');
    const explicit =
      options.format !== undefined || options.language !== undefined || options.interimResults !== undefined;
    const settings = explicit
      ? this.#liveSettings(options)
      : (this.#lastStreamSettings ?? this.#liveSettings({}));
    if (this.#warm?.session.isOpen && this.#warm.key === settings.key) return;
    this.#warming ??= (async () => {
      try {
        const session = await this.#open(settings, undefined);
        this.#dropWarm();
        const timer = setTimeout(() => {
          if (this.#warm?.session === session) this.#dropWarm();
        }, this.#options.warmIdleMs);
        timer.unref?.();
        this.#warm = { key: settings.key, session, timer };
      } catch {
        // A failed prewarm leaves the connection cold; stream() reports the problem.
      } finally {
        this.#warming = undefined;
      }
    })();
    await raceAbort(this.#warming, options.signal, 'Prewarming the Deepgram live socket');
  }

  /** Closes the socket kept by {@link DeepgramSpeechToText.prewarm}, if any. Idempotent. */
  async close(): Promise<void> {
    const warming = this.#warming;
    if (warming) await warming;
    const warm = this.#warm;
    this.#dropWarm();
    if (warm) await warm.session.close();
  }

  #dropWarm(): void {
    const warm = this.#warm;
    this.#warm = undefined;
    if (!warm) return;
    clearTimeout(warm.timer);
    void warm.session.close();
  }

  #takeWarm(key: string): DeepgramSocketSession | undefined {
    const warm = this.#warm;
    if (!warm || warm.key !== key || !warm.session.isOpen) return undefined;
    this.#warm = undefined;
    clearTimeout(warm.timer);
    return warm.session;
  }

  #liveSettings(options: TranscribeOptions & { interimResults?: boolean }): LiveSettings {
    const o = this.#options;
    const fmt = deepgramFormat(options.format) ?? { encoding: o.encoding, sampleRate: o.sampleRate };
    const interim = options.interimResults ?? o.interimResults;
    const language = options.language ?? o.language;
    const query = {
      model: o.model,
      smart_format: String(o.smartFormat),
      interim_results: String(interim),
      vad_events: String(o.vadEvents),
      endpointing: o.endpointingMs === false ? ('false' as const) : o.endpointingMs,
      // Deepgram only sends UtteranceEnd with interim results on.
      ...(o.utteranceEndMs !== false && interim ? { utterance_end_ms: o.utteranceEndMs } : {}),
      ...(language ? { language } : {}),
      ...(fmt.encoding ? { encoding: fmt.encoding, sample_rate: fmt.sampleRate, channels: o.channels } : {}),
    };
    if (isFluxModel(o.model)) {
      // Flux takes no smart_format, endpointing, utterance end or VAD settings: it detects turns
      // itself. Language hints only exist for the multilingual model. Audio is mono.
      const flux = {
        model: o.model,
        ...(fmt.encoding ? { encoding: fmt.encoding, sample_rate: fmt.sampleRate } : {}),
        ...(o.eagerEotThreshold === undefined ? {} : { eager_eot_threshold: o.eagerEotThreshold }),
        ...(o.eotThreshold === undefined ? {} : { eot_threshold: o.eotThreshold }),
        ...(o.eotTimeoutMs === undefined ? {} : { eot_timeout_ms: o.eotTimeoutMs }),
        ...(language && o.model === 'flux-general-multi' ? { language_hint: language } : {}),
      };
      return {
        query,
        extra: {},
        flux,
        interimResults: interim,
        bytesPerSecond: bytesPerSecond(fmt.encoding, fmt.sampleRate, 1),
        key: JSON.stringify(['flux', flux, interim]),
      };
    }
    return {
      query,
      // no_delay is documented by Deepgram but missing from the SDK's typed arguments.
      extra: o.noDelay ? { no_delay: 'true' } : {},
      interimResults: interim,
      bytesPerSecond: bytesPerSecond(fmt.encoding, fmt.sampleRate, o.channels),
      key: JSON.stringify([query, o.noDelay]),
    };
  }

  async #open(settings: LiveSettings, signal: AbortSignal | undefined): Promise<DeepgramSocketSession> {
    const o = this.#options;
    const client = await this.#getClient();
    const common = {
      monitor: this.#monitor,
      labels: { provider: PROVIDER, model: o.model },
      bytesPerSecond: settings.bytesPerSecond,
      timeoutMs: o.timeoutMs,
      finalizeGraceMs: o.finalizeGraceMs,
      reconnectAttempts: o.reconnectAttempts,
      signal,
    };
    if (settings.flux) {
      let socket: Awaited<ReturnType<DeepgramClient['listen']['v2']['connect']>>;
      try {
        socket = await client.listen.v2.connect({
          ...settings.flux,
          reconnectAttempts: o.reconnectAttempts,
          connectionTimeoutInSeconds: o.timeoutMs / 1000,
        });
      } catch (err) {
        throw mapDeepgramError(err, { what: 'Opening a Deepgram Flux session', timeoutMs: o.timeoutMs });
      }
      // Flux has no KeepAlive message: an idle Flux socket stays open only as long as Deepgram allows.
      const session = new DeepgramFluxSession({
        ...common,
        socket,
        keepAliveMs: false,
        interimResults: settings.interimResults,
      });
      await session.open();
      return session;
    }
    let socket: Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>;
    try {
      socket = await client.listen.v1.connect({
        ...settings.query,
        ...(Object.keys(settings.extra).length > 0 ? { queryParams: settings.extra } : {}),
        reconnectAttempts: o.reconnectAttempts,
        connectionTimeoutInSeconds: o.timeoutMs / 1000,
      });
    } catch (err) {
      throw mapDeepgramError(err, { what: 'Opening a Deepgram live session', timeoutMs: o.timeoutMs });
    }
    const session = new DeepgramLiveSession({ ...common, socket, keepAliveMs: o.keepAliveMs });
    await session.open();
    return session;
  }
}
