/**
 * Warm connections through the REAL SDK adapters (Deepgram live STT, OpenAI embeddings + chat,
 * Pinecone, ElevenLabs) against the fake servers, with a cost on every new connection
 * (`connectLatencyMs`, the DNS + TCP + TLS of the real services), side by side in one run:
 *
 *  1. prewarm off, sentence TTS (HTTP `synthesize` per sentence): every turn pays the
 *     handshakes on its critical path (search's embedding and query, the model, the TTS);
 *  2. prewarm on, sentence TTS: `pipeline.prewarm()` after each turn (Deepgram's next socket) and
 *     the automatic prewarm at the start of each audio turn, while speech-to-text runs (OpenAI,
 *     Pinecone, ElevenLabs HTTP);
 *  3. prewarm on, streamed TTS input (`ttsInput: 'stream'`, ElevenLabs multi-stream-input over
 *     one WebSocket kept across turns), with the adapter's default `flush: 'first-and-sentence'`;
 *  4. the same with `flush: 'sentence'` (the adapter's default before issue 14 item 3: ElevenLabs
 *     waits for the whole first sentence), the same-run baseline of the first-piece flush.
 *
 * Turns are separated by an idle gap long enough that pooled HTTP connections are cold: Node's
 * fetch pool closes an idle socket after ~4 s, real conversations pause longer than that between
 * answers. The gap is simulated by the fakes closing every idle kept-alive HTTP connection
 * (`dropIdleConnections()`), as that idle timeout would; WebSockets stay open, as they do over a
 * pause shorter than their idle limits (ElevenLabs 15 s, Deepgram's prewarmed socket 30 s).
 * Question audio is streamed in real time (40 ms chunks), so speech-to-text takes as long as the
 * user speaks. Search runs up front (`searchMode: 'context'`), so it is on the critical path.
 * The configurations run side by side (each on its own fakes), one turn each at a time, so load
 * from other processes hits them alike.
 *
 * Goal (issue 14): prewarm + streamed TTS input cut TTFA P90 by at least the connection cost.
 * Run: `npx tsx bench/prewarm.bench.ts` (or `--smoke`), or `npm run bench -- prewarm`.
 */
import { createEmbeddingSearch, createVoicePipeline, type VoicePipeline } from '../src/index.js';
import { PerformanceMonitor } from '../src/perf/index.js';
import { DeepgramSpeechToText } from '../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../src/providers/elevenlabs/index.js';
import { OpenAIEmbedder, OpenAILanguageModel } from '../src/providers/openai/index.js';
import { PineconeVectorIndex } from '../src/providers/pinecone/index.js';
import { type FakeProviders, startFakeProviders, synthesizeFakeSpeech } from '../src/testing/index.js';
import { type BenchOptions, goal, isMain, judge, printRows, smokeFromArgv } from './harness.js';

/** Cost of a new connection at every fake, ms. */
const CONNECT_MS = 100;
/**
 * Real pause between turns, after the fakes dropped their idle connections: longer than the
 * adapters' own "recently used, still warm" window (2 s), so their prewarm runs as it would after
 * a real pause of several seconds.
 */
const GAP_MS = 2100;
const CHUNK_MS = 40;
const BYTES_PER_MS = 32; // pcm_16000: 16-bit mono

const QUESTIONS = [
  'What does the handbook say about detention billing?',
  'How often are reefer loads checked in transit?',
  'What is the maximum gross weight of a load?',
  'When do inventory cycle counts run?',
] as const;
const AUDIO = new Map(QUESTIONS.map((q) => [q, synthesizeFakeSpeech(q, { msPerChar: 8 })]));

/** The question's audio in real time: one 40 ms chunk every 40 ms. */
async function* spoken(audio: Uint8Array): AsyncIterable<Uint8Array> {
  const size = CHUNK_MS * BYTES_PER_MS;
  for (let offset = 0; offset < audio.byteLength; offset += size) {
    yield audio.subarray(offset, offset + size);
    await new Promise((r) => setTimeout(r, CHUNK_MS));
  }
}

interface Config {
  name: string;
  prewarm: boolean;
  ttsInput: 'sentence' | 'stream';
  /** The ElevenLabs adapter's `flush` (default: the adapter's). */
  flush?: 'sentence';
}

