/**
 * Every provider entry point that takes a signal refuses an already-aborted one the same way
 * (the one `throwIfAborted` in `src/internal/abort.ts`): an `AbortedError` "`<what>` was
 * aborted." whose cause is the signal's reason, and no request reaches the provider. Real SDKs
 * against the fake servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError } from '../../src/errors.js';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import { OpenAIEmbedder, OpenAILanguageModel } from '../../src/providers/openai/index.js';
import { PineconeVectorIndex } from '../../src/providers/pinecone/index.js';
import { type FakeProviders, startFakeProviders, synthesizeFakeSpeech } from '../../src/testing/index.js';

const DIMS = 16;
let fakes: FakeProviders;
beforeAll(async () => {
  fakes = await startFakeProviders({ dimensions: DIMS });
});
afterAll(async () => {
  await fakes?.close();
});

async function drain(it: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of it);
}

async function* pieces(...texts: string[]): AsyncGenerator<string> {
  yield* texts;
}

type Fake = 'openai' | 'pinecone' | 'deepgram' | 'elevenlabs';
type Call = (signal: AbortSignal) => Promise<unknown>;

function entryPoints(): [string, Fake, Call][] {
  const llm = new OpenAILanguageModel({ ...fakes.options.openai, logLevel: 'off', monitor: false });
  const embedder = new OpenAIEmbedder({ ...fakes.options.embedder, logLevel: 'off', monitor: false });
  const index = new PineconeVectorIndex({ ...fakes.options.pinecone, monitor: false });
  const stt = new DeepgramSpeechToText({ ...fakes.options.deepgram, monitor: false });
  const tts = new ElevenLabsTextToSpeech({ ...fakes.options.elevenlabs, monitor: false });
  const audio = synthesizeFakeSpeech('Where is load 2314?');
  return [
    [
      'OpenAI chat stream',
      'openai',
      (signal) => drain(llm.stream([{ role: 'user', content: 'Hi' }], { signal })),
    ],
    ['OpenAI chat prewarm', 'openai', (signal) => llm.prewarm({ signal })],
    ['OpenAI embeddings', 'openai', (signal) => embedder.embed(['trailer damage'], { signal })],
    ['OpenAI embeddings prewarm', 'openai', (signal) => embedder.prewarm({ signal })],
    ['Pinecone query', 'pinecone', (signal) => index.query(new Array(DIMS).fill(0.5), { signal })],
    ['Pinecone prewarm', 'pinecone', (signal) => index.prewarm({ signal })],
    ['Deepgram prerecorded', 'deepgram', (signal) => stt.transcribe(audio, { format: 'pcm_16000', signal })],
    ['Deepgram live', 'deepgram', (signal) => stt.stream({ signal })],
    ['Deepgram prewarm', 'deepgram', (signal) => stt.prewarm({ signal })],
    ['ElevenLabs HTTP stream', 'elevenlabs', (signal) => drain(tts.synthesize('Load 2314.', { signal }))],
    [
      'ElevenLabs stream-input',
      'elevenlabs',
      (signal) => drain(tts.synthesizeStream(pieces('Load 2314.'), { signal })),
    ],
    ['ElevenLabs prewarm', 'elevenlabs', (signal) => tts.prewarm({ signal })],
  ];
}

describe('an already-aborted signal, at every provider entry point', () => {
  it('rejects with AbortedError "<what> was aborted." caused by the reason, and sends nothing', {
    timeout: 30_000,
  }, async () => {
    const calls = entryPoints();
    expect(calls).toHaveLength(12);
    for (const [name, fake, call] of calls) {
      const before = fakes[fake].requests.count;
      const reason = new Error(`caller left (${name})`);
      const err = await call(AbortSignal.abort(reason)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(AbortedError);
      expect((err as AbortedError).code, name).toBe('EARSHOT_ABORTED');
      expect((err as AbortedError).message, name).toMatch(/^\S.* was aborted\.$/);
      expect((err as AbortedError).cause, name).toBe(reason);
      expect(fakes[fake].requests.count, `${name}: no request`).toBe(before);
    }
  });
});
