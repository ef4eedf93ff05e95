/**
 * The Flux route of the fake Deepgram server: one WebSocket session of `GET /v2/listen`
 * (`model=flux-general-en`), in the wire format of Deepgram's published AsyncAPI spec:
 * `Connected` first, then `TurnInfo` messages (`StartOfTurn`, `Update`, `EagerEndOfTurn`,
 * `TurnResumed`, `EndOfTurn`), `ConfigureSuccess` / `ConfigureFailure`, and the `Error` fatal
 * message; every message carries `sequence_id`, counting from 0.
 *
 * Transcripts come from the audio, as on `/v1/listen` (fake speech carries its text). Turn
 * detection is on wall-clock time since the last speech audio (a chunk that is not all zeros),
 * so it works whether the client streams trailing silence or stops sending: `EagerEndOfTurn`
 * after {@link FakeDeepgramFluxSettings.eagerEndOfTurnDelayMs} (only when the session set
 * `eager_eot_threshold`), `EndOfTurn` after {@link FakeDeepgramFluxSettings.endOfTurnDelayMs}.
 * New speech before the end of turn cancels it; after an eager end of turn it sends
 * `TurnResumed` first.
 * @module
 */
import type { RawData, WebSocket } from 'ws';
import { transcribeFakeSpeech } from './audio.js';
import type { FakeDeepgramLiveStats } from './fake-deepgram-live.js';
import { liveEmitter } from './fake-deepgram-live.js';
import { bytesPerSecond, idleTimeout, round } from './fake-deepgram-wire.js';
import type { FaultDecision, LatencyModel } from './latency.js';

/** Knobs of the fake's Flux turn detection; mutable at runtime through `fake.flux`. */
export interface FakeDeepgramFluxSettings {
  /**
   * Wall-clock ms from the last speech audio to `EagerEndOfTurn`, sent only when the session
   * set `eager_eot_threshold` (and only when earlier than the end of turn). Default 100.
   */
  eagerEndOfTurnDelayMs: number;
  /** Wall-clock ms from the last speech audio to `EndOfTurn`. Default 300. */
  endOfTurnDelayMs: number;
  /**
   * The `EagerEndOfTurn` transcript, from the turn's transcript (default: the same). Use it to
   * script an eager transcript that the final contradicts.
   */
  eagerTranscript: ((transcript: string) => string) | undefined;
  /**
   * When set, `TurnResumed` follows every `EagerEndOfTurn` after this many ms even without new
   * speech (the end of turn then comes as usual): scripts Flux changing its mind.
   */
  resumeAfterEagerMs: number | undefined;
  /**
   * When set, the next Flux session sends this fatal `Error` message after
   * `faultAfterMessages` messages, then closes with 1011 (as Deepgram does). One-shot: cleared
   * once sent.
   */
  fatalError: { code: string; description: string } | undefined;
}

/** Defaults of {@link FakeDeepgramFluxSettings}. */
export const FAKE_FLUX_DEFAULTS: FakeDeepgramFluxSettings = {
  eagerEndOfTurnDelayMs: 100,
  endOfTurnDelayMs: 300,
  eagerTranscript: undefined,
  resumeAfterEagerMs: undefined,
  fatalError: undefined,
};

/** What a Flux session needs from its server; `state` and `flux` are read live. */
interface FluxSessionContext {
  latency: LatencyModel;
  live: FakeDeepgramLiveStats;
  state: { readonly faultAfterMessages: number };
  flux: FakeDeepgramFluxSettings;
  idleTimeoutMs: number;
}

type TurnEvent = 'StartOfTurn' | 'Update' | 'EagerEndOfTurn' | 'TurnResumed' | 'EndOfTurn';

const MS_PER_CHAR_ESTIMATE = 55; // synthesizeFakeSpeech's default, used to pace partial words
const UPDATE_EVERY_SECONDS = 0.24; // Flux sends an Update about every 240 ms of audio