const CONFIGS: readonly Config[] = [
  { name: 'prewarm off, sentence TTS (HTTP)', prewarm: false, ttsInput: 'sentence' },
  { name: 'prewarm on, sentence TTS (HTTP)', prewarm: true, ttsInput: 'sentence' },
  { name: 'prewarm on, streamed TTS input (WebSocket)', prewarm: true, ttsInput: 'stream' },
  {
    name: "prewarm on, streamed TTS input, flush 'sentence'",
    prewarm: true,
    ttsInput: 'stream',
    flush: 'sentence',
  },
];

interface Setup {
  config: Config;
  fakes: FakeProviders;
  stt: DeepgramSpeechToText;
  pipeline: VoicePipeline;
  ttfa: number[];
  /** Turns run so far (measured or not). */
  runs: number;
  /** TCP connections and WebSocket sessions opened at the fakes during measured turns. */
  connections: number;
  connectMs: number;
}

function fakeList(f: FakeProviders) {
  return [f.deepgram, f.openai, f.elevenlabs, f.pinecone, f.companyApi];
}

/** New TCP connections at every fake so far (WebSocket upgrades are connections too). */
function connectionsOf(f: FakeProviders): number {
  return fakeList(f).reduce((n, x) => n + x.connections, 0);
}

/** Connection cost paid by requests logged so far. */
function connectMsOf(f: FakeProviders): number {
  let ms = 0;
  for (const x of [f.deepgram, f.openai, f.elevenlabs, f.pinecone])
    for (const r of x.requests.entries) ms += r.connectMs ?? 0;
  return ms;
}

async function setUp(config: Config, seed: number): Promise<Setup> {
  const fakes = await startFakeProviders({ latency: 'sourceDesignAfter', seed });
  for (const f of fakeList(fakes)) f.connectLatencyMs = CONNECT_MS;
  // TTFA ends at the first audio byte: the rest of the answer's audio need not take real time.
  fakes.elevenlabs.audioRate = Number.POSITIVE_INFINITY;
  const stt = await DeepgramSpeechToText.create({ ...fakes.options.deepgram });
  const llm = await OpenAILanguageModel.create({ ...fakes.options.openai });
  const tts = await ElevenLabsTextToSpeech.create({
    ...fakes.options.elevenlabs,
    outputFormat: 'pcm_16000',
    ...(config.flush ? { flush: config.flush } : {}),
  });
  const search = createEmbeddingSearch(
    await OpenAIEmbedder.create({ ...fakes.options.embedder }),
    await PineconeVectorIndex.create({ ...fakes.options.pinecone }),
  );
  const pipeline = createVoicePipeline({
    stt,
    llm,
    tts,
    search,
    searchMode: 'context',
    systemPrompt: 'You answer questions about the company handbook in one short sentence.',
    monitor: new PerformanceMonitor(),
    prewarm: config.prewarm,
    ttsInput: config.ttsInput,
    preemptive: false,
    prefetch: 'off',
  });
  return { config, fakes, stt, pipeline, ttfa: [], runs: 0, connections: 0, connectMs: 0 };
}

/** The idle gap between two turns: pooled HTTP connections go cold, WebSockets stay. */
async function idleGap(s: Setup): Promise<void> {
  for (const f of fakeList(s.fakes)) f.dropIdleConnections();
  await new Promise((r) => setTimeout(r, GAP_MS));
}

async function turn(s: Setup, question: (typeof QUESTIONS)[number], measured: boolean): Promise<void> {
  if (s.runs++ > 0) await idleGap(s); // the first turn's connections are cold anyway
  const connectionsBefore = connectionsOf(s.fakes);
  const connectMsBefore = connectMsOf(s.fakes);
  const t = s.pipeline.respond({ audio: spoken(AUDIO.get(question) as Uint8Array), format: 'pcm_16000' });
  for await (const _ of t) {
    // play
  }
  const result = await t.done;
  // Right after the answer: the next utterance's STT socket (kept open with KeepAlive). The HTTP
  // stages are prewarmed by the pipeline at the start of the next turn, after the idle gap.
  if (s.config.prewarm) await s.stt.prewarm();
  if (!measured) return;
  if (result.timeline.timeToFirstAudioMs === undefined || result.reply.trim() === '')
    throw new Error(`${s.config.name}: a turn produced no audio`);
  s.ttfa.push(result.timeline.timeToFirstAudioMs);
  s.connections += connectionsOf(s.fakes) - connectionsBefore;
  s.connectMs += connectMsOf(s.fakes) - connectMsBefore;
}

