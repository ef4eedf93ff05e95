/**
 * Time to first audio with earshot's latency techniques (docs/latency.md), in one run, on the
 * fake stages with the source design's "after" profile and the demo's question mix (tool turns
 * about loads, inventory and equipment, plus plain answers):
 *  1. everything on (preemptive generation started on the fake STT's preflight transcript,
 *     prefetched tool data in `context` mode, streamed TTS input, a spoken acknowledgement,
 *     prewarm) vs today's behaviour (all off, sentence TTS input): `time_to_answer_audio` P90
 *     (goal ≤ 335 ms) and `time_to_first_audio` P90 (goal ≤ 250 ms), with the steps between
 *     (no preflight, sentence input, a preflight 20/30 ms late) and where the time goes;
 *  2. preemptive generation on vs off with a 300 ms end-of-turn confirmation delay in the fake
 *     STT (goal: TTFA P90 at least 200 ms lower), with the wasted model calls;
 *  3. framework overhead per turn with everything on (zero-latency fakes) vs the same fakes
 *     called directly (goal: < 1 ms P99 wall);
 *  4. the REAL Deepgram adapter on Flux (`/v2/listen`, real `@deepgram/sdk` against the fake
 *     Deepgram): TTFA P90 with `eagerEotThreshold` (preemptive generation starts on
 *     `EagerEndOfTurn`) vs without, same run (info). `npx tsx bench/latency.bench.ts --flux`
 *     runs this part alone.
 * Ratios are against the baseline measured in the same run.
 * Run: `npx tsx bench/latency.bench.ts` (or `--smoke`), or `npm run bench -- latency`.
 */
import {
  type CompanyApiLike,
  createCompanyApiTools,
  createVoicePipeline,
  type VoicePipelineOptions,
} from '../src/index.js';
import { PerformanceMonitor } from '../src/perf/index.js';
import { OP } from '../src/perf/operations.js';
import { DeepgramSpeechToText } from '../src/providers/deepgram/index.js';
import {
  FakeLanguageModel,
  FakeSpeechToText,
  FakeTextToSpeech,
  LatencyModel,
  type LatencyProfile,
  type StageLatencyProfile,
  stageLatencyProfiles,
  startFakeDeepgram,
  synthesizeFakeSpeech,
} from '../src/testing/index.js';
import {
  type BenchOptions,
  goal,
  isMain,
  judge,
  overheadNote,
  overheadRows,
  overheadSummary,
  type PairedOverhead,
  pairedOverhead,
  printRows,
  smokeFromArgv,
} from './harness.js';

/** The demo's mix: mostly tool turns (loads, inventory, equipment), some plain answers. */
const QUESTIONS = [
  'Where is load 2314?',
  'How many of item SKU-1001 do we have?',
  'Is trailer TR-12 available?',
  'Which loads are delayed?',
  'Where is load 2315?',
  'Hello, who are you?',
] as const;
const MS_PER_CHAR = 5;
const AUDIO = new Map(QUESTIONS.map((q) => [q, synthesizeFakeSpeech(q, { msPerChar: 10 })]));

function companyApi(profile: StageLatencyProfile, seed: number): CompanyApiLike {
  const latency = new LatencyModel(profile.tool, { seed });
  const wait = (signal: AbortSignal | undefined) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, latency.sample());
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(signal.reason);
      });
    });
  const page = { items: [{ id: '7', status: 'delayed' }], total: 1, nextCursor: null };
  return {
    async getLoadStatus(id, o) {
      await wait(o?.signal);
      return { id, status: 'in_transit', currentLocation: { city: 'Pueblo', state: 'CO' } };
    },
    async listLoads(_f, o) {
      await wait(o?.signal);
      return page;
    },
    async getInventory(id, o) {
      await wait(o?.signal);
      return { id, quantityAvailable: 42, warehouse: 'DAL-1' };
    },
    async listInventory(_f, o) {
      await wait(o?.signal);
      return page;
    },
    async getEquipmentStatus(id, o) {
      await wait(o?.signal);
      return { id, status: 'available', type: 'trailer' };
    },
    async listEquipment(_f, o) {
      await wait(o?.signal);
      return page;
    },
  };
}

