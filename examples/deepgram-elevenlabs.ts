/**
 * The Deepgram and ElevenLabs adapters end to end, with no network and no keys: a fake
 * Deepgram and a fake ElevenLabs on 127.0.0.1 with realistic latencies. A spoken question is
 * streamed into a live Deepgram session (end of speech → final transcript measured), the
 * answer is spoken with ElevenLabs' WebSocket stream-input while the "model" is still writing,
 * a 429 is injected to show the error mapping, and the recorded latencies are printed.
 * Run: npx tsx --tsconfig examples/tsconfig.json examples/deepgram-elevenlabs.ts
 */
import { PerformanceMonitor, ProviderError } from 'earshot';
import { DeepgramSpeechToText } from 'earshot/deepgram';
import { ElevenLabsTextToSpeech } from 'earshot/elevenlabs';
import { startFakeDeepgram, startFakeElevenLabs, synthesizeFakeSpeech } from 'earshot/testing';

const deepgram = await startFakeDeepgram({ latency: { kind: 'distribution', p50Ms: 60, p90Ms: 90 } });
const elevenlabs = await startFakeElevenLabs({
  latency: { kind: 'distribution', p50Ms: 80, p90Ms: 120 },
  audioRate: 4, // audio arrives four times faster than it plays
});
const monitor = new PerformanceMonitor();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
  // Real apps leave apiKey out and set DEEPGRAM_API_KEY / ELEVENLABS_API_KEY (and no baseUrl).
  const stt = await DeepgramSpeechToText.create({
    apiKey: 'fake-deepgram-key',
    baseUrl: deepgram.url,
    monitor,
  });
  const tts = await ElevenLabsTextToSpeech.create({
    apiKey: 'fake-elevenlabs-key',
    baseUrl: elevenlabs.url,
    monitor,
  });

  for (const question of ['Where is load 2314?', 'How many pallets of water are left?']) {
    // 1. The user speaks: 100 ms chunks of (fake) microphone audio, sent at 5× real time.
    const session = await stt.stream({ format: 'pcm_16000' });
    const mic = synthesizeFakeSpeech(question, { format: 'pcm_16000' });
    const sending = (async () => {
      for (let i = 0; i < mic.length; i += 3200) {
        session.send(mic.subarray(i, i + 3200));
        await sleep(20);
      }
      session.finalize(); // our VAD says the user stopped: Deepgram flushes the final transcript
    })();
    let transcript = '';
    for await (const event of session) {
      if (event.type === 'transcript' && !event.transcript.isFinal)
        console.log(`  … ${event.transcript.text}`);
      if (event.type === 'end-of-speech') {
        transcript = event.transcript;
        break; // leaving the loop closes the session
      }
    }
    await sending;
    console.log(`user: ${transcript}`);

    // 2. The answer is spoken while the "model" is still writing it.
    async function* model(): AsyncGenerator<string> {
      for (const sentence of answerFor(transcript)) {
        await sleep(150); // time to write the next sentence
        yield sentence;
      }
    }
    let bytes = 0;
    for await (const chunk of tts.synthesizeStream(model())) bytes += chunk.data.byteLength;
    console.log(
      `assistant: ${answerFor(transcript).join('').trim()} (${(bytes / 32).toFixed(0)} ms of audio)\n`,
    );
  }

  // 3. Errors come back as ProviderError with status, retryable flag and request id.
  elevenlabs.faults.enqueue({ kind: 'rateLimit', route: 'stream' });
  try {
    for await (const _ of tts.synthesize('This one is rate limited.')) {
    }
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    console.log(
      `injected fault → ${err.name} status=${err.status} retryable=${err.retryable}\n  ${err.message}\n`,
    );
  }

  // 4. What the adapters recorded.
  console.log('operation  mode        count   p50 ms   p90 ms');
  for (const [name, mode] of [
    ['stt', 'stream'],
    ['tts_ttfb', 'websocket'],
    ['tts', 'websocket'],
  ] as const) {
    const s = monitor.stats(name, { labels: { mode, outcome: 'ok' } });
    if (!s) continue;
    console.log(
      `${name.padEnd(10)} ${mode.padEnd(10)} ${String(s.count).padStart(6)} ${s.p50.toFixed(1).padStart(8)} ${s.p90.toFixed(1).padStart(8)}`,
    );
  }
  console.log(`characters sent to ElevenLabs: ${tts.usage.characters}`);
} finally {
  await Promise.all([deepgram.close(), elevenlabs.close()]);
}

function answerFor(question: string): string[] {
  return /load/i.test(question)
    ? ['Load 2314 is in transit. ', 'It should reach Dallas at noon.']
    : ['There are 48 pallets of water left. ', 'That covers about three days.'];
}
