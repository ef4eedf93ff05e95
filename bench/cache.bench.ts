/**
 * The cache against its baselines and peers, in one run:
 *  1. memory hit: raw lru-cache `get` vs our memory tier vs BentoCache (memory) vs cache-manager (Keyv Map);
 *  2. Redis hit, sequential: raw ioredis GET vs our Redis tier vs BentoCache (redis driver) vs
 *     cache-manager (Keyv over the same ioredis client);
 *  3. Redis hit, 100 concurrent callers: the same, batches of 100;
 *  4. getOrSet stampede: 1000 concurrent callers of one missing key (loader runs, elapsed);
 *  5. our P50/P90/P99 read and write latency against local Redis (from the monitor);
 *  6. time to the first answer with Redis down: ours vs ioredis and BentoCache defaults.
 *
 * Goals (issue 3): memory hit ≥ 5x faster than BentoCache's and cache-manager's; Redis hit
 * within 10 % of raw ioredis sequentially and faster than both peers at 100 concurrent; P90
 * read < 1 ms and write < 1 ms on local Redis.
 * Run: `npx tsx bench/cache.bench.ts` (or `--smoke`). Needs Redis on REDIS_URL (default
 * 127.0.0.1:6379) for sections 2–5; they are skipped with a note without it.
 */
import { randomUUID } from 'node:crypto';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import { Redis } from 'ioredis';
import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';
import { createCacheManager } from '../src/cache/index.js';
import { PerformanceMonitor } from '../src/perf/index.js';
import { createRedisTier } from '../src/redis/index.js';
import {
  type BenchOptions,
  type BenchResult,
  isMain,
  printRows,
  printTable,
  smokeFromArgv,
} from './harness.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const VALUE = {
  loadId: '2314',
  status: 'in_transit',
  origin: { city: 'Reno', state: 'NV' },
  destination: { city: 'Boise', state: 'ID' },
  eta: '2026-11-25T18:30:00Z',
  stops: [{ city: 'Winnemucca', arrived: true }],
  driver: { name: 'A. Driver', phone: '+1-555-0100' },
};

/** A Keyv store over an ioredis client, so cache-manager talks to Redis through the same client as ours. */
function keyvIoredisStore(client: Redis) {
  return {
    opts: {},
    namespace: undefined as string | undefined,
    get: (key: string) => client.get(key).then((v) => v ?? undefined),
    set: (key: string, value: string, ttl?: number) =>
      ttl ? client.set(key, value, 'PX', ttl) : client.set(key, value),
    delete: async (key: string) => (await client.del(key)) > 0,
    clear: async () => undefined,
    on() {
      return this;
    },
  };
}

async function redisReachable(): Promise<boolean> {
  const c = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

function speedups(
  title: string,
  results: readonly BenchResult[],
  ours: string,
  others: readonly string[],
): void {
  const o = results.find((r) => r.name === ours);
  if (!o) return;
  for (const name of others) {
    const r = results.find((x) => x.name === name);
    if (r) console.log(`${title}: ${ours} is ${(r.nsPerOp / o.nsPerOp).toFixed(1)}x faster than ${name}`);
  }
}

interface Case {
  name: string;
  /** One operation (sequential cases) or one call of a concurrent batch. */
  fn: () => unknown;
  /** True for a synchronous baseline (not awaited). */
  sync?: boolean;
}

/**
 * Interleaved timing: round r runs every case once (in rotating order), so load from other
 * processes on this shared machine hits all cases alike; each case reports its best round.
 */
async function interleaved(
  cases: readonly Case[],
  { iterations, rounds, concurrency = 1 }: { iterations: number; rounds: number; concurrency?: number },
): Promise<BenchResult[]> {
  const best = new Map<string, number>(cases.map((c) => [c.name, Number.POSITIVE_INFINITY]));
  const once = async (c: Case, n: number): Promise<number> => {
    const t0 = process.hrtime.bigint();
    if (concurrency > 1) {
      for (let b = 0; b < n; b++) await Promise.all(Array.from({ length: concurrency }, () => c.fn()));
    } else if (c.sync === true) {
      for (let i = 0; i < n; i++) c.fn();
    } else {
      for (let i = 0; i < n; i++) await c.fn();
    }
    return Number(process.hrtime.bigint() - t0) / (n * concurrency);
  };
  for (const c of cases) await once(c, Math.max(1, Math.ceil(iterations / 5))); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(j + r) % cases.length]!;
      const ns = await once(c, iterations);
      if (ns < best.get(c.name)!) best.set(c.name, ns);
    }
  }
  return cases.map((c) => ({ name: c.name, nsPerOp: best.get(c.name)!, opsPerSec: 1e9 / best.get(c.name)! }));
}

