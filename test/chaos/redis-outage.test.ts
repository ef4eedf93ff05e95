/**
 * Chaos: Redis dies under load. Two instances of the demo pipeline (each with its own memory
 * L1, sharing one Redis L2 and one company API, like two app servers) take a closed-model load;
 * the test's own redis-server is SIGKILLed mid-run and restarted on the same port later.
 *
 * `npm test` runs a short version (4 s outage); `EARSHOT_CHAOS_FULL=1` runs the issue's
 * (10 s outage, longer run). Needs `redis-server` (skips loudly without it; fails under CI=true).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createCacheManager } from '../../src/cache/index.js';
import {
  DEMO_DOCUMENTS,
  DEMO_SYSTEM_PROMPT,
  type DemoIds,
  demoQuestion,
  QUESTION_KINDS,
} from '../../src/cli/demo-data.js';
import { createCachedCompanyApi, createCompanyApiClient } from '../../src/company-api/index.js';
import { createCompanyApiTools } from '../../src/company-api/tools.js';
import { runClosedModel } from '../../src/loadtest/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { createVoicePipeline, type VoicePipeline } from '../../src/pipeline/index.js';
import { createRedisTier, type RedisTier } from '../../src/redis/index.js';
import {
  FakeDocumentSearch,
  FakeLanguageModel,
  FakeSpeechToText,
  FakeTextToSpeech,
  latencyProfiles,
  stageLatencyProfiles,
  startFakeCompanyApi,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import { PrivateRedis, requireRedisServerBinary } from '../redis/helpers.js';
import { CHAOS_FULL, LoopLag, ms1, percentile, RejectionWatch, reportFigures, s2, sleep } from './helpers.js';
import { StampingCache } from './stamping-cache.js';

const hasRedisServer = await requireRedisServerBinary('the Redis outage chaos test');

/** Phases of the run, ms: load before the kill, the outage, load after the restart. */
const BEFORE_MS = CHAOS_FULL ? 6000 : 3000;
const OUTAGE_MS = CHAOS_FULL ? 10_000 : 4000;
const AFTER_MS = CHAOS_FULL ? 10_000 : 6000;
/** "L2 hits again within a few seconds of the restart." */
const L2_BACK_WITHIN_MS = 5000;
const USERS = 8;
/** The tier's per-command deadline (the default). */
const COMMAND_TIMEOUT_MS = 50;

/**
 * Short lifetimes, so entries expire, go stale and get refreshed many times during the run,
 * in Redis and in L1, before, during and after the outage.
 */
const NAMESPACES = {
  'company_api:load': { ttlSeconds: 2, graceSeconds: 2 },
  'company_api:inventory': { ttlSeconds: 2, graceSeconds: 2 },
  'company_api:equipment': { ttlSeconds: 2, graceSeconds: 2 },
  pinecone: { ttlSeconds: 3, graceSeconds: 2 },
  llm: { ttlSeconds: 2 },
  tts: { ttlSeconds: 4 },
};

interface TierCall {
  at: number;
  startedAt: number;
  ms: number;
  op: string;
}

/** Times every call of a Redis tier (reads, writes, lock, bus) without changing what it does. */
function timeTier(tier: RedisTier, log: TierCall[]): void {
  const wrap = <O extends object>(obj: O, name: keyof O & string, label: string): void => {
    const fn = obj[name] as unknown as (...args: unknown[]) => unknown;
    (obj as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      const startedAt = performance.now();
      const done = () => {
        const at = performance.now();
        log.push({ at, startedAt, ms: at - startedAt, op: label });
      };
      const r = fn.apply(this, args) as Promise<unknown>;
      r.then(done, done);
      return r;
    };
  };
  for (const m of ['get', 'getMany', 'set', 'setMany', 'delete'] as const) wrap(tier, m, m);
  wrap(tier.lock, 'acquire', 'lock.acquire');
  wrap(tier.lock, 'release', 'lock.release');
  if (tier.bus) wrap(tier.bus, 'publish', 'bus.publish');
}

interface Instance {
  pipeline: VoicePipeline;
  cache: StampingCache;
  tier: RedisTier;
}

