/**
 * The live route of the fake Deepgram server: one WebSocket session of `GET /v1/listen`, with
 * endpointing on the audio's silence, interim results, VAD events and end-of-turn delays.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { transcribeFakeSpeech } from './audio.js';
import {
  bytesPerSecond,
  formatTranscript,
  idleTimeout,
  modelInfo,
  round,
  wordsOf,
} from './fake-deepgram-wire.js';
import { sleepWhile } from './fake-provider-kit.js';
import type { FaultDecision, LatencyModel } from './latency.js';

/** Counters of the live endpoint. */
export interface FakeDeepgramLiveStats {
  /** WebSocket sessions accepted. */
  sessions: number;
  /** Sessions open right now. */
  open: number;
  /** Audio bytes received over every session. */
  audioBytes: number;
  keepAlives: number;
  finalizes: number;
  closeStreams: number;
}

/** What a live session needs from its server; `state` is read live, so runtime changes apply. */
interface LiveSessionContext {
  latency: LatencyModel;
  /** Counters this session adds to. */
  live: FakeDeepgramLiveStats;
  state: { readonly faultAfterMessages: number; readonly endOfTurnDelayMs: number };
  idleTimeoutMs: number;
}

const SILENCE_MIN_BYTES = 32; // ~1 ms at 16 kHz: shorter zero runs are zero crossings of the tone
const MS_PER_CHAR_ESTIMATE = 55; // synthesizeFakeSpeech's default, used to pace interim words
const INTERIM_EVERY_SECONDS = 0.25;
const UNENDPOINTED_FINAL_MS = 300;

/**
 * Runs one live WebSocket session: segments the audio on silence, sends interim and final
 * `Results`, `SpeechStarted` and `UtteranceEnd`, answers `KeepAlive` / `Finalize` /
 * `CloseStream`, and applies the session's fault after `faultAfterMessages` messages.
 */