async function memorySection(smoke: boolean): Promise<void> {
  const iterations = smoke ? 2_000 : 20_000;
  const keys = Array.from({ length: 100 }, (_, i) => `load:${i}`);
  const lru = new LRUCache<string, object>({ max: 10_000 });
  for (const k of keys) lru.set(k, VALUE);

  const oursMonitored = createCacheManager({ monitor: new PerformanceMonitor() });
  const oursQuiet = createCacheManager({ monitor: false });
  for (const c of [oursMonitored, oursQuiet]) for (const k of keys) await c.set(k, VALUE, 'company_api:load');

  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) },
  });
  for (const k of keys) await bento.set({ key: k, value: VALUE, ttl: '5m' });

  const cm = createCache({ stores: [new Keyv()] });
  for (const k of keys) await cm.set(k, VALUE, 300_000);

  let i = 0;
  const next = () => keys[i++ % keys.length]!;
  const results = await interleaved(
    [
      { name: 'raw lru-cache get', fn: () => lru.get(next()), sync: true },
      { name: 'earshot memory get (monitor on)', fn: () => oursMonitored.get(next(), 'company_api:load') },
      { name: 'earshot memory get (monitor off)', fn: () => oursQuiet.get(next(), 'company_api:load') },
      { name: 'BentoCache memory get', fn: () => bento.get({ key: next() }) },
      { name: 'cache-manager (Keyv Map) get', fn: () => cm.get(next()) },
    ],
    { iterations, rounds: smoke ? 1 : 20 },
  );
  printTable('Memory hit (sequential)', results, 'raw lru-cache get');
  speedups('memory hit', results, 'earshot memory get (monitor on)', [
    'BentoCache memory get',
    'cache-manager (Keyv Map) get',
  ]);
  await Promise.all([oursMonitored.close(), oursQuiet.close(), bento.disconnectAll()]);
}

