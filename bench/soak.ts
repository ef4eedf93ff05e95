/**
 * Soak test: the demo voice pipeline (the real Deepgram, OpenAI, ElevenLabs and Pinecone
 * adapters on their SDKs, against earshot's fake servers with the source design's latency
 * profile, the company-API tools and the LLM, TTS and search caches on) under a steady
 * open-model load for `--minutes` (default 10), sampling the heap after a forced GC, RSS and the
 * event-loop delay every `--sample-seconds` (default 5). The fakes run in a child process, as
 * providers are remote in production: what is measured is earshot, the SDKs and Node.
 *
 * Verdict: memory is flat after warm-up when the least-squares slope of the data heap (heap
 * used after GC, minus compiled code and bytecode, which V8 keeps adding to for minutes while it
 * optimizes) after the warm-up (`--warmup-minutes`: half the run, at least 5 minutes, which is
 * when the data heap was measured to settle) is below `--max-slope` KiB/min. A run shorter than
 * the warm-up plus 2 minutes prints its figures but does not judge memory. The default limit is half of what a leak of 1 KiB per turn adds at the configured
 * rate: 120 KiB/min at 4 turns/s. A leaked turn (its events and audio) is 50–100 KB, so any
 * per-turn leak of a real object is far above it; `--leak-bytes N` retains N bytes per turn on
 * purpose, to show the judge catches it. `--snapshots DIR` writes heap snapshots where judging
 * starts and at the end, to diff by constructor when it fails.
 *
 *   npm run soak                        # 10 minutes, 4 turns/s
 *   npx tsx bench/soak.ts --minutes 3   # figures only: too short to judge memory
 *   npx tsx bench/soak.ts --leak-bytes 1024   # a leak of 1 KiB per turn: must fail
 *
 * Exit code: 0 flat, 1 memory grows or more than 1 % of turns failed, 2 bad arguments.
 * Not part of `npm test` or `npm run bench` (bench/run.ts only runs *.bench.ts): it is long by design.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type CacheManager, createCacheManager } from '../src/cache/index.js';
import {
  DEFAULT_QUESTION_WEIGHTS,
  DEMO_DOCUMENTS,
  DEMO_SYSTEM_PROMPT,
  type DemoIds,
  demoQuestion,
  type QuestionKind,
} from '../src/cli/demo-data.js';
import { createCachedCompanyApi, createCompanyApiClient } from '../src/company-api/index.js';
import { createCompanyApiTools, createEmbeddingSearch, createVoicePipeline } from '../src/index.js';
import { seededRandom } from '../src/loadtest/random.js';
import { PerformanceMonitor } from '../src/perf/index.js';
import { DeepgramSpeechToText } from '../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../src/providers/elevenlabs/index.js';
import { OpenAIEmbedder, OpenAILanguageModel } from '../src/providers/openai/index.js';
import { PineconeVectorIndex } from '../src/providers/pinecone/index.js';
import { createRedisTier } from '../src/redis/index.js';
import { type FakeProviders, startFakeProviders, synthesizeFakeSpeech } from '../src/testing/index.js';
import { startChildFakes } from './child-fakes.js';

// A forced GC before each heap sample measures live objects, not garbage waiting for collection.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Options {
  minutes: number;
  rate: number;
  sampleMs: number;
  /** Minutes before judging starts. */
  warmupMinutes: number;
  maxSlopeKiBPerMin: number;
  leakBytes: number;
  seed: number;
  turnTimeoutMs: number;
  redisUrl: string | undefined;
  cacheMaxBytes: number;
  json: string | undefined;
  snapshots: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      rate: { type: 'string' },
      'sample-seconds': { type: 'string' },
      'warmup-minutes': { type: 'string' },
      'max-slope': { type: 'string' },
      'leak-bytes': { type: 'string' },
      seed: { type: 'string' },
      redis: { type: 'boolean' },
      'cache-max-bytes': { type: 'string' },
      snapshots: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'Usage: npx tsx bench/soak.ts [--minutes 10] [--rate 4] [--sample-seconds 5] [--warmup-minutes M]\n' +
        '         [--max-slope KiB/min] [--leak-bytes N] [--seed 1] [--redis] [--cache-max-bytes N] [--json FILE]\n' +
        '         [--snapshots DIR]  (heap snapshots where judging starts and at the end, to diff)',
    );
    process.exit(0);
  }
  const num = (name: string, raw: string | undefined, dflt: number, ok: (n: number) => boolean): number => {
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || !ok(n)) {
      console.error(`soak: bad --${name} "${raw}"`);
      process.exit(2);
    }
    return n;
  };
  const rate = num('rate', values.rate, 4, (n) => n > 0 && n <= 200);
  const minutes = num('minutes', values.minutes, 10, (n) => n > 0 && n <= 24 * 60);
  return {
    minutes,
    rate,
    sampleMs: 1000 * num('sample-seconds', values['sample-seconds'], 5, (n) => n >= 0.5 && n <= 600),
    // Measured: the data heap settles about 5 minutes in (V8's feedback and inline caches keep
    // growing until then), so judging never starts earlier by default.
    warmupMinutes: num('warmup-minutes', values['warmup-minutes'], Math.max(5, minutes / 2), (n) => n >= 0),
    // 1 KiB per turn at the configured rate, halved (see the module comment).
    maxSlopeKiBPerMin: num('max-slope', values['max-slope'], (rate * 60) / 2, (n) => n > 0),
    leakBytes: num('leak-bytes', values['leak-bytes'], 0, (n) => n >= 0 && Number.isInteger(n)),
    seed: num('seed', values.seed, 1, (n) => Number.isInteger(n)),
    turnTimeoutMs: 15_000,
    redisUrl: values.redis ? (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined,
    cacheMaxBytes: num(
      'cache-max-bytes',
      values['cache-max-bytes'],
      2 * MiB,
      (n) => Number.isInteger(n) && n > 0,
    ),
    json: values.json,
    snapshots: values.snapshots,
  };
}

