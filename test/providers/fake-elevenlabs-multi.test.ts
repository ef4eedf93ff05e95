/**
 * The fake ElevenLabs multi-stream-input socket generates its contexts concurrently, as
 * ElevenLabs does: one context's audio never waits behind another's on the same connection
 * (the pipeline shares one warm socket between concurrent turns).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import { type FakeElevenLabs, startFakeElevenLabs } from '../../src/testing/index.js';

async function* pieces(texts: readonly string[]): AsyncIterable<string> {
  for (const t of texts) yield t;
}

describe('fake ElevenLabs multi-stream-input', () => {
  let fake: FakeElevenLabs;
  beforeAll(async () => {
    // 4× real time: this sentence takes about a second to deliver.
    fake = await startFakeElevenLabs({ apiKey: 'test-key', audioRate: 4 });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it("starts a second context's audio while the first is still being delivered, on one connection", async () => {
    const tts = new ElevenLabsTextToSpeech({
      apiKey: 'test-key',
      baseUrl: fake.url,
      outputFormat: 'pcm_16000',
    });
    try {
      const t0 = performance.now();
      const times = { aFirst: 0, aLast: 0, bFirst: 0 };
      const long = 'The driver left Denver this morning and expects to reach Dallas tomorrow.';
      const a = (async () => {
        for await (const _ of tts.synthesizeStream(pieces([long]))) {
          const at = performance.now() - t0;
          if (times.aFirst === 0) times.aFirst = at;
          times.aLast = at;
        }
      })();
      while (times.aFirst === 0) await new Promise((r) => setTimeout(r, 5));
      const b = (async () => {
        for await (const _ of tts.synthesizeStream(pieces(['Anything else?']))) {
          if (times.bFirst === 0) times.bFirst = performance.now() - t0;
        }
      })();
      await Promise.all([a, b]);
      expect(fake.stats.sessions).toBe(1);
      expect(fake.stats.contexts).toBe(2);
      expect(times.bFirst).toBeGreaterThan(0);
      expect(times.aLast - times.aFirst).toBeGreaterThan(500);
      // B starts in the first half of A's delivery (queued behind A, it would start after A's last chunk).
      expect(times.bFirst).toBeLessThan((times.aFirst + times.aLast) / 2);
    } finally {
      await tts.close();
    }
  });
});