async function redisSections(smoke: boolean): Promise<void> {
  const prefix = `earshot-bench:${randomUUID().slice(0, 8)}:`;
  const keys = Array.from({ length: 100 }, (_, i) => `load:${i}`);
  const raw = new Redis(REDIS_URL);
  const rawPipelined = new Redis(REDIS_URL, { enableAutoPipelining: true });
  const monitor = new PerformanceMonitor();
  const ours = createCacheManager({
    monitor,
    l1: false,
    l2: createRedisTier({ url: REDIS_URL, keyPrefix: `${prefix}ours:`, invalidation: false }),
  });
  const oursQuiet = createCacheManager({
    monitor: false,
    l1: false,
    l2: createRedisTier({ url: REDIS_URL, keyPrefix: `${prefix}ours:`, invalidation: false }),
  });
  await oursQuiet.connect();
  const oursPipelined = createCacheManager({
    monitor: new PerformanceMonitor(),
    l1: false,
    l2: createRedisTier({
      url: REDIS_URL,
      keyPrefix: `${prefix}ours:`,
      invalidation: false,
      redisOptions: { enableAutoPipelining: true },
    }),
  });
  await Promise.all([ours.connect(), oursPipelined.connect()]);
  const bento = new BentoCache({
    default: 'redis',
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: new Redis(REDIS_URL) })) },
    prefix: `${prefix}bento`,
  });
  const cmClient = new Redis(REDIS_URL);
  const cm = createCache({
    stores: [new Keyv({ store: keyvIoredisStore(cmClient), namespace: `${prefix}cm` })],
  });

  for (const k of keys) {
    await raw.set(`${prefix}raw:${k}`, JSON.stringify(VALUE));
    await ours.set(k, VALUE, 'company_api:load');
    await bento.set({ key: k, value: VALUE, ttl: '5m' });
    await cm.set(k, VALUE, 300_000);
  }

  let i = 0;
  const next = () => keys[i++ % keys.length]!;
  const seqIterations = smoke ? 100 : 400;
  const seq = await interleaved(
    [
      { name: 'raw ioredis GET', fn: () => raw.get(`${prefix}raw:${next()}`) },
      {
        name: 'raw ioredis GET + JSON.parse',
        fn: () => raw.get(`${prefix}raw:${next()}`).then((s) => JSON.parse(s!) as unknown),
      },
      { name: 'earshot Redis get', fn: () => ours.get(next(), 'company_api:load') },
      { name: 'earshot Redis get (monitor off)', fn: () => oursQuiet.get(next(), 'company_api:load') },
      { name: 'earshot Redis get (autopipelining)', fn: () => oursPipelined.get(next(), 'company_api:load') },
      { name: 'BentoCache Redis get', fn: () => bento.get({ key: next() }) },
      { name: 'cache-manager (Keyv/ioredis) get', fn: () => cm.get(next()) },
    ],
    { iterations: seqIterations, rounds: smoke ? 1 : 40 },
  );
  printTable('Redis hit, sequential (one caller)', seq, 'raw ioredis GET');
  const withParse = seq.find((r) => r.name === 'raw ioredis GET + JSON.parse');
  for (const name of ['earshot Redis get', 'earshot Redis get (monitor off)']) {
    const r = seq.find((x) => x.name === name);
    if (r && withParse)
      console.log(`${name}: ${(r.nsPerOp / withParse.nsPerOp).toFixed(2)}x raw ioredis GET + JSON.parse`);
  }
  speedups('Redis sequential', seq, 'earshot Redis get', [
    'BentoCache Redis get',
    'cache-manager (Keyv/ioredis) get',
  ]);

  const conc = await interleaved(
    [
      { name: 'raw ioredis GET', fn: () => raw.get(`${prefix}raw:${next()}`) },
      {
        name: 'raw ioredis GET + JSON.parse',
        fn: () => raw.get(`${prefix}raw:${next()}`).then((s) => JSON.parse(s!) as unknown),
      },
      { name: 'raw ioredis GET (autopipelining)', fn: () => rawPipelined.get(`${prefix}raw:${next()}`) },
      { name: 'earshot Redis get', fn: () => ours.get(next(), 'company_api:load') },
      { name: 'earshot Redis get (monitor off)', fn: () => oursQuiet.get(next(), 'company_api:load') },
      { name: 'earshot Redis get (autopipelining)', fn: () => oursPipelined.get(next(), 'company_api:load') },
      { name: 'BentoCache Redis get', fn: () => bento.get({ key: next() }) },
      { name: 'cache-manager (Keyv/ioredis) get', fn: () => cm.get(next()) },
    ],
    { iterations: smoke ? 2 : 8, rounds: smoke ? 1 : 40, concurrency: 100 },
  );
  printTable('Redis hit, 100 concurrent callers', conc, 'raw ioredis GET');
  speedups('Redis 100 concurrent', conc, 'earshot Redis get', [
    'BentoCache Redis get',
    'cache-manager (Keyv/ioredis) get',
  ]);

  // Latency percentiles of our reads and writes against local Redis, as the monitor saw them.
  const latencyMonitor = new PerformanceMonitor();
  const measured = createCacheManager({
    monitor: latencyMonitor,
    l1: false,
    l2: createRedisTier({ url: REDIS_URL, keyPrefix: `${prefix}lat:`, invalidation: false }),
  });
  await measured.connect();
  const n = smoke ? 200 : 5_000;
  for (let j = 0; j < n; j++) {
    await measured.set(`k${j % 500}`, VALUE, 'company_api:load');
    await measured.get(`k${(j * 7) % 500}`, 'company_api:load');
  }
  const read = latencyMonitor.stats('cache_read', { labels: { tier: 'redis' } });
  const write = latencyMonitor.stats('cache_write', { labels: { tier: 'redis' } });
  printRows('earshot Redis tier latency, ms (local Redis, sequential)', [
    {
      op: 'cache_read',
      count: read?.count ?? 0,
      p50: read?.p50 ?? Number.NaN,
      p90: read?.p90 ?? Number.NaN,
      p99: read?.p99 ?? Number.NaN,
    },
    {
      op: 'cache_write',
      count: write?.count ?? 0,
      p50: write?.p50 ?? Number.NaN,
      p90: write?.p90 ?? Number.NaN,
      p99: write?.p99 ?? Number.NaN,
    },
  ]);

  await stampede(smoke, prefix);

  await Promise.all([
    ours.invalidateNamespace('company_api:load'),
    measured.invalidateNamespace('company_api:load'),
  ]);
  await bento.clear();
  // Remove everything this run wrote under its unique prefix (SCAN, not KEYS: the server is shared).
  let cursor = '0';
  do {
    const [nextCursor, found] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (found.length > 0) await raw.unlink(...found);
  } while (cursor !== '0');
  await Promise.all([
    ours.close(),
    oursQuiet.close(),
    oursPipelined.close(),
    measured.close(),
    bento.disconnectAll(),
  ]);
  raw.disconnect();
  rawPipelined.disconnect();
  cmClient.disconnect();
}