interface Sample {
  tSec: number;
  started: number;
  completed: number;
  errors: number;
  inFlight: number;
  heapUsedMiB: number;
  /**
   * Compiled code and bytecode with their metadata (v8.getHeapCodeStatistics): grows for minutes
   * while V8 tiers functions up, then levels off. Not application data.
   */
  codeMiB: number;
  /** The heap minus {@link codeMiB}: what the judge looks at. */
  dataMiB: number;
  rssMiB: number;
  externalMiB: number;
  eldP50Ms: number;
  eldP99Ms: number;
  eldMaxMs: number;
  ttfaP90Ms: number | undefined;
  series: number;
  cacheEntries: number | undefined;
}

const MiB = 1024 * 1024;
// monitorEventLoopDelay records the whole interval between its timer ticks, so every value
// includes the sampling resolution: subtract it to report the delay itself.
const ELD_RESOLUTION_MS = 10;
const delayMs = (ns: number) => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
const codeMiB = (): number => {
  const c = v8.getHeapCodeStatistics();
  return (c.code_and_metadata_size + c.bytecode_and_metadata_size) / MiB;
};
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** Least-squares slope of y over x, and the fit's R². */
function regression(xs: number[], ys: number[]): { slope: number; r2: number } {
  const n = xs.length;
  if (n < 3) return { slope: 0, r2: 0 };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, r2: sxx === 0 || syy === 0 ? 0 : (sxy * sxy) / (sxx * syy) };
}