describe.skipIf(!hasRedisServer)('Redis dies under load', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it(
    'serves every turn, keeps every cache call within its deadline, is back on L2 within seconds and never serves an expired value',
    async () => {
      const watch = new RejectionWatch();
      cleanups.push(async () => watch.dispose());
      const lag = new LoopLag();
      cleanups.push(async () => lag.dispose());
      const redis = await PrivateRedis.start();
      cleanups.push(() => redis.stop());
      const api = await startFakeCompanyApi({ latency: latencyProfiles.companyApi, seed: 5 });
      cleanups.push(() => api.close());
      const ids: DemoIds = {
        loads: api.data.loads.slice(0, 40).map((l) => l.id),
        items: api.data.inventory.slice(0, 40).map((i) => i.id),
        skus: api.data.inventory.slice(0, 40).map((i) => i.sku),
        equipment: api.data.equipment.slice(0, 40).map((e) => e.id),
      };

      const monitor = new PerformanceMonitor();
      const cacheSamples: { at: number; tier: string; outcome: string; name: string; ms: number }[] = [];
      monitor.onRecord((e) => {
        if (e.name === 'cache_read' || e.name === 'cache_write')
          cacheSamples.push({
            at: performance.now(),
            tier: String(e.labels.tier),
            outcome: String(e.labels.outcome),
            name: e.name,
            ms: e.durationMs,
          });
      });
      const tierCalls: TierCall[] = [];
      const p = stageLatencyProfiles.sourceDesignAfter;
      const instances: Instance[] = [];
      for (let i = 0; i < 2; i++) {
        const tier = createRedisTier({
          url: redis.url,
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
          keyPrefix: 'chaos:',
        });
        timeTier(tier, tierCalls);
        const manager = createCacheManager({ monitor, l2: tier, namespaces: NAMESPACES });
        await manager.connect();
        cleanups.push(() => manager.close());
        const cache = new StampingCache(manager);
        const client = createCompanyApiClient({ baseUrl: api.url, monitor });
        const companyApi = createCachedCompanyApi(client, cache, { monitor });
        const pipeline = createVoicePipeline({
          stt: new FakeSpeechToText({ latency: p.stt, seed: 10 + i }),
          llm: new FakeLanguageModel({ latency: p.llm, seed: 20 + i }),
          tts: new FakeTextToSpeech({ latency: p.tts, seed: 30 + i }),
          search: new FakeDocumentSearch(DEMO_DOCUMENTS, { latency: p.search, seed: 40 + i }),
          tools: createCompanyApiTools(companyApi),
          systemPrompt: DEMO_SYSTEM_PROMPT,
          monitor,
          cache: { store: cache, llm: true, tts: true, search: true },
        });
        instances.push({ pipeline, cache, tier });
      }

      // The outage, on its own clock while the load runs.
      const marks: { killAt?: number; restartAt?: number; redisBackAt?: number } = {};
      const outage = (async () => {
        await sleep(BEFORE_MS);
        marks.killAt = performance.now();
        await redis.kill();
        await sleep(OUTAGE_MS);
        marks.restartAt = performance.now();
        await redis.launch(); // resolves once the new process answers PING
        marks.redisBackAt = performance.now();
      })();

      let silent = 0;
      let turnsDuringOutage = 0;
      const ttfaByPhase: Record<'before' | 'outage' | 'after', number[]> = {
        before: [],
        outage: [],
        after: [],
      };
      const run = await runClosedModel({
        users: USERS,
        spawnRate: 20,
        thinkTimeMs: [50, 150],
        runTimeMs: BEFORE_MS + OUTAGE_MS + AFTER_MS,
        seed: 3,
        monitor,
        scenarios: QUESTION_KINDS.map((kind) => ({
          name: kind,
          async run(ctx) {
            const { pipeline } = instances[ctx.user % 2] as Instance;
            const question = demoQuestion(kind, ids, ctx.random);
            const started = performance.now();
            const result = await pipeline.respond(synthesizeFakeSpeech(question), { signal: ctx.signal })
              .done;
            if (result.spokenText.length === 0 && !result.interrupted) silent++;
            const phase =
              marks.killAt === undefined || started < marks.killAt
                ? 'before'
                : marks.redisBackAt === undefined
                  ? 'outage'
                  : 'after';
            if (phase === 'outage') turnsDuringOutage++;
            if (result.timeline.timeToFirstAudioMs !== undefined)
              ttfaByPhase[phase].push(result.timeline.timeToFirstAudioMs);
            return { waterfall: result.timeline, interrupted: result.interrupted };
          },
        })),
      });
      await outage;
      const lagMaxMs = lag.maxMs;
      await watch.settle();

      const killAt = marks.killAt as number;
      const backAt = marks.redisBackAt as number;
      const during = <T extends { at: number; startedAt?: number }>(xs: readonly T[]) =>
        xs.filter((x) => x.at >= killAt && (x.startedAt ?? x.at) <= backAt);
      const tierDuring = during(tierCalls);
      const pipelineCacheDuring = instances
        .flatMap((inst) => inst.cache.calls)
        .map((c) => ({ ...c, at: c.startedAt + c.ms }))
        .filter((c) => c.at >= killAt && c.startedAt <= backAt);
      // A deadline is a timer: it fires once the event loop gets to it, so a call may end
      // later than its deadline by the loop's lag at that moment, whatever the cache does.
      const allowanceMs = 25 + lagMaxMs;
      const slowTier = tierDuring.filter((c) => c.ms > COMMAND_TIMEOUT_MS + allowanceMs);
      const slowPipeline = pipelineCacheDuring.filter((c) => c.ms > COMMAND_TIMEOUT_MS + allowanceMs);
      const l2HitsBefore = cacheSamples.filter(
        (s) => s.tier === 'redis' && s.outcome === 'hit' && s.at < killAt,
      ).length;
      const l2HitsDuring = cacheSamples.filter(
        (s) => s.tier === 'redis' && s.outcome === 'hit' && s.at >= killAt && s.at <= backAt,
      ).length;
      const firstL2HitAfter = cacheSamples.find(
        (s) => s.tier === 'redis' && s.outcome === 'hit' && s.at > backAt,
      );
      const l2BackMs = firstL2HitAfter === undefined ? undefined : firstL2HitAfter.at - backAt;
      const violations = instances.flatMap((inst) => inst.cache.violations);
      const served = instances.reduce((n, inst) => n + inst.cache.served, 0);
      const maxAgeRatio = Math.max(...instances.map((inst) => inst.cache.maxAgeRatio));
      const health = instances.map((inst) => inst.tier.health());

      reportFigures('Redis dies under load', {
        run: `${s2(run.durationMs)} s, ${USERS} users, outage ${s2(OUTAGE_MS)} s starting at ${s2(BEFORE_MS)} s`,
        turns: { completed: run.completed, failed: run.errors, duringOutage: turnsDuringOutage, silent },
        timeToFirstAudioP50Ms: Object.fromEntries(
          Object.entries(ttfaByPhase).map(([k, v]) => [k, ms1(percentile(v, 50))]),
        ),
        timeToFirstAudioP90Ms: Object.fromEntries(
          Object.entries(ttfaByPhase).map(([k, v]) => [k, ms1(percentile(v, 90))]),
        ),
        staleServedFromL1: {
          whole: cacheSamples.filter((x) => x.tier === 'memory' && x.outcome === 'stale').length,
          outage: during(cacheSamples).filter((x) => x.tier === 'memory' && x.outcome === 'stale').length,
        },
        redisErrorsRecorded: cacheSamples.filter((x) => x.tier === 'redis' && x.outcome === 'error').length,
        redisCallsDuringOutage: tierDuring.length,
        redisCallMaxMsDuringOutage: ms1(Math.max(0, ...tierDuring.map((c) => c.ms))),
        redisCallP99MsDuringOutage: ms1(
          percentile(
            tierDuring.map((c) => c.ms),
            99,
          ),
        ),
        pipelineCacheCallsDuringOutage: pipelineCacheDuring.length,
        pipelineCacheCallMaxMsDuringOutage: ms1(Math.max(0, ...pipelineCacheDuring.map((c) => c.ms))),
        redisCallMaxMsWholeRun: ms1(Math.max(0, ...tierCalls.map((c) => c.ms))),
        deadlineMs: COMMAND_TIMEOUT_MS,
        allowanceMs: ms1(allowanceMs),
        loopLagMaxMs: ms1(lagMaxMs),
        l2HitsBeforeKill: l2HitsBefore,
        l2HitsDuringOutage: l2HitsDuring,
        restartToRedisAnsweringMs: ms1(backAt - (marks.restartAt as number)),
        redisAnsweringToFirstL2HitMs: ms1(l2BackMs),
        valuesServed: served,
        servedPastTtlOrGrace: violations.length,
        oldestServedShareOfLimit: Math.round(maxAgeRatio * 1000) / 1000,
        breakerOpenedTimes: health.map((h) => h.timesOpened),
        tierStateAtEnd: health.map((h) => h.state),
        unhandledRejections: watch.reasons.length,
      });

      expect(run.errors, JSON.stringify(run.errorKinds)).toBe(0);
      expect(run.completed).toBeGreaterThan(USERS * 4);
      expect(silent).toBe(0);
      expect(turnsDuringOutage).toBeGreaterThan(0);
      expect(tierDuring.length).toBeGreaterThan(0);
      expect(
        slowTier,
        `Redis calls over ${COMMAND_TIMEOUT_MS} + ${ms1(allowanceMs)} ms during the outage`,
      ).toEqual([]);
      expect(
        slowPipeline,
        `cache calls over ${COMMAND_TIMEOUT_MS} + ${ms1(allowanceMs)} ms during the outage`,
      ).toEqual([]);
      expect(l2HitsBefore).toBeGreaterThan(0);
      expect(l2HitsDuring).toBe(0);
      expect(l2BackMs, 'no L2 hit after the restart').toBeDefined();
      expect(l2BackMs as number).toBeLessThan(L2_BACK_WITHIN_MS);
      expect(served).toBeGreaterThan(0);
      expect(violations).toEqual([]);
      expect(health.map((h) => Number(h.timesOpened) >= 1)).toEqual([true, true]);
      expect(watch.reasons).toEqual([]);
    },
    (BEFORE_MS + OUTAGE_MS + AFTER_MS) * 2 + 30_000,
  );
});