function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

export async function run({ smoke }: BenchOptions): Promise<void> {
  const turns = smoke ? 1 : 30;
  const setups: Setup[] = [];
  const t0 = performance.now();
  try {
    for (const [i, c] of CONFIGS.entries()) setups.push(await setUp(c, 31 + i));
    // One unmeasured turn each (SDK loading, JIT, the first prewarm); none in a smoke run.
    if (!smoke) await Promise.all(setups.map((s) => turn(s, QUESTIONS[0], false)));
    for (let i = 0; i < turns; i++) {
      const question = QUESTIONS[i % QUESTIONS.length] as (typeof QUESTIONS)[number];
      await Promise.all(setups.map((s) => turn(s, question, true)));
    }
    console.log(`(turns done after ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } finally {
    for (const s of setups) {
      await s.pipeline.close().catch(() => {});
      await s.fakes.close();
    }
  }
  const base = setups[0] as Setup;
  const p = (s: Setup, q: number) => percentile(s.ttfa, q);
  printRows(
    `TTFA through the real SDK adapters, connectLatencyMs ${CONNECT_MS} at every fake, idle gap between turns (${turns} turns each)`,
    setups.map((s) => ({
      config: s.config.name,
      'TTFA P50 ms': p(s, 50),
      'TTFA P90 ms': p(s, 90),
      'P90 ratio vs off': p(s, 90) / p(base, 90),
      'P90 cut ms': p(base, 90) - p(s, 90),
      'new connections / turn': s.connections / s.ttfa.length,
      'connect ms paid / turn': s.connectMs / s.ttfa.length,
    })),
  );
  const [, sentence, stream, streamSentenceFlush] = setups as [Setup, Setup, Setup, Setup];
  const cut = (s: Setup) => p(base, 90) - p(s, 90);
  goal({
    id: 'prewarm.stream-ttfa-cut',
    what: `TTFA P90 through the real SDK adapters vs the fakes (connectLatencyMs ${CONNECT_MS}, idle gap between turns): prewarm + streamed TTS input vs prewarm off + sentence TTS, same run`,
    measured: `${cut(stream).toFixed(0)} ms (${(p(stream, 90) / p(base, 90)).toFixed(2)}x)`,
    goal: `≥ ${CONNECT_MS} ms (the connection cost)`,
    verdict: smoke ? 'info' : judge(cut(stream), '>=', CONNECT_MS),
  });
  goal({
    id: 'prewarm.sentence-ttfa-cut',
    what: `TTFA P90, same setup: prewarm + sentence TTS (HTTP) vs prewarm off + sentence TTS`,
    measured: `${cut(sentence).toFixed(0)} ms (${(p(sentence, 90) / p(base, 90)).toFixed(2)}x)`,
    goal: `≥ ${CONNECT_MS} ms (the connection cost)`,
    verdict: smoke ? 'info' : judge(cut(sentence), '>=', CONNECT_MS),
  });
  goal({
    id: 'prewarm.stream-first-flush',
    what: `TTFA P50 / P90, same setup: streamed TTS input with flush 'first-and-sentence' (default) vs flush 'sentence', and vs sentence TTS (HTTP)`,
    measured: `P50 ${p(stream, 50).toFixed(0)} vs ${p(streamSentenceFlush, 50).toFixed(0)} ms (${(p(stream, 50) / p(streamSentenceFlush, 50)).toFixed(2)}x), P90 ${p(stream, 90).toFixed(0)} vs ${p(streamSentenceFlush, 90).toFixed(0)} ms (${(p(stream, 90) / p(streamSentenceFlush, 90)).toFixed(2)}x); vs sentence TTS P50 ${(p(stream, 50) / p(sentence, 50)).toFixed(2)}x, P90 ${(p(stream, 90) / p(sentence, 90)).toFixed(2)}x`,
    goal: 'lower than flush sentence (informational)',
    verdict: 'info',
  });
}

if (isMain(import.meta.url)) {
  await run({ smoke: smokeFromArgv() });
  process.exit(0);
}
