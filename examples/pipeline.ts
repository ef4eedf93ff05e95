/**
 * A complete voice turn with no network and no API keys: fake STT, LLM and TTS on the source
 * design's "after" latency profile, the company-API tools over the real client and its cached
 * wrapper (talking to the fake company API on 127.0.0.1), the LLM and TTS caches, a barge-in,
 * and the waterfall that explains what the first audio waited on.
 * Run: npx tsx --tsconfig examples/tsconfig.json examples/pipeline.ts
 */
import {
  createCachedCompanyApi,
  createCacheManager,
  createCompanyApiClient,
  createCompanyApiTools,
  createVoicePipeline,
  formatWaterfall,
  PerformanceMonitor,
} from 'earshot';
import {
  FakeLanguageModel,
  FakeSpeechToText,
  FakeTextToSpeech,
  latencyProfiles,
  stageLatencyProfiles,
  startFakeCompanyApi,
  synthesizeFakeSpeech,
  transcribeFakeSpeech,
} from 'earshot/testing';

const profile = stageLatencyProfiles.sourceDesignAfter;
const companyApi = await startFakeCompanyApi({ latency: latencyProfiles.companyApi, seed: 7 });
const monitor = new PerformanceMonitor();
const cache = createCacheManager({ monitor });
try {
  const api = createCachedCompanyApi(createCompanyApiClient({ baseUrl: companyApi.url, monitor }), cache, {
    monitor,
  });
  const pipeline = createVoicePipeline({
    stt: new FakeSpeechToText({ latency: profile.stt, seed: 1 }),
    // With no script, the fake model follows simple rules: a question about a load calls get_load_status.
    llm: new FakeLanguageModel({ latency: profile.llm, seed: 1 }),
    tts: new FakeTextToSpeech({ latency: profile.tts, seed: 1 }),
    tools: createCompanyApiTools(api),
    systemPrompt: 'You are a dispatcher assistant. Answer in one or two short sentences.',
    cache: { store: cache, llm: true, tts: true },
    monitor,
    deadlines: { ttsFirstByte: 1500, llmFirstToken: 3000 },
  });

  const loadId = companyApi.data.loads[0]?.id ?? '2314';
  const question = synthesizeFakeSpeech(`Where is load ${loadId}?`); // audio that carries its transcript

  // 1. A turn: play audio as it arrives, print what happens.
  const turn = pipeline.respond(question);
  const played: Uint8Array[] = [];
  for await (const e of turn) {
    if (e.type === 'transcript') console.log(`user: ${e.transcript.text}`);
    else if (e.type === 'tool-call') console.log(`  → ${e.call.name}(${e.call.arguments})`);
    else if (e.type === 'tool-result') console.log(`  ← ${e.content.slice(0, 80)}…`);
    else if (e.type === 'sentence') console.log(`  sentence ${e.index}: ${e.text}`);
    else if (e.type === 'audio') played.push(e.chunk.data);
  }
  const first = await turn.done;
  console.log(`assistant (heard): ${transcribeFakeSpeech(Buffer.concat(played))}\n`);
  console.log(formatWaterfall(first.timeline));

  // 2. The same question again: the answer and its audio come from the cache.
  const again = await pipeline.respond(question).done;
  console.log(
    `\nsecond time: cached=${again.cached}, first audio after ${again.timeline.timeToFirstAudioMs?.toFixed(0)} ms ` +
      `(was ${first.timeline.timeToFirstAudioMs?.toFixed(0)} ms)`,
  );

  // 3. Barge-in: the user talks over the answer; no audio after the abort, done resolves as interrupted.
  const bargeIn = new AbortController();
  const interrupted = pipeline.respond(synthesizeFakeSpeech('Hello, what can you do?'), {
    signal: bargeIn.signal,
  });
  for await (const e of interrupted) if (e.type === 'audio') bargeIn.abort();
  const cut = await interrupted.done;
  console.log(`barge-in: interrupted=${cut.interrupted}, heard only: "${cut.spokenText}"`);

  // 4. Every stage landed in the monitor (interrupted turns stay out of time_to_first_audio and e2e).
  console.log(`\n${monitor.report()}`);
} finally {
  await cache.close();
  await companyApi.close();
}
