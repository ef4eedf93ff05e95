/**
 * The speech-to-text stage: a text turn takes its text as the transcript; audio (a finished
 * utterance, or a stream read through an {@link AudioTap}) goes through {@link runStage},
 * streamed through a live session when the stage has one. The STT clock starts at the end of
 * speech.
 * @module
 */

import { raceAbort } from '../internal/abort.js';
import { OP } from '../perf/operations.js';
import type {
  AudioFormat,
  SpeechToText,
  SpeechToTextEvent,
  SpeechToTextSession,
  TranscribeOptions,
  Transcript,
} from './contracts.js';
import { AudioTap, type NormalizedInput } from './input.js';
import { runStage, type StageAttempt } from './run-stage.js';
import { abortReason, noop } from './scope.js';
import { consume } from './streams.js';
import type { TurnState } from './turn-state.js';

/** What the pipeline asks of every streaming STT session (finals only: interims are not read). */
const STREAM_SETTINGS = { interimResults: false } as const;

/**
 * Prewarms `stt` for the streaming session the pipeline will open (same format, language and
 * interim setting), in the background: a failed prewarm only leaves the connection cold.
 */
export function prewarmStreamingStt(
  stt: SpeechToText | undefined,
  options: { audioFormat?: AudioFormat | undefined; language?: string | undefined },
  signal?: AbortSignal,
): Promise<void> {
  if (typeof stt?.prewarm !== 'function' || typeof stt.stream !== 'function') return Promise.resolve();
  const settings: TranscribeOptions & { interimResults?: boolean } = { ...STREAM_SETTINGS };
  if (options.audioFormat !== undefined) settings.format = options.audioFormat;
  if (options.language !== undefined) settings.language = options.language;
  if (signal) settings.signal = signal;
  return Promise.resolve()
    .then(() => stt.prewarm?.(settings))
    .catch(noop);
}

/** What a streamed transcription tells the turn before it ends. */
interface TranscribeHooks {
  /**
   * A final transcript (the text so far) or a preflight transcript (`Transcript.preflight`)
   * before the end of turn is confirmed: preemption may start.
   */
  onCandidate?(text: string): void;
  /** The provider withdrew its last preflight (`turn-resumed`): drop what started on it. */
  onRetract?(): void;
  /** Settles when the host confirms the end of turn (`turn.endOfTurn()`). */
  endOfTurn?: Promise<void>;
}

/** Transcribes the turn's input into `state.transcript` (emitting the `transcript` event). */
export async function transcribe(
  state: TurnState,
  input: NormalizedInput,
  hooks: TranscribeHooks = {},
): Promise<void> {
  if (input.kind === 'text') {
    state.fixOrigin(performance.now());
    setTranscript(state, { text: input.text, isFinal: true });
    return;
  }
  const options = state.options;
  const stt = options.stt as SpeechToText;
  let bytes = input.kind === 'bytes' ? input.bytes : undefined;
  const tap =
    input.kind === 'stream'
      ? new AudioTap(input.audio, options.fallbacks.stt !== undefined, state.signal)
      : undefined;
  const format = input.format ?? options.audioFormat;
  try {
    const transcript = await runStage<SpeechToText, Transcript>(state, {
      operation: OP.stt,
      stage: stt,
      // The STT clock starts at the end of speech: now for a finished utterance, the end of
      // the stream for streamed audio.
      lazySpan: true,
      onBegin: (at) => state.fixOrigin(at),
      deadline: { ms: options.deadlines.stt, option: 'stt', what: 'Speech-to-text' },
      fallback: {
        stage: 'stt',
        to: options.fallbacks.stt,
        chain: false,
        prepare: async () => {
          if (tap) tap.onEnd = () => state.fixOrigin(performance.now());
          bytes = bytes ?? (await (tap as AudioTap).drain());
        },
      },
      call: (attempt) => {
        if (tap) tap.onEnd = () => attempt.begin();
        const callOptions: TranscribeOptions = { signal: attempt.signal };
        if (format !== undefined) callOptions.format = format;
        if (options.language !== undefined) callOptions.language = options.language;
        const current = attempt.stage;
        if (bytes) {
          attempt.begin();
          return raceAbort(current.transcribe(bytes, callOptions), attempt.signal, abortReason);
        }
        if (current.stream) return streamSession(state, attempt, tap as AudioTap, callOptions, hooks);
        return raceAbort(current.transcribe(tap as AudioTap, callOptions), attempt.signal, abortReason);
      },
    });
    setTranscript(state, transcript);
  } finally {
    tap?.close();
  }
}