/** Runs one Flux session (see the module doc). */
export function runFluxSession(
  context: FluxSessionContext,
  ws: WebSocket,
  query: Record<string, string>,
  requestId: string,
  decision: FaultDecision,
): void {
  const { latency, live, state, flux, idleTimeoutMs } = context;
  live.sessions++;
  live.open++;
  const bps = bytesPerSecond({ ...query, channels: '1' });
  const thresholds = {
    eager: query.eager_eot_threshold === undefined ? undefined : Number(query.eager_eot_threshold),
    eot: Number(query.eot_threshold ?? 0.7),
    timeoutMs: Number(query.eot_timeout_ms ?? 5000),
  };
  const emit = liveEmitter(ws, latency, state, decision);
  const alive = () => ws.readyState === ws.OPEN;
  let sequence = 0;
  let closing = false;

  let totalBytes = 0;
  let turnIndex = 0;
  let inTurn = false;
  let eagerSent = false;
  let turnAudio: Buffer[] = [];
  let turnStartSec = 0;
  let speechEndByte = 0; // end of the last speech in the stream
  let lastUpdateAt = 0;
  let timers: NodeJS.Timeout[] = [];

  const stamp = (message: Record<string, unknown>): object => {
    const fatal = flux.fatalError;
    if (fatal && sequence >= state.faultAfterMessages) {
      flux.fatalError = undefined;
      const error = {
        type: 'Error',
        sequence_id: sequence++,
        code: fatal.code,
        description: fatal.description,
      };
      void emit(error, false).then(() => {
        if (alive()) ws.close(1011, fatal.code);
      });
      closing = true;
      return error;
    }
    return { ...message, sequence_id: sequence++ };
  };
  const send = (message: Record<string, unknown>, delayed = true): void => {
    if (closing) return;
    const stamped = stamp(message);
    if (!closing) void emit(stamped, delayed);
  };

  const turnText = (): string => transcribeFakeSpeech(Buffer.concat(turnAudio)).replace(/\s+/g, ' ').trim();
  /** The words said so far: all of them once the speech is over, else the share of the audio heard. */
  const partialText = (): string => {
    const full = turnText();
    const words = full.split(' ').filter(Boolean);
    const heardSec = speechEndByte / bps - turnStartSec;
    const expectedSec = (full.length * MS_PER_CHAR_ESTIMATE) / 1000;
    const share = expectedSec > 0 ? Math.min(1, heardSec / expectedSec) : 1;
    return words.slice(0, Math.ceil(share * words.length)).join(' ');
  };
  const wordsOf = (text: string) => {
    const words = text.split(' ').filter(Boolean);
    const span = Math.max(0, speechEndByte / bps - turnStartSec - 0.05);
    const each = words.length > 0 ? span / words.length : 0;
    return words.map((word, i) => ({
      word,
      confidence: 0.99,
      start: round(turnStartSec + 0.05 + i * each),
      end: round(turnStartSec + 0.05 + (i + 1) * each),
    }));
  };
  const turnInfo = (event: TurnEvent, transcript: string, confidence: number): void => {
    send({
      type: 'TurnInfo',
      request_id: requestId,
      event,
      turn_index: turnIndex,
      audio_window_start: round(turnStartSec),
      audio_window_end: round(totalBytes / bps),
      transcript,
      words: wordsOf(transcript),
      end_of_turn_confidence: round(confidence),
    });
  };

  const clearTimers = () => {
    for (const t of timers) clearTimeout(t);
    timers = [];
  };
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => {
      timers = timers.filter((x) => x !== t);
      if (alive() && !closing) f();
    }, ms);
    t.unref();
    timers.push(t);
  };
  const endTurn = () => {
    clearTimers();
    if (!inTurn) return;
    turnInfo('EndOfTurn', turnText(), Math.max(thresholds.eot, 0.9));
    inTurn = false;
    eagerSent = false;
    turnAudio = [];
    turnIndex++;
  };
  /** After speech stops: the eager end of turn (when asked for), then the end of turn. */
  const armTurnEnd = () => {
    clearTimers();
    const eagerMs = flux.eagerEndOfTurnDelayMs;
    const endMs = Math.min(flux.endOfTurnDelayMs, thresholds.timeoutMs);
    if (thresholds.eager !== undefined && eagerMs < endMs) {
      later(eagerMs, () => {
        const text = turnText();
        turnInfo('EagerEndOfTurn', flux.eagerTranscript?.(text) ?? text, (thresholds.eager ?? 0.5) + 0.01);
        eagerSent = true;
        const resumeMs = flux.resumeAfterEagerMs;
        if (resumeMs !== undefined) {
          later(resumeMs, () => {
            eagerSent = false;
            turnInfo('TurnResumed', text, 0.2);
          });
        }
      });
    }
    later(endMs, endTurn);
  };

  const idle = idleTimeout(idleTimeoutMs, () => {
    if (alive()) ws.close(1011, 'NET-0001: no audio received within the timeout window');
  });
  const touch = idle.touch;
  touch();

  const onAudio = (chunk: Buffer) => {
    live.audioBytes += chunk.length;
    const chunkStart = totalBytes;
    totalBytes += chunk.length;
    let trailingZeros = 0;
    for (let i = chunk.length - 1; i >= 0 && chunk[i] === 0; i--) trailingZeros++;
    if (inTurn) turnAudio.push(chunk);
    if (trailingZeros === chunk.length) return; // silence: the turn timers run on
    speechEndByte = totalBytes - trailingZeros;
    if (!inTurn) {
      inTurn = true;
      turnAudio = [chunk];
      turnStartSec = chunkStart / bps;
      lastUpdateAt = totalBytes;
      turnInfo('StartOfTurn', partialText(), 0.01);
    } else if (eagerSent) {
      eagerSent = false;
      clearTimers();
      turnInfo('TurnResumed', partialText(), 0.2);
    } else if ((totalBytes - lastUpdateAt) / bps >= UPDATE_EVERY_SECONDS) {
      lastUpdateAt = totalBytes;
      turnInfo('Update', partialText(), 0.1);
    }
    armTurnEnd();
  };

  const onConfigure = (msg: { thresholds?: unknown }) => {
    const t = msg.thresholds;
    if (t !== undefined && (t === null || typeof t !== 'object')) {
      send({ type: 'ConfigureFailure', request_id: requestId });
      return;
    }
    const given = (t ?? {}) as Record<string, unknown>;
    if (given.eager_eot_threshold !== undefined) thresholds.eager = Number(given.eager_eot_threshold);
    if (given.eot_threshold !== undefined) thresholds.eot = Number(given.eot_threshold);
    if (given.eot_timeout_ms !== undefined) thresholds.timeoutMs = Number(given.eot_timeout_ms);
    send({
      type: 'ConfigureSuccess',
      request_id: requestId,
      thresholds: {
        ...(thresholds.eager === undefined ? {} : { eager_eot_threshold: thresholds.eager }),
        eot_threshold: thresholds.eot,
        eot_timeout_ms: thresholds.timeoutMs,
      },
      keyterms: [],
    });
  };

  send({ type: 'Connected', request_id: requestId }, false);

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (closing) return;
    touch();
    if (isBinary) {
      onAudio(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer));
      return;
    }
    let msg: { type?: unknown; thresholds?: unknown };
    try {
      msg = JSON.parse(String(data)) as { type?: unknown };
    } catch {
      msg = {};
    }
    if (msg.type === 'CloseStream') {
      live.closeStreams++;
      // Flushes the turn in progress, then closes normally.
      if (inTurn) endTurn();
      closing = true;
      void emit.drained().then(() => {
        if (alive() && !emit.stalled) ws.close(1000);
      });
    } else if (msg.type === 'Configure') {
      onConfigure(msg);
    } else {
      // Flux knows only CloseStream and Configure (no KeepAlive, no Finalize): anything else is fatal.
      if (msg.type === 'KeepAlive') live.keepAlives++;
      if (msg.type === 'Finalize') live.finalizes++;
      send({
        type: 'Error',
        code: 'UNPARSABLE_CLIENT_MESSAGE',
        description: `Unexpected client message${typeof msg.type === 'string' ? ` of type ${msg.type}` : ''}.`,
      });
      closing = true;
      void emit.drained().then(() => {
        if (alive()) ws.close(1011, 'UNPARSABLE_CLIENT_MESSAGE');
      });
    }
  });
  ws.on('close', () => {
    live.open--;
    idle.clear();
    clearTimers();
  });
  ws.on('error', () => {});
}
