/**
 * The text-to-speech stage: one chunk of text to audio, from the TTS cache when it holds it,
 * else through {@link runStage} (first-byte and whole deadlines, fallback voice while nothing
 * was heard), storing the audio for next time.
 * @module
 */
import { type EarshotError, InvalidArgumentError } from '../errors.js';
import { OP } from '../perf/operations.js';
import { decodeCachedAudio, encodeCachedAudio, ttsCacheKey } from './cache.js';
import type { AudioChunk, TextToSpeech } from './contracts.js';
import { runStage, type StageDeadline, type StageSpec } from './run-stage.js';
import { isStageDeadline } from './scope.js';
import { SentenceChunker } from './sentence-chunker.js';
import type { SpeechItem } from './speech-queue.js';
import { consume } from './streams.js';
import type { TextFeed } from './tts-input.js';
import type { TurnState } from './turn-state.js';

/** Synthesizes one queued chunk, handing its audio to `onChunk` as it arrives. */
export async function synthesizeSentence(
  state: TurnState,
  item: SpeechItem,
  onChunk: (chunk: AudioChunk) => void,
): Promise<void> {
  const options = state.options;
  const transform = options.transformText;
  const text = transform ? transform(item.text) : item.text;
  if (typeof text !== 'string') {
    throw new InvalidArgumentError('transformText must return a string (return "" to skip a chunk).');
  }
  if (text.trim().length === 0) return;
  const timeline = state.timeline;
  let waitedOn = item.waitedOn;
  const phraseKey = item.phrase
    ? `${state.tts.provider}|${state.tts.model ?? '-'}|${state.ttsFormat}|${text}`
    : undefined;
  const phrase = phraseKey === undefined ? undefined : state.pipeline.phraseAudio.get(phraseKey);
  if (phrase) {
    // A stock phrase heard before: its audio is at hand.
    const span = timeline.start('cache:tts', {
      provider: state.tts.provider,
      sentenceIndex: item.index,
      cached: true,
      ...(waitedOn ? { waitedOn } : {}),
    });
    item.audioSpan = span;
    span.firstOutput = performance.now();
    for (const chunk of phrase) onChunk(chunk);
    timeline.end(span);
    return;
  }
  const cacheConfig = state.pipeline.ttsCache;
  const caching =
    cacheConfig !== undefined &&
    state.pipeline.store !== undefined &&
    text.length <= cacheConfig.maxTextChars;
  if (caching) {
    const tts = state.tts;
    const key = ttsCacheKey({ provider: tts.provider, model: tts.model, format: state.ttsFormat, text });
    const span = timeline.start('cache:tts', {
      provider: tts.provider,
      sentenceIndex: item.index,
      ...(waitedOn ? { waitedOn } : {}),
    });
    item.audioSpan = span;
    const hit = decodeCachedAudio(await state.cacheGet(key, cacheConfig.namespace, state.signal));
    if (hit && hit.length > 0) {
      span.cached = true;
      span.firstOutput = performance.now();
      timeline.record(OP.ttsTtfb, span.firstOutput - span.start, { provider: tts.provider, cached: true });
      for (const chunk of hit) onChunk(chunk);
      timeline.end(span);
      timeline.record(OP.tts, (span.end as number) - span.start, {
        provider: tts.provider,
        cached: true,
        outcome: 'ok',
      });
      return;
    }
    timeline.end(span);
    waitedOn = { spanId: span.id, at: span.end as number, reason: 'cache miss' };
  }
  const deadlines = options.deadlines;
  await runStage<TextToSpeech, AudioChunk[] | undefined>(state, {
    operation: OP.tts,
    stage: state.tts,
    waitedOn,
    spanFields: { sentenceIndex: item.index },
    firstOutputDeadline: ttsFirstByteDeadline(state),
    deadline: { ms: deadlines.tts, option: 'tts', what: 'Text-to-speech' },
    fallback: ttsFallback(state, item),
    call: async (attempt) => {
      const span = attempt.begin();
      item.audioSpan = span;
      const collected: AudioChunk[] | undefined = caching || phraseKey ? [] : undefined;
      await consume(
        attempt.stage.synthesize(text, { signal: attempt.signal, format: state.ttsFormat }),
        attempt.signal,
        (chunk) => {
          if (chunk.data.byteLength === 0) return;
          if (span.firstOutput === undefined) {
            const at = attempt.markFirstOutput();
            timeline.record(OP.ttsTtfb, at - span.start, { provider: attempt.provider, cached: false });
          }
          collected?.push(chunk);
          onChunk(chunk);
        },
      );
      return collected;
    },
    afterSuccess: async (collected, attempt) => {
      if (phraseKey && collected && collected.length > 0 && state.pipeline.phraseAudio.size < 64)
        state.pipeline.phraseAudio.set(phraseKey, collected);
      if (!caching || !cacheConfig || !collected || collected.length === 0) return;
      const key = ttsCacheKey({
        provider: attempt.provider,
        model: attempt.stage.model,
        format: state.ttsFormat,
        text,
      });
      await state.cacheSet(
        key,
        encodeCachedAudio(collected),
        cacheConfig.namespace,
        cacheConfig.ttlSeconds,
        state.signal,
      );
    },
  });
}