function printRow(s: Sample): void {
  const cells = [
    `${s.tSec.toFixed(0).padStart(5)}s`,
    String(s.completed).padStart(7),
    String(s.errors).padStart(6),
    String(s.inFlight).padStart(5),
    s.heapUsedMiB.toFixed(2).padStart(9),
    s.dataMiB.toFixed(2).padStart(9),
    s.rssMiB.toFixed(1).padStart(8),
    s.eldP99Ms.toFixed(1).padStart(8),
    s.eldMaxMs.toFixed(1).padStart(8),
    (s.ttfaP90Ms === undefined ? '-' : s.ttfaP90Ms.toFixed(0)).padStart(8),
    String(s.series).padStart(6),
    (s.cacheEntries === undefined ? '-' : String(s.cacheEntries)).padStart(7),
  ];
  console.log(cells.join(' '));
}

/** What the fakes process tells the soak: where the fakes listen, and ids to ask about. */
interface FakesHandle {
  options: FakeProviders['options'];
  ids: DemoIds;
  close(): Promise<void>;
}

/**
 * The fake providers run in a child process (this file with `--serve-fakes`): what is measured
 * is earshot, the SDKs and the pipeline, as in production where the providers are remote,
 * not the fakes' request logs and servers.
 */
async function startFakesProcess(seed: number): Promise<FakesHandle> {
  const { ready, close } = await startChildFakes<Omit<FakesHandle, 'close'>>(fileURLToPath(import.meta.url), [
    '--serve-fakes',
    '--seed',
    String(seed),
  ]);
  return { ...ready, close };
}