async function* streamed(audio: Uint8Array): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < audio.byteLength; offset += 8192) yield audio.subarray(offset, offset + 8192);
}

interface Config {
  name: string;
  profile: StageLatencyProfile;
  endOfTurnDelayMs?: number;
  /** End of audio → the fake STT's preflight transcript (see FakeSpeechToTextOptions.preflightMs). */
  preflightMs?: LatencyProfile;
  options: Partial<VoicePipelineOptions>;
}

/** Today's behaviour before issue 14: no latency technique, one TTS request per sentence. */
export const ALL_OFF: Partial<VoicePipelineOptions> = {
  preemptive: false,
  prefetch: 'off',
  prewarm: false,
  ttsInput: 'sentence',
};
/** Every technique on, streamed TTS input included (the default `'auto'`, said explicitly). */
export const ALL_ON: Partial<VoicePipelineOptions> = {
  preemptive: true,
  prefetch: 'context',
  prewarm: true,
  acknowledgement: 'One moment.',
  ttsInput: 'auto',
};
/**
 * The fake STT's preflight transcript (the final's text, `preflight: true`) at the end of the
 * audio: Deepgram's last interim result usually equals the final and arrives while the
 * endpointing still waits; the final itself keeps the profile's latency.
 */
const PREFLIGHT_AT_AUDIO_END: LatencyProfile = 0;
/** A sensitivity check: the preflight 20 ms (P50) / 30 ms (P90) after the end of the audio. */
const PREFLIGHT_LAGGING: LatencyProfile = { kind: 'distribution', p50Ms: 20, p90Ms: 30 };