export function runLiveSession(
  context: LiveSessionContext,
  ws: WebSocket,
  query: Record<string, string>,
  requestId: string,
  decision: FaultDecision,
): void {
  const { latency, live, state, idleTimeoutMs } = context;
  live.sessions++;
  live.open++;
  const model = query.model ?? 'base';
  const modelUuid = randomUUID();
  const bps = bytesPerSecond(query);
  const interim = query.interim_results === 'true';
  const vad = query.vad_events === 'true';
  const endpointingMs = query.endpointing === 'false' ? undefined : Number(query.endpointing ?? 10);
  const utteranceEndMs = query.utterance_end_ms ? Number(query.utterance_end_ms) : undefined;

  let totalBytes = 0;
  let segment: Buffer[] = [];
  let segmentBytes = 0;
  let segmentStartSec = 0;
  let speechInSegment = false;
  let silenceBytes = 0; // trailing silence in the current segment (or since the last word)
  let lastInterimAt = 0;
  let lastInterimText = '';
  let lastWordEndSec: number | undefined; // set by a final with words, cleared by UtteranceEnd
  let closing = false;

  const resultMessage = (
    text: string,
    flags: { isFinal: boolean; speechFinal: boolean; fromFinalize: boolean },
    start: number,
    duration: number,
    speechDuration = duration,
  ) => ({
    type: 'Results',
    channel_index: [0, 1],
    duration: round(duration),
    start: round(start),
    is_final: flags.isFinal,
    speech_final: flags.speechFinal,
    from_finalize: flags.fromFinalize,
    channel: {
      alternatives: [
        { transcript: text, confidence: text ? 0.99 : 0, words: wordsOf(text, start, speechDuration) },
      ],
    },
    metadata: { request_id: requestId, model_info: modelInfo(model), model_uuid: modelUuid },
  });

  const emit = liveEmitter(ws, latency, state, decision);
  const alive = () => ws.readyState === ws.OPEN;

  const emitFinal = (flags: { speechFinal: boolean; fromFinalize: boolean }) => {
    const audio = Buffer.concat(segment, segmentBytes);
    const text = formatTranscript(transcribeFakeSpeech(audio), query);
    const duration = segmentBytes / bps;
    const speechDuration = (segmentBytes - silenceBytes) / bps;
    emit(resultMessage(text, { isFinal: true, ...flags }, segmentStartSec, duration, speechDuration));
    if (text) lastWordEndSec = segmentStartSec + (segmentBytes - silenceBytes) / bps;
    segment = [];
    segmentBytes = 0;
    segmentStartSec = totalBytes / bps;
    speechInSegment = false;
    silenceBytes = 0;
    lastInterimText = '';
  };

  // The end of turn, held back by endOfTurnDelayMs after the last final (cancelled by new speech).
  let endOfTurn: NodeJS.Timeout | undefined;
  const cancelEndOfTurn = () => {
    if (endOfTurn) clearTimeout(endOfTurn);
    endOfTurn = undefined;
  };
  const endUtterance = () => {
    const delay = state.endOfTurnDelayMs;
    if (delay <= 0) {
      emitFinal({ speechFinal: true, fromFinalize: false });
      return;
    }
    const at = totalBytes / bps;
    emitFinal({ speechFinal: false, fromFinalize: false });
    cancelEndOfTurn();
    endOfTurn = setTimeout(() => {
      endOfTurn = undefined;
      emit(resultMessage('', { isFinal: true, speechFinal: true, fromFinalize: false }, at, 0));
      if (utteranceEndMs !== undefined && lastWordEndSec !== undefined) {
        emit({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: round(lastWordEndSec) });
        lastWordEndSec = undefined;
      }
    }, delay);
    endOfTurn.unref();
  };

  const idle = idleTimeout(idleTimeoutMs, () => {
    if (alive()) ws.close(1011, 'NET-0001: no audio or KeepAlive received within the timeout window');
  });
  const touch = idle.touch;
  touch();

  const onAudio = (chunk: Buffer) => {
    live.audioBytes += chunk.length;
    const chunkStartSec = totalBytes / bps;
    totalBytes += chunk.length;
    let trailingZeros = 0;
    for (let i = chunk.length - 1; i >= 0 && chunk[i] === 0; i--) trailingZeros++;
    const allSilent = trailingZeros === chunk.length;
    if (allSilent) {
      if (speechInSegment) {
        segment.push(chunk);
        segmentBytes += chunk.length;
        silenceBytes += chunk.length;
        if (endpointingMs !== undefined && (silenceBytes / bps) * 1000 >= endpointingMs) {
          endUtterance();
        } else if (
          endpointingMs === undefined &&
          utteranceEndMs !== undefined &&
          (silenceBytes / bps) * 1000 >= UNENDPOINTED_FINAL_MS
        ) {
          // Without endpointing Deepgram still finalizes segments (never speech_final); the end
          // of the utterance then comes from UtteranceEnd alone.
          emitFinal({ speechFinal: false, fromFinalize: false });
        }
      } else {
        segmentStartSec = totalBytes / bps;
      }
      if (
        utteranceEndMs !== undefined &&
        lastWordEndSec !== undefined &&
        !speechInSegment &&
        (totalBytes / bps - lastWordEndSec) * 1000 >= utteranceEndMs
      ) {
        emit({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: round(lastWordEndSec) });
        lastWordEndSec = undefined;
      }
      return;
    }
    if (!speechInSegment) {
      speechInSegment = true;
      cancelEndOfTurn();
      if (vad) emit({ type: 'SpeechStarted', channel: [0, 1], timestamp: round(chunkStartSec) });
    }
    segment.push(chunk);
    segmentBytes += chunk.length;
    silenceBytes = trailingZeros >= SILENCE_MIN_BYTES ? trailingZeros : 0;
    if (interim && (totalBytes - lastInterimAt) / bps >= INTERIM_EVERY_SECONDS) {
      lastInterimAt = totalBytes;
      const full = formatTranscript(transcribeFakeSpeech(Buffer.concat(segment, segmentBytes)), query);
      const words = full.split(' ').filter(Boolean);
      const expectedSec = (full.length * MS_PER_CHAR_ESTIMATE) / 1000;
      const share = expectedSec > 0 ? Math.min(1, segmentBytes / bps / expectedSec) : 1;
      const partial = words.slice(0, Math.ceil(share * words.length)).join(' ');
      if (partial && partial !== lastInterimText) {
        lastInterimText = partial;
        emit(
          resultMessage(
            partial,
            { isFinal: false, speechFinal: false, fromFinalize: false },
            segmentStartSec,
            segmentBytes / bps,
          ),
        );
      }
    }
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (closing) return;
    touch();
    if (isBinary) {
      onAudio(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer));
      return;
    }
    let msg: { type?: unknown };
    try {
      msg = JSON.parse(String(data)) as { type?: unknown };
    } catch {
      return; // Deepgram ignores text frames it cannot read
    }
    if (msg.type === 'KeepAlive') {
      live.keepAlives++;
    } else if (msg.type === 'Finalize') {
      live.finalizes++;
      // Deepgram does not guarantee a reply when nothing significant is buffered: the fake
      // replies only when speech is waiting to be transcribed.
      if (speechInSegment && segmentBytes > silenceBytes)
        emitFinal({ speechFinal: false, fromFinalize: true });
    } else if (msg.type === 'CloseStream') {
      live.closeStreams++;
      closing = true;
      if (segmentBytes > 0 && speechInSegment) emitFinal({ speechFinal: true, fromFinalize: false });
      emit({
        type: 'Metadata',
        transaction_key: 'deprecated',
        request_id: requestId,
        sha256: 'fake',
        created: new Date().toISOString(),
        duration: round(totalBytes / bps),
        channels: Number(query.channels ?? 1) || 1,
        models: [modelUuid],
        model_info: { [modelUuid]: modelInfo(model) },
      }).then(() => {
        if (alive() && !emit.stalled) ws.close(1000);
      });
    }
  });
  ws.on('close', () => {
    live.open--;
    idle.clear();
    cancelEndOfTurn();
  });
  ws.on('error', () => {});
}

