/**
 * TTS → STT round trips through both real SDKs and both fakes: audio made by the fake
 * ElevenLabs carries its text, the fake Deepgram reads it back.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../../src/perf/index.js';
import type { SpeechToTextEvent } from '../../src/pipeline/contracts.js';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import {
  type FakeDeepgram,
  type FakeElevenLabs,
  startFakeDeepgram,
  startFakeElevenLabs,
} from '../../src/testing/index.js';

let deepgram: FakeDeepgram;
let elevenlabs: FakeElevenLabs;
let monitor: PerformanceMonitor;
let stt: DeepgramSpeechToText;
let tts: ElevenLabsTextToSpeech;

beforeAll(async () => {
  deepgram = await startFakeDeepgram();
  elevenlabs = await startFakeElevenLabs({ audioRate: 50 });
  monitor = new PerformanceMonitor();
  stt = new DeepgramSpeechToText({ apiKey: 'dg-round-trip-key', baseUrl: deepgram.url, monitor });
  tts = new ElevenLabsTextToSpeech({ apiKey: 'el-round-trip-key', baseUrl: elevenlabs.url, monitor });
});

afterAll(async () => {
  await Promise.all([deepgram.close(), elevenlabs.close()]);
});

async function synthesizeAll(text: string, format?: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of tts.synthesize(text, format ? { format } : {})) parts.push(c.data);
  return Buffer.concat(parts);
}

describe('TTS → STT round trip', () => {
  it('reads back what was spoken (HTTP synthesis, prerecorded transcription)', async () => {
    const audio = await synthesizeAll('Load 2314 is in transit.');
    const t = await stt.transcribe(audio, { format: 'pcm_16000' });
    expect(t.text).toBe('Load 2314 is in transit.');
  });

  it('reads back any sentence', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.stringMatching(/^[A-Za-z0-9',.?!]{1,12}$/), { minLength: 1, maxLength: 12 }),
        async (words) => {
          const text = words.join(' ');
          const t = await stt.transcribe(await synthesizeAll(text), { format: 'pcm_16000' });
          expect(t.text).toBe(text);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('reads back audio in another sample rate when told the format', async () => {
    const audio = await synthesizeAll('Inventory is low.', 'pcm_24000');
    const t = await stt.transcribe(audio, { format: 'pcm_24000' });
    expect(t.text).toBe('Inventory is low.');
    expect(deepgram.requests.entries.at(-1)?.query.sample_rate).toBe('24000');
  });

  it('pipes stream-input audio into a live session as it arrives', async () => {
    async function* llm(): AsyncGenerator<string> {
      yield 'Truck 7 is at the dock. ';
      await new Promise((r) => setTimeout(r, 20));
      yield 'It leaves at five.';
    }
    const session = await stt.stream({ format: 'pcm_16000' });
    const events: SpeechToTextEvent[] = [];
    const reading = (async () => {
      for await (const e of session) events.push(e);
    })();
    for await (const chunk of tts.synthesizeStream(llm(), { format: 'pcm_16000' })) session.send(chunk.data);
    session.finalize();
    await session.close();
    await reading;
    const said = events.flatMap((e) => (e.type === 'end-of-speech' ? [e.transcript] : []));
    expect(said.join(' ')).toBe('Truck 7 is at the dock. It leaves at five.');
    expect(monitor.stats('tts_ttfb', { labels: { mode: 'websocket', outcome: 'ok' } })?.count).toBe(1);
    expect(monitor.stats('stt', { labels: { mode: 'stream', outcome: 'ok' } })?.count).toBeGreaterThanOrEqual(
      1,
    );
  });
});