export async function runConfig(config: Config, turns: number, seed: number) {
  const monitor = new PerformanceMonitor();
  const profile = config.profile;
  const pipeline = createVoicePipeline({
    stt: new FakeSpeechToText({
      latency: profile.stt,
      seed,
      ...(config.endOfTurnDelayMs === undefined ? {} : { endOfTurnDelayMs: config.endOfTurnDelayMs }),
      ...(config.preflightMs === undefined ? {} : { preflightMs: config.preflightMs }),
    }),
    llm: new FakeLanguageModel({ latency: profile.llm, seed }),
    tts: new FakeTextToSpeech({ latency: profile.tts, seed, msPerChar: MS_PER_CHAR }),
    tools: createCompanyApiTools(companyApi(profile, seed)),
    systemPrompt: 'You are a dispatcher assistant. Answer in one or two short sentences.',
    monitor,
    ...config.options,
  });
  let wastedCalls = 0;
  let hits = 0;
  // Where the time to first audio went: each turn's critical path, summed per step name.
  const steps = new Map<string, number[]>();
  let turnNo = 0;
  const concurrency = 6;
  let next = 0;
  const worker = async () => {
    while (next < turns) {
      const question = QUESTIONS[next++ % QUESTIONS.length] as (typeof QUESTIONS)[number];
      const result = await pipeline.respond(streamed(AUDIO.get(question) as Uint8Array)).done;
      wastedCalls += result.preemptive?.wastedLlmCalls ?? 0;
      const perStep = new Map<string, number>();
      for (const step of result.timeline.criticalPath)
        perStep.set(step.name, (perStep.get(step.name) ?? 0) + step.durationMs);
      for (const name of perStep.keys()) if (!steps.has(name)) steps.set(name, new Array(turnNo).fill(0));
      for (const [name, xs] of steps) xs.push(perStep.get(name) ?? 0);
      turnNo++;
      if (result.preemptive?.outcome === 'hit') hits++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const p90 = (op: string) => monitor.stats(op)?.p90 ?? Number.NaN;
  return {
    ttfa: p90(OP.timeToFirstAudio),
    ttaa: p90(OP.timeToAnswerAudio),
    e2e: p90(OP.e2e),
    wastedCalls,
    hits,
    turns,
    steps,
  };
}

const percentile = (xs: readonly number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

/** The critical path of `r`'s turns, per step: P50, P90 and mean of the time spent in it. */
function breakdownRows(r: { steps: Map<string, number[]> }): Record<string, string | number>[] {
  return [...r.steps].map(([name, xs]) => ({
    'critical-path step': name,
    'P50 ms': percentile(xs, 0.5),
    'P90 ms': percentile(xs, 0.9),
    'mean ms': xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length),
  }));
}

/**
 * Framework overhead per turn, everything on: a text turn through the pipeline vs the same fakes
 * called directly (model stream, then one synthesis of its text), paired and one at a time (see
 * `pairedOverhead` in harness.ts). No forced GC: with everything on, the GC the turn's
 * allocations cause is part of what it costs. The question names nothing to prefetch, so the
 * fake company API (whose 0 ms timer would be the fake's wait, not earshot's) is never called.
 */
async function overhead(turns: number): Promise<PairedOverhead> {
  const instant = stageLatencyProfiles.instant;
  const make = () => ({
    llm: new FakeLanguageModel({ latency: instant.llm }),
    tts: new FakeTextToSpeech({ latency: instant.tts, msPerChar: MS_PER_CHAR }),
  });
  const stages = make();
  const api = companyApi(instant, 1);
  let apiCalls = 0;
  const counted = Object.fromEntries(
    Object.entries(api).map(([k, f]) => [
      k,
      (...a: unknown[]) => {
        apiCalls++;
        return (f as (...x: unknown[]) => unknown)(...a);
      },
    ]),
  ) as unknown as CompanyApiLike;
  const pipeline = createVoicePipeline({
    ...stages,
    tools: createCompanyApiTools(counted),
    systemPrompt: 'You are a dispatcher.',
    monitor: new PerformanceMonitor(),
    ...ALL_ON,
  });
  const raw = make();
  const question = 'Hello, who are you?';
  const result = await pairedOverhead({
    n: turns,
    warmup: Math.min(turns, 200),
    gcEvery: 0,
    pipelineTurn: () => pipeline.respond({ text: question }).done,
    directTurn: async () => {
      let text = '';
      for await (const ev of raw.llm.stream([{ role: 'user', content: question }]))
        if (ev.type === 'text-delta') text += ev.text;
      for await (const _chunk of raw.tts.synthesize(text)) {
        // consume
      }
    },
  });
  // The fake API's timer is the fake's wait: the measurement is void if a turn called it.
  if (apiCalls > 0) throw new Error(`the overhead question called the fake company API ${apiCalls} times`);
  return result;
}

export async function run(opts: BenchOptions): Promise<void> {
  const turns = opts.smoke ? 6 : 120;
  const after = stageLatencyProfiles.sourceDesignAfter;
  const today = await runConfig({ name: 'today (all off)', profile: after, options: ALL_OFF }, turns, 11);
  const sentenceOn = await runConfig(
    {
      name: 'everything on, sentence TTS input, no preflight',
      profile: after,
      options: { ...ALL_ON, ttsInput: 'sentence' },
    },
    turns,
    11,
  );
  const noPreflight = await runConfig(
    { name: 'everything on, no preflight', profile: after, options: ALL_ON },
    turns,
    11,
  );
  const lagging = await runConfig(
    {
      name: 'everything on, preflight 20/30 ms late',
      profile: after,
      preflightMs: PREFLIGHT_LAGGING,
      options: ALL_ON,
    },
    turns,
    11,
  );
  const allOn = await runConfig(
    { name: 'everything on', profile: after, preflightMs: PREFLIGHT_AT_AUDIO_END, options: ALL_ON },
    turns,
    11,
  );
  const row = (name: string, r: typeof today, base: typeof today) => ({
    config: name,
    'TTFA P90 ms': r.ttfa,
    'TTAA P90 ms': r.ttaa,
    'e2e P90 ms': r.e2e,
    'TTFA ratio': r.ttfa / base.ttfa,
    'TTAA ratio': r.ttaa / base.ttaa,
  });
  printRows('Demo question mix on the "after" profile: everything on vs today (all off)', [
    row('today (all off)', today, today),
    row('everything on, sentence TTS input, no preflight', sentenceOn, today),
    row('everything on, no preflight', noPreflight, today),
    row('everything on, preflight 20/30 ms after audio end', lagging, today),
    row('everything on (preflight at audio end)', allOn, today),
  ]);
  printRows('Where time to first audio goes, everything on (critical path per turn)', breakdownRows(allOn));
  printRows(
    'Where time to first audio goes, everything on, preflight 20/30 ms after audio end',
    breakdownRows(lagging),
  );
  const off = await runConfig(
    { name: 'preemptive off', profile: after, endOfTurnDelayMs: 300, options: { ...ALL_OFF } },
    turns,
    12,
  );
  const on = await runConfig(
    {
      name: 'preemptive on',
      profile: after,
      endOfTurnDelayMs: 300,
      options: { ...ALL_OFF, preemptive: true },
    },
    turns,
    12,
  );
  printRows('Preemptive generation with a 300 ms end-of-turn delay (after profile)', [
    {
      config: 'preemptive off',
      'TTFA P90 ms': off.ttfa,
      'TTAA P90 ms': off.ttaa,
      'wasted LLM calls': 0,
      hits: 0,
      turns: off.turns,
      'TTFA ratio': 1,
    },
    {
      config: 'preemptive on',
      'TTFA P90 ms': on.ttfa,
      'TTAA P90 ms': on.ttaa,
      'wasted LLM calls': on.wastedCalls,
      hits: on.hits,
      turns: on.turns,
      'TTFA ratio': on.ttfa / off.ttfa,
    },
  ]);
  const cost = await overhead(opts.smoke ? 50 : 2000);
  const costs = overheadSummary(cost);
  printRows(
    'Framework overhead per turn, everything on (zero-latency fakes, text input)',
    overheadRows(cost),
  );
  console.log(`\n${overheadNote(cost)}`);
  console.log('');
  goal({
    id: 'latency.ttaa-p90',
    what: `time_to_answer_audio P90, demo mix, "after" profile, everything on (today ${today.ttaa.toFixed(0)} ms)`,
    measured: `${allOn.ttaa.toFixed(0)} ms`,
    goal: '≤ 335 ms',
    verdict: judge(allOn.ttaa, '<=', 335),
  });
  goal({
    id: 'latency.ttfa-p90',
    what: `time_to_first_audio P90, demo mix, "after" profile, everything on, preflight at audio end (today ${today.ttfa.toFixed(0)} ms)`,
    measured: `${allOn.ttfa.toFixed(0)} ms`,
    goal: '≤ 250 ms',
    verdict: judge(allOn.ttfa, '<=', 250),
  });
  goal({
    id: 'latency.ttfa-p90-preflight-late',
    what: 'time_to_first_audio P90, everything on, preflight 20/30 ms after audio end (sensitivity)',
    measured: `${lagging.ttfa.toFixed(0)} ms`,
    goal: '-',
    verdict: 'info',
  });
  goal({
    id: 'latency.preemptive',
    what: `preemptive on vs off, 300 ms end-of-turn delay: TTFA P90 lower by (${on.wastedCalls} wasted LLM calls)`,
    measured: `${(off.ttfa - on.ttfa).toFixed(0)} ms`,
    goal: '≥ 200 ms',
    verdict: judge(off.ttfa - on.ttfa, '>=', 200),
  });
  await runFluxEager(opts);
  goal({
    id: 'latency.overhead-p99',
    what: 'framework overhead per turn, P99 of pipeline − direct (paired, everything on, zero-latency fakes, every sample)',
    measured:
      `${costs.wallP99.toFixed(2)} ms wall; ${(costs.stalledShare * 100).toFixed(1)} % of samples hit by a stall, ` +
      `${(costs.gcShare * 100).toFixed(1)} % by a GC (${costs.quietWallP99.toFixed(2)} ms wall without either)`,
    goal: '< 1 ms',
    verdict: opts.smoke ? 'info' : judge(costs.wallP99, '<', 1),
  });
}

/** Flux turn timing in the fake: eager end of turn and end of turn, ms after the last speech. */
const FLUX_EAGER_MS = 100;
const FLUX_END_OF_TURN_MS = 350;

/**
 * Part 4: the real Deepgram adapter on Flux against the fake Deepgram (`EagerEndOfTurn`
 * {@link FLUX_EAGER_MS} ms and `EndOfTurn` {@link FLUX_END_OF_TURN_MS} ms after the last speech),
 * fake model and TTS on the "after" profile, preemptive generation on in both: with
 * `eagerEotThreshold` the answer starts on the eager end of turn, without it on the end of turn.
 * The two configurations run turn by turn side by side, so load from other processes hits them alike.
 */
export async function runFluxEager(opts: BenchOptions): Promise<void> {
  const turns = opts.smoke ? 4 : 60;
  const after = stageLatencyProfiles.sourceDesignAfter;
  const fake = await startFakeDeepgram({
    flux: { eagerEndOfTurnDelayMs: FLUX_EAGER_MS, endOfTurnDelayMs: FLUX_END_OF_TURN_MS },
  });
  const make = (eager: boolean, seed: number) => {
    const monitor = new PerformanceMonitor();
    const stt = new DeepgramSpeechToText({
      apiKey: 'bench-flux-key',
      baseUrl: fake.url,
      model: 'flux-general-en',
      ...(eager ? { eagerEotThreshold: 0.5 } : {}),
    });
    const pipeline = createVoicePipeline({
      stt,
      llm: new FakeLanguageModel({ latency: after.llm, seed }),
      tts: new FakeTextToSpeech({ latency: after.tts, seed, msPerChar: MS_PER_CHAR }),
      tools: createCompanyApiTools(companyApi(after, seed)),
      systemPrompt: 'You are a dispatcher assistant. Answer in one or two short sentences.',
      monitor,
      ...ALL_OFF,
      preemptive: true,
    });
    return { stt, pipeline, monitor, wasted: 0, hits: 0 };
  };
  const runs = [make(false, 13), make(true, 13)] as const;
  try {
    for (let i = 0; i < turns; i++) {
      const question = QUESTIONS[i % QUESTIONS.length] as (typeof QUESTIONS)[number];
      await Promise.all(
        runs.map(async (r) => {
          const result = await r.pipeline.respond(streamed(AUDIO.get(question) as Uint8Array)).done;
          r.wasted += result.preemptive?.wastedLlmCalls ?? 0;
          if (result.preemptive?.outcome === 'hit') r.hits++;
        }),
      );
    }
  } finally {
    for (const r of runs) {
      await r.pipeline.close();
      await r.stt.close();
    }
    await fake.close();
  }
  const [plain, eager] = runs;
  const p90 = (r: (typeof runs)[number]) => r.monitor.stats(OP.timeToFirstAudio)?.p90 ?? Number.NaN;
  printRows(
    `Real Deepgram adapter on Flux (fake /v2/listen: EagerEndOfTurn ${FLUX_EAGER_MS} ms, EndOfTurn ${FLUX_END_OF_TURN_MS} ms after the last speech), ${turns} turns each`,
    [
      {
        config: 'Flux, no eager end of turn',
        'TTFA P90 ms': p90(plain),
        'preemptive hits': plain.hits,
        'wasted LLM calls': plain.wasted,
        'TTFA ratio': 1,
      },
      {
        config: 'Flux, eagerEotThreshold 0.5',
        'TTFA P90 ms': p90(eager),
        'preemptive hits': eager.hits,
        'wasted LLM calls': eager.wasted,
        'TTFA ratio': p90(eager) / p90(plain),
      },
    ],
  );
  goal({
    id: 'latency.flux-eager-eot',
    what: `TTFA P90 through the real Deepgram adapter on Flux, eager end of turn on vs off (fake: eager ${FLUX_EAGER_MS} ms, end of turn ${FLUX_END_OF_TURN_MS} ms after the last speech; ${eager.hits}/${turns} hits, ${eager.wasted} wasted LLM calls)`,
    measured: `${p90(eager).toFixed(0)} vs ${p90(plain).toFixed(0)} ms (${(p90(eager) / p90(plain)).toFixed(2)}x)`,
    goal: '-',
    verdict: 'info',
  });
}

if (isMain(import.meta.url)) {
  if (process.argv.includes('--flux')) await runFluxEager({ smoke: smokeFromArgv() });
  else await run({ smoke: smokeFromArgv() });
}