async function stampede(smoke: boolean, prefix: string): Promise<void> {
  const callers = smoke ? 100 : 1000;
  const loaderMs = 20;
  const rows: Record<string, string | number>[] = [];
  const run = async (
    name: string,
    getOrSet: (key: string, loader: () => Promise<object>) => Promise<unknown>,
  ) => {
    let runs = 0;
    const loader = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, loaderMs));
      return VALUE;
    };
    const key = `stampede:${randomUUID()}`;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: callers }, () => getOrSet(key, loader)));
    rows.push({ case: name, callers, 'loader runs': runs, 'elapsed ms': performance.now() - t0 });
  };
  const mem = createCacheManager({ monitor: false });
  await run('earshot memory getOrSet', (k, l) => mem.getOrSet(k, 'llm', l));
  const tieredA = createCacheManager({
    monitor: false,
    l2: createRedisTier({ url: REDIS_URL, keyPrefix: `${prefix}st:` }),
  });
  const tieredB = createCacheManager({
    monitor: false,
    l2: createRedisTier({ url: REDIS_URL, keyPrefix: `${prefix}st:` }),
  });
  await Promise.all([tieredA.connect(), tieredB.connect()]);
  let flip = 0;
  await run('earshot tiered getOrSet, 2 instances', (k, l) =>
    (flip++ % 2 === 0 ? tieredA : tieredB).getOrSet(k, 'llm', l),
  );
  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({})) },
  });
  await run('BentoCache getOrSet (memory)', (k, l) => bento.getOrSet({ key: k, factory: l, ttl: '5m' }));
  const cm = createCache({ stores: [new Keyv()] });
  await run('cache-manager wrap (Keyv Map)', (k, l) => cm.wrap(k, l, 300_000));
  printRows(`getOrSet stampede: ${callers} concurrent callers, one missing key, loader ${loaderMs} ms`, rows);
  await Promise.all([mem.close(), tieredA.close(), tieredB.close(), bento.disconnectAll()]);
}

/** Time until a get answers with Redis down (nothing listens on the port). */
async function deadRedis(smoke: boolean): Promise<void> {
  const capMs = smoke ? 0 : 5_000;
  const deadUrl = 'redis://127.0.0.1:1';
  const rows: Record<string, string | number>[] = [];
  const time = async (name: string, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    let outcome = 'answered (miss)';
    if (capMs === 0 && !name.startsWith('earshot')) return;
    const capped =
      capMs === 0 ? fn() : Promise.race([fn(), new Promise((r) => setTimeout(() => r('cap'), capMs))]);
    try {
      if ((await capped) === 'cap') outcome = `no answer after ${capMs} ms (gave up)`;
    } catch (e) {
      outcome = `rejected: ${(e as Error).message.slice(0, 50)}`;
    }
    rows.push({ case: name, 'first answer ms': performance.now() - t0, outcome });
  };
  const ours = createCacheManager({ monitor: false, l2: createRedisTier({ url: deadUrl }) });
  await time('earshot tiered get (no connect call)', () => ours.get('k', 'llm'));
  await time('earshot tiered get (after connect)', async () => {
    await ours.connect();
    return ours.get('k', 'llm');
  });
  const client = new Redis(deadUrl);
  client.on('error', () => undefined);
  await time('raw ioredis GET, defaults', () => client.get('k'));
  const bentoClient = new Redis(deadUrl);
  bentoClient.on('error', () => undefined);
  const bento = new BentoCache({
    default: 'redis',
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: bentoClient })) },
  });
  await time('BentoCache Redis get, defaults', () => bento.get({ key: 'k' }));
  printRows('First answer with Redis down', rows);
  await ours.close();
  client.disconnect();
  bentoClient.disconnect();
}

export async function run(opts: BenchOptions): Promise<void> {
  console.log(`cache bench (${opts.smoke ? 'smoke' : 'full'}), node ${process.version}`);
  await memorySection(opts.smoke);
  if (await redisReachable()) {
    await redisSections(opts.smoke);
  } else {
    console.log(`\n(Redis not reachable at ${REDIS_URL}: Redis sections skipped)`);
  }
  await deadRedis(opts.smoke);
}

if (isMain(import.meta.url)) {
  await run({ smoke: smokeFromArgv() });
  process.exit(0);
}