/**
 * Streamed TTS input: one `synthesizeStream` for the text pieces of one model call, through
 * {@link runStage} (the first-byte deadline runs from the first piece; `OP.tts` and
 * `OP.ttsTtfb` are recorded once per stream). Its audio is not cached: pieces are not
 * sentences. When the stream fails before any audio (and no fallback voice takes it), the
 * text is spoken in sentence mode instead and `onSentenceMode` is told, so the rest of the
 * turn stays in sentence mode.
 */
export async function synthesizeStreamed(
  state: TurnState,
  item: SpeechItem,
  feed: TextFeed,
  onChunk: (chunk: AudioChunk) => void,
  onSentenceMode: () => void,
): Promise<void> {
  const options = state.options;
  const timeline = state.timeline;
  const transform = options.transformText;
  try {
    if (typeof state.tts.synthesizeStream !== 'function') throw new StreamUnsupported();
    await runStage<TextToSpeech, void>(state, {
      operation: OP.tts,
      stage: state.tts,
      waitedOn: item.waitedOn,
      spanFields: { sentenceIndex: item.index },
      firstOutputDeadline: ttsFirstByteDeadline(state),
      fallback: ttsFallback(state, item),
      call: async (attempt) => {
        const stream = attempt.stage.synthesizeStream?.bind(attempt.stage);
        if (!stream) throw new StreamUnsupported();
        const span = attempt.begin();
        item.audioSpan = span;
        const read = feed.read(attempt.signal);
        const pieces = transform ? mapPieces(read, transform) : read;
        await consume(
          stream(pieces, { signal: attempt.signal, format: state.ttsFormat }),
          attempt.signal,
          (chunk) => {
            if (chunk.data.byteLength === 0) return;
            if (span.firstOutput === undefined) {
              const at = attempt.markFirstOutput();
              timeline.record(OP.ttsTtfb, at - span.start, { provider: attempt.provider, cached: false });
            }
            onChunk(chunk);
          },
        );
      },
    });
    return;
  } catch (err) {
    // Audio already played, or the pipeline's first-byte deadline is spent (the user has waited
    // the whole budget; a second try on the same voice would double it): the turn fails as in
    // sentence mode. A provider's own timeout (a dead socket) is retried in sentence mode.
    if (state.scope.aborted || item.received > 0 || isStageDeadline(err)) throw err;
    const unsupported =
      err instanceof StreamUnsupported || (err as { cause?: unknown }).cause instanceof StreamUnsupported;
    if (!unsupported) state.recovered('tts', err as EarshotError);
  }
  // Sentence mode for this text: chunk it as it keeps coming, one request per chunk, in order.
  onSentenceMode();
  const chunker = new SentenceChunker(state.pipeline.chunkerOptions);
  let part = 0;
  const speak = async (text: string): Promise<void> => {
    const sub: SpeechItem = {
      ...item,
      text,
      chunks: [],
      emitted: 0,
      received: 0,
      done: false,
      phrase: false,
    };
    // Each sentence's first audio says which text it starts: how far a cut stream got.
    let first = true;
    await synthesizeSentence(state, sub, (chunk) => {
      onChunk(first && chunk.text === undefined ? { ...chunk, text } : chunk);
      first = false;
    });
    if (part++ === 0) item.audioSpan = sub.audioSpan;
  };
  for await (const piece of feed.read(state.signal)) {
    for (const sentence of chunker.push(piece, performance.now())) await speak(sentence);
  }
  for (const sentence of chunker.flush()) await speak(sentence);
}

/** The TTS (or its fallback) has no `synthesizeStream`: sentence mode, no error. */
class StreamUnsupported extends Error {}

async function* mapPieces(
  pieces: AsyncIterable<string>,
  transform: (text: string) => string,
): AsyncGenerator<string, void, undefined> {
  for await (const piece of pieces) {
    const text = transform(piece);
    if (typeof text !== 'string') {
      throw new InvalidArgumentError('transformText must return a string (return "" to skip a chunk).');
    }
    if (text.length > 0) yield text;
  }
}

/** The first-byte deadline of a TTS request (sentence mode) or stream (streamed input). */
function ttsFirstByteDeadline(state: TurnState): StageDeadline {
  return {
    ms: state.options.deadlines.ttsFirstByte,
    option: 'ttsFirstByte',
    what: 'Text-to-speech (first byte)',
  };
}

/**
 * `fallbacks.tts` for a chunk or a stream: only one with no audio out yet can be redone by
 * another voice without a repeat; the switch keeps the rest of the turn on the new voice.
 */
function ttsFallback(
  state: TurnState,
  item: SpeechItem,
): NonNullable<StageSpec<TextToSpeech, void>['fallback']> {
  const options = state.options;
  return {
    stage: 'tts',
    to: options.fallbacks.tts,
    canTake: () => item.received === 0,
    onSwitch: (next) => {
      state.tts = next;
      if (options.ttsFormat === undefined) state.ttsFormat = next.defaultFormat;
    },
  };
}
