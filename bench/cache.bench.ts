/**
 * The cache against its baselines and peers, in one run, every comparison labelled with what it
 * compares (issue 18):
 *  1. memory hit, like for like: no copy vs no copy (earshot `reference`, BentoCache
 *     `serialize: false`, Keyv without serializer), a protected value vs the serializing peers
 *     (earshot `freeze`/`clone` vs BentoCache and cache-manager defaults), and the defaults as
 *     they are (not like for like) — what each case hands back is checked at run time;
 *  2. Redis hit, sequential: raw ioredis GET (+ JSON.parse) vs our Redis tier vs BentoCache
 *     (redis driver) vs cache-manager (Keyv over the same ioredis client); all parse JSON;
 *  3. Redis hit, 100 concurrent callers: the same, batches of 100;
 *  4. our P50/P90/P99 read and write latency against local Redis (from the monitor);
 *  5. getOrSet stampede: 1000 concurrent callers of one missing key (loader runs, elapsed);
 *  6. time to the first answer with Redis down: ours vs ioredis and BentoCache defaults.
 *
 * Goals (issue 3, restated in issue 18): memory hit ≥ 5x faster than BentoCache's and
 * cache-manager's, now judged like for like; Redis hit within 10 % of raw ioredis GET +
 * JSON.parse sequentially and faster than both peers at 100 concurrent; P90 read < 1 ms and
 * write < 1 ms on local Redis; one loader run per stampede. Each is printed as a GOAL line.
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
  goal,
  interleaved,
  isMain,
  judge,
  nsOf,
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

/** "2.1x faster" for a peer/ours time ratio ≥ 1, "1.7x slower" below 1 (never "0.6x faster"). */
function faster(peerOverOurs: number, digits = 1): string {
  return peerOverOurs >= 1
    ? `${peerOverOurs.toFixed(digits)}x faster`
    : `${(1 / peerOverOurs).toFixed(digits)}x slower`;
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
    if (r) console.log(`${title}: ${ours} is ${faster(r.nsPerOp / o.nsPerOp)} than ${name}`);
  }
}

/** What a memory get hands back, checked at run time rather than assumed. */
async function handsBack(get: () => unknown, stored: object): Promise<string> {
  const v = (await get()) as object;
  if (v === stored) return Object.isFrozen(v) ? 'the stored object, frozen' : 'the stored object (no copy)';
  return Object.isFrozen(v) ? 'a frozen copy' : 'a fresh copy';
}

const MEM = {
  lru: 'raw lru-cache get',
  lruClone: 'raw lru-cache get + structuredClone',
  lruParse: 'raw lru-cache get + JSON.parse of a stored string',
  reference: 'earshot memory get, reference (default; monitor on)',
  referenceQuiet: 'earshot memory get, reference (monitor off)',
  freeze: 'earshot memory get, freeze (monitor on)',
  clone: 'earshot memory get, clone (monitor on)',
  bentoRaw: 'BentoCache memory get, serialize: false',
  bento: 'BentoCache memory get (default: serializes)',
  cmRaw: 'cache-manager (Keyv Map), serialization off',
  cm: 'cache-manager (Keyv Map) get (default: JSON serializer)',
} as const;

/**
 * Memory hits, like for like (issue 18.2). earshot's default `valueMode: 'reference'` hands back
 * the stored object; BentoCache's memory layer and Keyv serialize by default, so every hit is a
 * JSON round trip. All cases run in one interleaved set of rounds and are printed in three tables:
 * no copy vs no copy, protected values (earshot `freeze`/`clone`) vs the serializing peers, and
 * the defaults (the old "7x faster" row: not like for like, kept and labelled as such).
 */
