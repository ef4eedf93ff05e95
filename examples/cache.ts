/**
 * The namespaced TTL cache: single-flight loading, stale-while-revalidate with fail-safe,
 * negative caching, `wrap`, stats and metrics. Runs in memory; with Redis reachable on
 * REDIS_URL (default redis://127.0.0.1:6379) it also shows two instances sharing a Redis tier.
 * Run: npx tsx --tsconfig examples/tsconfig.json examples/cache.ts
 */
import { createCacheManager, NotFoundError, PerformanceMonitor } from 'earshot';
import { createRedisTier } from 'earshot/redis';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const monitor = new PerformanceMonitor();
const cache = createCacheManager({
  monitor,
  namespaces: { weather: { ttlSeconds: 0.3, graceSeconds: 60 } },
});

// 1. Single-flight: ten callers of one missing key, one upstream call.
let upstreamCalls = 0;
async function fetchLoad(id: string, signal: AbortSignal) {
  upstreamCalls++;
  await sleep(50);
  signal.throwIfAborted();
  return { id, status: 'in_transit', eta: '18:30' };
}
const loads = await Promise.all(
  Array.from({ length: 10 }, () =>
    cache.getOrSet('2314', 'company_api:load', ({ signal }) => fetchLoad('2314', signal), {
      timeoutMs: 2000,
    }),
  ),
);
console.log(`10 callers got load ${loads[0]?.id}; upstream calls: ${upstreamCalls}`);

// 2. Grace: past its TTL the old forecast is served at once while one refresh runs; if the
//    refresh fails, the old value keeps being served (fail-safe).
let forecast = 'sunny';
let weatherUp = true;
const getWeather = () =>
  cache.getOrSet('reno', 'weather', async () => {
    if (!weatherUp) throw new Error('weather API down');
    return forecast;
  });
console.log(`weather: ${await getWeather()}`);
await sleep(400); // past the 0.3 s TTL, inside the 60 s grace
forecast = 'rain';
console.log(`weather after TTL: ${await getWeather()} (stale, refreshing in the background)`);
await sleep(20);
console.log(`weather after the refresh: ${await getWeather()}`);
await sleep(400);
weatherUp = false;
console.log(`weather with the API down: ${await getWeather()} (fail-safe)`);

// 3. Negative caching: a "not found" answer is cached briefly as null.
let lookups = 0;
const findLoad = (id: string) =>
  cache.getOrSet(
    id,
    'company_api:load',
    async () => {
      lookups++;
      try {
        throw new NotFoundError(`load ${id} not found`, { provider: 'company_api' });
      } catch (err) {
        if (err instanceof NotFoundError) return null;
        throw err;
      }
    },
    { negativeTtlSeconds: 15 },
  );
await findLoad('999999');
await findLoad('999999');
console.log(`two lookups of a missing load, upstream lookups: ${lookups}`);

// 4. wrap: any async function, keyed by its arguments.
const answer = cache.wrap(async (question: string) => `42 (${question})`, {
  namespace: 'llm',
  name: 'answer',
});
await answer('meaning of life');
await answer('meaning of life');

// 5. What the cache and the monitor saw.
const stats = cache.stats();
for (const [ns, s] of Object.entries(stats.namespaces)) {
  console.log(
    `${ns}: hits ${s.hits}, misses ${s.misses}, stale ${s.stale}, errors ${s.errors}, hit rate ${(s.hitRate * 100).toFixed(0)} %`,
  );
}
const reads = monitor.stats('cache_read', { labels: { tier: 'memory' } });
console.log(`memory reads: ${reads?.count}, P90 ${reads?.p90.toFixed(3)} ms`);
await cache.close();

// 6. With Redis: two instances share L2; a write in one drops the other's L1 copy.
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `earshot-example:${process.pid}:`;
const a = createCacheManager({ monitor, l2: createRedisTier({ url, keyPrefix }) });
const b = createCacheManager({ monitor, l2: createRedisTier({ url, keyPrefix }) });
await Promise.all([a.connect(), b.connect()]);
if (a.stats().tiers.l2?.state === 'up') {
  await a.set('greeting', 'hello', 'tts', { ttlSeconds: 60 });
  await sleep(20);
  console.log(`b reads ${await b.get('greeting', 'tts')} (from Redis, now in b's L1)`);
  await a.set('greeting', 'bonjour', 'tts', { ttlSeconds: 60 });
  await sleep(50);
  console.log(`after a's write, b reads ${await b.get('greeting', 'tts')} (its L1 copy was dropped)`);
  await a.invalidateNamespace('tts');
} else {
  console.log(
    `Redis is not reachable at ${url}: the cache runs on memory alone (it did not wait for Redis).`,
  );
}
await Promise.all([a.close(), b.close()]);