/** Sends a live session's messages in order, each after the processing delay, applying the session's fault. */
interface LiveEmitter {
  /** Queues `message` (after a latency draw unless `delayed` is false); resolves once it was sent or dropped. */
  (message: object, delayed?: boolean): Promise<void>;
  /** True once a `timeout` fault stopped the session from sending. */
  readonly stalled: boolean;
  /** Settles once every message queued so far was sent or dropped. */
  drained(): Promise<void>;
}

/**
 * The message chain of a live session (`/v1/listen` and `/v2/listen`): one chain keeps order
 * whatever the delays; after `faultAfterMessages` messages the session's fault applies (`reset`
 * drops the socket, `timeout` stops sending then drops it, `malformed` sends one cut frame).
 */
export function liveEmitter(
  ws: WebSocket,
  latency: LatencyModel,
  state: { readonly faultAfterMessages: number },
  decision: FaultDecision,
): LiveEmitter {
  const extraMs = decision.kind === 'slow' ? decision.extraMs : 0;
  const alive = () => ws.readyState === ws.OPEN;
  let sent = 0;
  let stalled = false;
  let chain: Promise<void> = Promise.resolve();
  const emit = (message: object, delayed = true): Promise<void> => {
    chain = chain.then(async () => {
      if (!alive() || stalled) return;
      if (delayed && !(await sleepWhile(latency.sample() + extraMs, alive))) return;
      if (stalled) return;
      if (sent >= state.faultAfterMessages) {
        if (decision.kind === 'reset') {
          ws.terminate();
          return;
        }
        if (decision.kind === 'timeout') {
          stalled = true;
          setTimeout(() => ws.terminate(), decision.hangMs).unref();
          return;
        }
        if (decision.kind === 'malformed' && sent === state.faultAfterMessages) {
          sent++;
          ws.send(JSON.stringify(message).slice(0, 25));
          return;
        }
      }
      sent++;
      ws.send(JSON.stringify(message));
    });
    return chain;
  };
  return Object.defineProperties(emit, {
    stalled: { get: () => stalled },
    drained: { value: () => chain },
  }) as LiveEmitter;
}