/** Streams the tap into a live session; the final transcripts after `finalize()` answer it. */
async function streamSession(
  state: TurnState,
  attempt: StageAttempt<SpeechToText>,
  tap: AudioTap,
  callOptions: TranscribeOptions,
  hooks: TranscribeHooks,
): Promise<Transcript> {
  const signal = attempt.signal;
  const open = attempt.stage.stream as NonNullable<SpeechToText['stream']>;
  const session: SpeechToTextSession = await raceAbort(
    open.call(attempt.stage, { ...callOptions, ...STREAM_SETTINGS }),
    signal,
    abortReason,
  );
  let finalized = false;
  const finals: string[] = [];
  let last: Transcript | undefined;
  let resolve!: (transcript: Transcript) => void;
  const answer = new Promise<Transcript>((r) => {
    resolve = r;
  });
  const make = (fallbackText?: string): Transcript => {
    const text = finals.join(' ').trim() || fallbackText || '';
    const transcript: Transcript = { text, isFinal: true };
    if (last?.confidence !== undefined) transcript.confidence = last.confidence;
    if (last?.requestId !== undefined) transcript.requestId = last.requestId;
    return transcript;
  };
  // The end of turn is confirmed by the first final after finalize(), unless the provider says
  // that final did not end the utterance (`speechFinal: false`): then by its endpointing
  // (`end-of-speech`), by the host (`turn.endOfTurn()`), or by the end of the session.
  let hostEnded = false;
  let confirmed = false;
  const confirm = (
    transcript: Transcript,
    endpointing: Extract<SpeechToTextEvent, { type: 'end-of-speech' }> | undefined,
  ): void => {
    if (endpointing?.lastWordEndSeconds !== undefined) {
      // Last speech (the end of the audio) → end of turn confirmed.
      const timeline = state.timeline;
      timeline.record(OP.endOfTurn, performance.now() - timeline.origin, { provider: attempt.provider });
    }
    confirmed = true;
    resolve(transcript);
  };
  // The provider's end of turn when it came while the audio still streamed (the host sends on
  // past the end of turn): if nobody spoke after it, finalize() has nothing to flush and no event
  // will follow, so it confirms the turn at finalize().
  let endedBeforeFinalize: Extract<SpeechToTextEvent, { type: 'end-of-speech' }> | undefined;
  const reader = consume(session, signal, (event) => {
    if (event.type === 'end-of-speech' && !finalized) {
      if (finals.length > 0) endedBeforeFinalize = event;
      return;
    }
    // New speech after that end of turn: its own final will come.
    if (event.type === 'speech-started' || (event.type === 'transcript' && event.transcript.text.trim()))
      endedBeforeFinalize = undefined;
    if (event.type === 'turn-resumed') {
      if (!confirmed) hooks.onRetract?.();
      return;
    }
    if (event.type === 'transcript' && !event.transcript.isFinal) {
      // A preflight transcript: the final text expected, before the final itself.
      const text = event.transcript.text.trim();
      if (event.transcript.preflight === true && text && !confirmed)
        hooks.onCandidate?.([...finals, text].join(' '));
      return;
    }
    if (event.type === 'transcript' && event.transcript.isFinal) {
      if (event.transcript.text) finals.push(event.transcript.text);
      last = event.transcript;
      if (finalized && (event.transcript.speechFinal !== false || hostEnded)) confirm(make(), undefined);
      else if (finals.length > 0 && !confirmed) hooks.onCandidate?.(make().text);
    } else if (event.type === 'end-of-speech' && finalized) {
      confirm(make(event.transcript), event);
    }
  }).then(() => resolve(make()));
  reader.catch(noop);
  const hostEnd = hooks.endOfTurn?.then(() => 'host' as const);
  try {
    for (;;) {
      const next = tap.next();
      const chunk = hostEnd ? await Promise.race([next, hostEnd]) : await next;
      if (chunk === 'host') {
        // The host's VAD says the user is done: stop reading, flush, confirm on the next final.
        next.catch(noop);
        hostEnded = true;
        break;
      }
      if (chunk.done) break;
      await raceAbort(Promise.resolve(session.send(chunk.value)), signal, abortReason);
    }
    attempt.begin();
    finalized = true;
    await raceAbort(Promise.resolve(session.finalize()), signal, abortReason);
    if (endedBeforeFinalize && !confirmed) confirm(make(endedBeforeFinalize.transcript), undefined);
    return await raceAbort(Promise.race([answer, reader.then(() => answer)]), signal, abortReason);
  } finally {
    // Graceful close off the critical path; an abort has already stopped the session.
    state.pending.push(
      Promise.resolve()
        .then(() => session.close())
        .catch(noop),
    );
  }
}

function setTranscript(state: TurnState, transcript: Transcript): void {
  state.transcript = transcript.text;
  state.timeline.mark('transcript');
  state.emit({ type: 'transcript', transcript });
}