async function memorySection(smoke: boolean): Promise<void> {
  const iterations = smoke ? 2_000 : 20_000;
  const keys = Array.from({ length: 100 }, (_, i) => `load:${i}`);
  const lru = new LRUCache<string, object>({ max: 10_000 });
  const lruText = new LRUCache<string, string>({ max: 10_000 });
  for (const k of keys) {
    lru.set(k, VALUE);
    lruText.set(k, JSON.stringify(VALUE));
  }

  const ns = 'company_api:load';
  // Each earshot instance gets its own copy: `freeze` deep-freezes what it stores.
  const ours = {
    reference: createCacheManager({ monitor: new PerformanceMonitor() }),
    referenceQuiet: createCacheManager({ monitor: false }),
    freeze: createCacheManager({ monitor: new PerformanceMonitor(), memory: { valueMode: 'freeze' } }),
    clone: createCacheManager({ monitor: new PerformanceMonitor(), memory: { valueMode: 'clone' } }),
  };
  const stored = new Map<string, object>();
  for (const [mode, c] of Object.entries(ours)) {
    const v = structuredClone(VALUE);
    stored.set(mode, v);
    for (const k of keys) await c.set(k, v, ns);
  }

  const bentoStore = (serialize: boolean) =>
    new BentoCache({
      default: 'memory',
      stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize })) },
    });
  const bento = bentoStore(true);
  const bentoRaw = bentoStore(false);
  const bentoValue = structuredClone(VALUE);
  for (const k of keys) {
    await bento.set({ key: k, value: bentoValue, ttl: '5m' });
    await bentoRaw.set({ key: k, value: bentoValue, ttl: '5m' });
  }

  const cm = createCache({ stores: [new Keyv()] });
  const keyvRaw = new Keyv();
  keyvRaw.serialize = undefined;
  keyvRaw.deserialize = undefined;
  const cmRaw = createCache({ stores: [keyvRaw] });
  const cmValue = structuredClone(VALUE);
  for (const k of keys) {
    await cm.set(k, cmValue, 300_000);
    await cmRaw.set(k, cmValue, 300_000);
  }

  const k0 = keys[0]!;
  const semanticRows = [
    { case: MEM.lru, 'hands back': await handsBack(() => lru.get(k0), VALUE) },
    ...(await Promise.all(
      (['reference', 'freeze', 'clone'] as const).map(async (m) => ({
        case: MEM[m],
        'hands back': await handsBack(() => ours[m].get(k0, ns), stored.get(m)!),
      })),
    )),
    { case: MEM.bentoRaw, 'hands back': await handsBack(() => bentoRaw.get({ key: k0 }), bentoValue) },
    { case: MEM.bento, 'hands back': await handsBack(() => bento.get({ key: k0 }), bentoValue) },
    { case: MEM.cmRaw, 'hands back': await handsBack(() => cmRaw.get(k0), cmValue) },
    { case: MEM.cm, 'hands back': await handsBack(() => cm.get(k0), cmValue) },
  ];

  let i = 0;
  const next = () => keys[i++ % keys.length]!;
  const results = await interleaved(
    [
      { name: MEM.lru, fn: () => lru.get(next()), sync: true },
      { name: MEM.lruClone, fn: () => structuredClone(lru.get(next())), sync: true },
      { name: MEM.lruParse, fn: () => JSON.parse(lruText.get(next())!) as unknown, sync: true },
      { name: MEM.reference, fn: () => ours.reference.get(next(), ns) },
      { name: MEM.referenceQuiet, fn: () => ours.referenceQuiet.get(next(), ns) },
      { name: MEM.freeze, fn: () => ours.freeze.get(next(), ns) },
      { name: MEM.clone, fn: () => ours.clone.get(next(), ns) },
      { name: MEM.bentoRaw, fn: () => bentoRaw.get({ key: next() }) },
      { name: MEM.bento, fn: () => bento.get({ key: next() }) },
      { name: MEM.cmRaw, fn: () => cmRaw.get(next()) },
      { name: MEM.cm, fn: () => cm.get(next()) },
    ],
    { iterations, rounds: smoke ? 1 : 20 },
  );
  const pick = (...names: string[]) => results.filter((r) => names.includes(r.name));
  printRows('Memory hit: what each case hands back (checked in this run)', semanticRows);
  printTable(
    'Memory hit, no copy on read (like for like: every case returns the stored object)',
    pick(MEM.lru, MEM.reference, MEM.referenceQuiet, MEM.bentoRaw, MEM.cmRaw),
    MEM.lru,
  );
  printTable(
    'Memory hit, the caller cannot change the cached value (earshot freeze / clone vs the peers that serialize)',
    pick(MEM.lru, MEM.lruClone, MEM.lruParse, MEM.freeze, MEM.clone, MEM.bento, MEM.cm),
    MEM.lru,
  );
  printTable(
    "Memory hit, each library's default (NOT like for like: earshot returns the stored object, the peers a JSON round trip)",
    pick(MEM.lru, MEM.reference, MEM.bento, MEM.cm),
    MEM.lru,
  );

  const times = (ours: string, peer: string) => nsOf(results, peer) / nsOf(results, ours);
  const vsPeers = (id: string, what: string, ourCase: string, bentoCase: string, cmCase: string) => {
    const b = times(ourCase, bentoCase);
    const c = times(ourCase, cmCase);
    console.log(`${ourCase}: ${faster(b)} than ${bentoCase}, ${faster(c)} than ${cmCase}`);
    goal({
      id,
      what,
      measured: `${faster(b)} / ${faster(c)}`,
      goal: '≥ 5x faster than both',
      verdict: smoke ? 'info' : judge(Math.min(b, c), '>=', 5),
    });
  };
  vsPeers(
    'cache.memory-hit-no-copy',
    'memory hit, no copy on either side: earshot `reference` (monitor on) vs BentoCache `serialize: false` / cache-manager over Keyv with serialization off',
    MEM.reference,
    MEM.bentoRaw,
    MEM.cmRaw,
  );
  vsPeers(
    'cache.memory-hit-freeze',
    'memory hit, cached value protected from the caller: earshot `freeze` (monitor on; returns the frozen stored object) vs BentoCache / cache-manager defaults (JSON round trip per hit)',
    MEM.freeze,
    MEM.bento,
    MEM.cm,
  );
  vsPeers(
    'cache.memory-hit-clone',
    'memory hit, caller gets a private copy: earshot `clone` (monitor on; structuredClone per hit) vs BentoCache / cache-manager defaults (JSON round trip per hit)',
    MEM.clone,
    MEM.bento,
    MEM.cm,
  );
  const db = times(MEM.reference, MEM.bento);
  const dc = times(MEM.reference, MEM.cm);
  goal({
    id: 'cache.memory-hit-defaults',
    what: "memory hit, each library's default (NOT like for like: earshot `reference` hands back the stored object, BentoCache / cache-manager a JSON round trip)",
    measured: `${faster(db)} / ${faster(dc)}`,
    goal: '-',
    verdict: 'info',
  });
  await Promise.all([
    ...Object.values(ours).map((c) => c.close()),
    bento.disconnectAll(),
    bentoRaw.disconnectAll(),
  ]);
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

  const parsed = nsOf(seq, 'raw ioredis GET + JSON.parse');
  for (const [id, name, note] of [
    ['cache.redis-hit-seq', 'earshot Redis get', 'monitor on, the default'],
    ['cache.redis-hit-seq-monitor-off', 'earshot Redis get (monitor off)', 'monitor off'],
  ] as const) {
    const ratio = nsOf(seq, name) / parsed;
    goal({
      id,
      what: `Redis hit, one caller at a time: earshot get (${note}; JSON entry + envelope check) vs raw ioredis GET + JSON.parse of the same value`,
      measured: `${ratio.toFixed(2)}x`,
      goal: '≤ 1.10x',
      verdict: smoke ? 'info' : judge(ratio, '<=', 1.1),
    });
  }
  goal({
    id: 'cache.redis-hit-seq-peers',
    what: 'Redis hit, one caller at a time: earshot get (monitor on) vs BentoCache (Redis driver, L2 only) / cache-manager over Keyv on ioredis; all three JSON-parse each hit',
    measured: `${faster(nsOf(seq, 'BentoCache Redis get') / nsOf(seq, 'earshot Redis get'), 2)} / ${faster(nsOf(seq, 'cache-manager (Keyv/ioredis) get') / nsOf(seq, 'earshot Redis get'), 2)}`,
    goal: '-',
    verdict: 'info',
  });

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

  console.log(
    'Autopipelined rows compare with "raw ioredis GET (autopipelining)", not with the first row: autopipelining batches the 100 concurrent GETs into fewer round trips on either side.',
  );
  {
    const ours = nsOf(conc, 'earshot Redis get');
    const b = nsOf(conc, 'BentoCache Redis get') / ours;
    const c = nsOf(conc, 'cache-manager (Keyv/ioredis) get') / ours;
    goal({
      id: 'cache.redis-hit-concurrent-peers',
      what: 'Redis hit, 100 concurrent callers, no autopipelining on any side: earshot get (monitor on) vs BentoCache / cache-manager (Keyv on ioredis); all JSON-parse each hit',
      measured: `${faster(b, 2)} / ${faster(c, 2)}`,
      goal: 'faster than both (> 1x)',
      verdict: smoke ? 'info' : judge(Math.min(b, c), '>', 1),
    });
    const pipelined =
      nsOf(conc, 'earshot Redis get (autopipelining)') / nsOf(conc, 'raw ioredis GET (autopipelining)');
    goal({
      id: 'cache.redis-hit-concurrent-autopipelining',
      what: 'Redis hit, 100 concurrent callers, autopipelining on both sides: earshot get (monitor on) vs raw ioredis GET (no JSON.parse on the raw side)',
      measured: `${pipelined.toFixed(2)}x`,
      goal: '-',
      verdict: 'info',
    });
  }

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
  for (const [op, st] of [
    ['read', read],
    ['write', write],
  ] as const) {
    const p90 = st?.p90 ?? Number.NaN;
    goal({
      id: `cache.redis-${op}-p90`,
      what: `earshot Redis tier ${op} P90, local Redis, one caller at a time (cache_${op} as the monitor records it, ${st?.count ?? 0} samples)`,
      measured: `${p90.toFixed(2)} ms`,
      goal: '< 1 ms',
      verdict: smoke ? 'info' : judge(p90, '<', 1),
    });
  }
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
  const earshotRows = rows.filter((r) => String(r.case).startsWith('earshot'));
  const maxRuns = Math.max(...earshotRows.map((r) => Number(r['loader runs'])));
  goal({
    id: 'cache.stampede',
    what: `getOrSet stampede: ${callers} concurrent callers of one missing key, loader runs (earshot memory; earshot memory + Redis, 2 instances sharing the key)`,
    measured: earshotRows
      .map((r) => `${r['loader runs']} run(s) in ${Number(r['elapsed ms']).toFixed(0)} ms`)
      .join('; '),
    goal: '1 loader run',
    verdict: judge(maxRuns, '<=', 1),
  });
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
  const first = rows.find((r) => r.case === 'earshot tiered get (after connect)');
  if (first)
    goal({
      id: 'cache.redis-down-first-answer',
      what: 'Redis down (nothing listening): time to the first get answer (a miss) from earshot after connect(); raw ioredis and BentoCache with their defaults wait (see table)',
      measured: `${Number(first['first answer ms']).toFixed(1)} ms`,
      goal: '-',
      verdict: 'info',
    });
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
    console.log(`\n(Redis not reachable at ${new URL(REDIS_URL).host}: Redis sections skipped)`);
    goal({
      id: 'cache.redis-hit-seq',
      what: 'Redis hit, one caller at a time: earshot get vs raw ioredis GET + JSON.parse',
      measured: `not measured: Redis not reachable at ${new URL(REDIS_URL).host}`,
      goal: '≤ 1.10x',
      verdict: 'info',
    });
  }
  await deadRedis(opts.smoke);
}

if (isMain(import.meta.url)) {
  await run({ smoke: smokeFromArgv() });
  process.exit(0);
}