/** `--serve-fakes`: starts every fake, prints where they are, serves until stdin closes. */
async function serveFakes(seed: number): Promise<void> {
  const fakes = await startFakeProviders({ latency: 'sourceDesignAfter', seed, documents: DEMO_DOCUMENTS });
  const data = fakes.companyApi.data;
  const ids: DemoIds = {
    loads: data.loads.slice(0, 40).map((l) => l.id),
    items: data.inventory.slice(0, 40).map((i) => i.id),
    skus: data.inventory.slice(0, 40).map((i) => i.sku),
    equipment: data.equipment.slice(0, 40).map((e) => e.id),
  };
  process.stdout.write(`${JSON.stringify({ options: fakes.options, ids })}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await fakes.close();
}

/** A scenario: one voice turn asking one kind of question. */
interface SoakScenario {
  name: QuestionKind;
  weight: number;
  run(signal: AbortSignal): Promise<void>;
}

/**
 * The demo pipeline, wired from earshot's public pieces: the four provider adapters on their
 * SDKs against the fake servers (source design latency), the company-API tools over the cached
 * client, Pinecone document search, and the LLM, TTS and search caches. The memory tier is
 * bounded by `cacheMaxBytes` so it is full (and evicting) within the warm-up: with the
 * production default (64 MiB) it keeps filling for hours at this load, which is not a leak.
 */
async function startSoakTarget(
  o: Options,
  monitor: PerformanceMonitor,
): Promise<{ scenarios: SoakScenario[]; cache: CacheManager; description: string; close(): Promise<void> }> {
  const fakes = await startFakesProcess(o.seed);
  const l2 = o.redisUrl
    ? createRedisTier({ url: o.redisUrl, keyPrefix: `earshot-soak:${process.pid}:` })
    : undefined;
  const cache = createCacheManager({
    monitor,
    memory: { maxBytes: o.cacheMaxBytes },
    ...(l2 ? { l2 } : {}),
  });
  await cache.connect();
  // The adapters get a private monitor: the pipeline records the stages into the run's.
  const own = new PerformanceMonitor();
  const client = createCompanyApiClient({ ...fakes.options.companyApi, monitor });
  const companyApi = createCachedCompanyApi(client, cache, { monitor });
  const search = createEmbeddingSearch(
    new OpenAIEmbedder({ ...fakes.options.embedder, monitor: own }),
    new PineconeVectorIndex({ ...fakes.options.pinecone, monitor: own }),
  );
  const pipeline = createVoicePipeline({
    stt: new DeepgramSpeechToText({ ...fakes.options.deepgram, monitor: own }),
    llm: new OpenAILanguageModel({ ...fakes.options.openai, monitor: own, maxTokens: 300 }),
    tts: new ElevenLabsTextToSpeech({ ...fakes.options.elevenlabs, monitor: own, outputFormat: 'pcm_16000' }),
    tools: createCompanyApiTools(companyApi),
    search,
    systemPrompt: DEMO_SYSTEM_PROMPT,
    monitor,
    cache: { store: cache, llm: true, tts: true, search: true },
  });
  const ids = fakes.ids;
  const random = seededRandom(o.seed + 1);
  const scenarios = Object.entries(DEFAULT_QUESTION_WEIGHTS).map(
    ([name, weight]): SoakScenario => ({
      name: name as QuestionKind,
      weight,
      async run(signal) {
        const question = demoQuestion(name as QuestionKind, ids, random);
        const turn = pipeline.respond(
          { audio: synthesizeFakeSpeech(question), format: 'pcm_16000' },
          { signal },
        );
        await turn.done;
      },
    }),
  );
  return {
    scenarios,
    cache,
    description:
      'demo pipeline: Deepgram, OpenAI, ElevenLabs and Pinecone adapters on their SDKs against the fake servers ' +
      '(in a child process, so their memory and CPU are not measured) ' +
      `(latency "sourceDesignAfter"), company-API tools, LLM/TTS/search caches; memory tier bounded at ` +
      `${round(o.cacheMaxBytes / MiB, 1)} MiB${o.redisUrl ? ' + Redis' : ''}`,
    async close() {
      await cache.close();
      await fakes.close();
    },
  };
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const monitor = new PerformanceMonitor();
  const target = await startSoakTarget(o, monitor);
  const scenarios = target.scenarios;
  const random = seededRandom(o.seed);
  const total = scenarios.reduce((a, sc) => a + sc.weight, 0);
  const pick = (): SoakScenario => {
    let r = random() * total;
    for (const sc of scenarios) {
      r -= sc.weight;
      if (r < 0) return sc;
    }
    return scenarios[scenarios.length - 1]!;
  };
  const durationMs = o.minutes * 60_000;
  const leaked: string[] = [];
  let started = 0;
  let completed = 0;
  let errors = 0;
  let inFlight = 0;
  let dropped = 0;
  const errorKinds = new Map<string, number>();

  const runTurn = (): void => {
    if (inFlight >= 200) {
      dropped++;
      return;
    }
    const scenario = pick();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort('turn deadline'), o.turnTimeoutMs);
    inFlight++;
    started++;
    scenario
      .run(controller.signal)
      .then(
        () => {
          completed++;
          if (o.leakBytes > 0) leaked.push(randomBytes(Math.ceil(o.leakBytes / 2)).toString('hex')); // a unique heap string
        },
        (err: unknown) => {
          errors++;
          const kind = (err as { code?: string })?.code ?? (err as Error)?.name ?? 'unknown';
          errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
        },
      )
      .finally(() => {
        clearTimeout(timer);
        inFlight--;
      });
  };

  console.log(
    `# soak: ${o.minutes} min at ${o.rate} turns/s (open model), sample every ${o.sampleMs / 1000} s, ` +
      `memory judged after ${round(o.warmupMinutes, 1)} min, max heap slope ${round(o.maxSlopeKiBPerMin)} KiB/min` +
      (o.leakBytes ? `, LEAKING ${o.leakBytes} B per turn on purpose` : ''),
  );
  console.log(`# ${target.description}`);
  console.log(`# node ${process.version}, ${process.platform}/${process.arch}`);
  console.log(
    '      t    turns errors  in-fl heap(MiB) data(MiB) rss(MiB) eldP99ms eldMaxMs ttfaP90  series entries',
  );

  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  const eldAll = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  const eldJudged = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();
  eldAll.enable();
  eldJudged.enable();
  let judging = false;
  const samples: Sample[] = [];
  const t0 = performance.now();
  const sample = (): void => {
    gc();
    const m = process.memoryUsage();
    const stats = target.cache.stats() as { tiers?: { l1?: { entries?: number } } } | undefined;
    const s: Sample = {
      tSec: (performance.now() - t0) / 1000,
      started,
      completed,
      errors,
      inFlight,
      heapUsedMiB: m.heapUsed / MiB,
      codeMiB: codeMiB(),
      dataMiB: 0,
      rssMiB: m.rss / MiB,
      externalMiB: (m.external + m.arrayBuffers) / MiB,
      eldP50Ms: delayMs(eld.percentile(50)),
      eldP99Ms: delayMs(eld.percentile(99)),
      eldMaxMs: delayMs(eld.max),
      ttfaP90Ms: monitor.stats('time_to_first_audio', { windowMs: 60_000 })?.p90 ?? undefined,
      series: monitor.collect().length,
      cacheEntries: stats?.tiers?.l1?.entries,
    };
    s.dataMiB = s.heapUsedMiB - s.codeMiB;
    if (!judging && s.tSec >= o.warmupMinutes * 60) {
      judging = true;
      eldJudged.reset();
    }
    eld.reset();
    samples.push(s);
    printRow(s);
    if (o.snapshots && !snapshotTaken && s.tSec >= o.warmupMinutes * 60) {
      snapshotTaken = true;
      console.log(
        `# heap snapshot: ${v8.writeHeapSnapshot(`${o.snapshots}/soak-judged-start.heapsnapshot`)}`,
      );
    }
  };
  let snapshotTaken = false;

  const arrivals = setInterval(runTurn, 1000 / o.rate);
  const sampler = setInterval(sample, o.sampleMs);
  await new Promise((r) => setTimeout(r, durationMs));
  clearInterval(arrivals);
  clearInterval(sampler);
  sample();
  // Let the last turns finish (bounded), then stop everything.
  const drainUntil = performance.now() + o.turnTimeoutMs;
  while (inFlight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
  eld.disable();
  eldAll.disable();
  eldJudged.disable();
  if (o.snapshots) {
    gc();
    console.log(`# heap snapshot: ${v8.writeHeapSnapshot(`${o.snapshots}/soak-end.heapsnapshot`)}`);
  }
  await target.close();

  // ── verdict ──
  // Judging needs at least two minutes after the warm-up: a slope over less is mostly noise.
  const judgedMinutes = o.minutes - o.warmupMinutes;
  const canJudge = judgedMinutes >= 2;
  const judged = samples.filter((s) => s.tSec >= (canJudge ? o.warmupMinutes : o.minutes / 2) * 60);
  const minutes = judged.map((s) => s.tSec / 60);
  const kib = (mib: number) => (mib * MiB) / 1024;
  const data = regression(
    minutes,
    judged.map((s) => kib(s.dataMiB)),
  );
  const heap = regression(
    minutes,
    judged.map((s) => kib(s.heapUsedMiB)),
  );
  const code = regression(
    minutes,
    judged.map((s) => kib(s.codeMiB)),
  );
  const rss = regression(
    minutes,
    judged.map((s) => kib(s.rssMiB)),
  );
  const dataValues = judged.map((s) => s.dataMiB);
  const errorRate = started === 0 ? 0 : errors / started;
  const flat = !canJudge || data.slope < o.maxSlopeKiBPerMin;
  const healthy = errorRate <= 0.01 && completed > 0;
  const summary = {
    minutes: o.minutes,
    ratePerSec: o.rate,
    turnsStarted: started,
    turnsCompleted: completed,
    errors,
    errorKinds: Object.fromEntries(errorKinds),
    dropped,
    errorRate: round(errorRate, 4),
    throughputPerSec: round(completed / (durationMs / 1000), 2),
    samplesJudged: judged.length,
    dataHeapMiB: {
      first: round(samples[0]?.dataMiB ?? 0, 2),
      judgedMin: round(Math.min(...dataValues), 2),
      judgedMax: round(Math.max(...dataValues), 2),
      last: round(samples.at(-1)?.dataMiB ?? 0, 2),
    },
    dataHeapSlopeKiBPerMin: round(data.slope, 1),
    dataHeapSlopeR2: round(data.r2, 3),
    maxSlopeKiBPerMin: round(o.maxSlopeKiBPerMin, 1),
    heapUsedSlopeKiBPerMin: round(heap.slope, 1),
    codeSlopeKiBPerMin: round(code.slope, 1),
    codeMiB: { first: round(samples[0]?.codeMiB ?? 0, 2), last: round(samples.at(-1)?.codeMiB ?? 0, 2) },
    rssMiB: { first: round(samples[0]?.rssMiB ?? 0), last: round(samples.at(-1)?.rssMiB ?? 0) },
    rssSlopeKiBPerMin: round(rss.slope, 1),
    eventLoopDelayMs: {
      p50: round(delayMs(eldAll.percentile(50)), 2),
      p90: round(delayMs(eldAll.percentile(90)), 2),
      p99: round(delayMs(eldAll.percentile(99)), 2),
      max: round(delayMs(eldAll.max), 2),
    },
    eventLoopDelayAfterWarmupMs: {
      p50: round(delayMs(eldJudged.percentile(50)), 2),
      p99: round(delayMs(eldJudged.percentile(99)), 2),
      max: round(delayMs(eldJudged.max), 2),
    },
    timeToFirstAudio: (() => {
      const s = monitor.stats('time_to_first_audio');
      return s ? { count: s.count, p50: round(s.p50), p90: round(s.p90), p99: round(s.p99) } : undefined;
    })(),
    monitorSeries: monitor.collect().length,
    memoryJudged: canJudge,
    memoryFlat: canJudge ? flat : null,
    pass: flat && healthy,
  };
  console.log('\n# summary');
  console.log(JSON.stringify(summary, null, 2));
  const memoryWords = canJudge
    ? `heap (data, after GC) slope ${summary.dataHeapSlopeKiBPerMin} KiB/min over the last ${round(judgedMinutes, 1)} min`
    : `memory NOT JUDGED (the run must last the ${round(o.warmupMinutes, 1)}-min warm-up + 2 min; ` +
      `informative slope over its second half: ${summary.dataHeapSlopeKiBPerMin} KiB/min)`;
  console.log(
    `\n${summary.pass ? 'PASS' : 'FAIL'}: ${memoryWords} (limit ${summary.maxSlopeKiBPerMin}; heapUsed ${summary.heapUsedSlopeKiBPerMin}, ` +
      `of which JIT code ${summary.codeSlopeKiBPerMin}), data heap ${summary.dataHeapMiB.judgedMin}–${summary.dataHeapMiB.judgedMax} MiB, ` +
      `RSS ${summary.rssMiB.first} → ${summary.rssMiB.last} MiB, event-loop delay P99 ${summary.eventLoopDelayMs.p99} ms ` +
      `(after warm-up ${summary.eventLoopDelayAfterWarmupMs.p99} ms, max ${summary.eventLoopDelayAfterWarmupMs.max}), ` +
      `${completed} turns, ${errors} errors` +
      (flat ? '' : ' — MEMORY GROWS') +
      (healthy ? '' : ' — TOO MANY FAILED TURNS'),
  );
  if (o.json) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(o.json, `${JSON.stringify({ summary, samples }, null, 2)}\n`);
  }
  leaked.length = 0;
  return summary.pass ? 0 : 1;
}

if (process.argv.includes('--serve-fakes')) {
  const i = process.argv.indexOf('--seed');
  serveFakes(i >= 0 ? Number(process.argv[i + 1]) : 1).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(2);
    },
  );
}
