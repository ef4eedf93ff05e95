/**
 * The Pinecone adapter through the real `@pinecone-database/pinecone` SDK against the fake
 * Pinecone server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  ConfigError,
  InvalidArgumentError,
  MissingDependencyError,
  ProviderError,
  ResponseValidationError,
  TimeoutError,
} from '../../src/errors.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import type { VectorRecord } from '../../src/pipeline/contracts.js';
import { OpenAIEmbedder } from '../../src/providers/openai/index.js';
import {
  loadPineconeSdk,
  normalizePineconeHost,
  PineconeVectorIndex,
  type PineconeVectorIndexOptions,
} from '../../src/providers/pinecone/index.js';
import {
  type FakePinecone,
  type FakePineconeOptions,
  fakeEmbed,
  startFakeOpenAI,
  startFakePinecone,
} from '../../src/testing/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fake(options: FakePineconeOptions = {}): Promise<FakePinecone> {
  const f = await startFakePinecone({ dimension: 4, ...options });
  cleanups.push(() => f.close());
  return f;
}

function index(f: FakePinecone, options: Partial<PineconeVectorIndexOptions> = {}): PineconeVectorIndex {
  return new PineconeVectorIndex({
    apiKey: f.apiKey,
    host: f.indexHost,
    indexName: 'docs',
    monitor: false,
    ...options,
  });
}

const RECORDS: VectorRecord[] = [
  {
    id: 'trailer',
    values: [1, 0, 0, 0],
    metadata: { text: 'Report trailer damage to dispatch.', lang: 'en', year: 2023 },
  },
  {
    id: 'reefer',
    values: [0.9, 0.1, 0, 0],
    metadata: { text: 'Reefer units stay at -18 C.', lang: 'en', year: 2021 },
  },
  {
    id: 'anhaenger',
    values: [0.8, 0, 0.2, 0],
    metadata: { text: 'Anhängerschäden melden.', lang: 'de', year: 2024 },
  },
  {
    id: 'payroll',
    values: [0, 0, 0, 1],
    metadata: { text: 'Payroll runs on Fridays.', lang: 'en', tags: ['hr', 'pay'] },
  },
];

async function seeded(options: FakePineconeOptions = {}): Promise<FakePinecone> {
  const f = await fake(options);
  f.upsert(RECORDS as never, 'kb');
  return f;
}

describe('PineconeVectorIndex: queries', () => {
  it('returns the nearest records first, with score, metadata and the text field', async () => {
    const f = await seeded();
    const hits = await index(f).query([1, 0, 0, 0], { namespace: 'kb', topK: 3 });
    expect(hits.map((h) => h.id)).toEqual(['trailer', 'reefer', 'anhaenger']);
    expect(hits[0]).toMatchObject({
      score: 1,
      text: 'Report trailer damage to dispatch.',
      metadata: { lang: 'en' },
    });
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  it('sends topK, namespace, includeMetadata and the vector in the SDK wire format', async () => {
    const f = await seeded();
    await index(f).query([0, 1, 0, 0], { namespace: 'kb', topK: 2 });
    const last = f.requests.entries.at(-1)!;
    expect(last.route).toBe('query');
    expect(last.body).toEqual({
      namespace: 'kb',
      topK: 2,
      includeMetadata: true,
      includeValues: false,
      vector: [0, 1, 0, 0],
    });
  });

  it('uses topK 5 and the configured namespace by default', async () => {
    const f = await seeded();
    const hits = await index(f, { namespace: 'kb' }).query([1, 1, 1, 1]);
    expect(hits).toHaveLength(4);
    expect((f.requests.entries.at(-1)!.body as { topK: number }).topK).toBe(5);
  });

  it('applies metadata filters ($eq, $in, $gte, list fields)', async () => {
    const f = await seeded();
    const ix = index(f, { namespace: 'kb' });
    expect((await ix.query([1, 0, 0, 0], { filter: { lang: { $eq: 'de' } } })).map((h) => h.id)).toEqual([
      'anhaenger',
    ]);
    expect((await ix.query([1, 0, 0, 0], { filter: { year: { $gte: 2023 } } })).map((h) => h.id)).toEqual([
      'trailer',
      'anhaenger',
    ]);
    expect((await ix.query([1, 0, 0, 0], { filter: { tags: { $in: ['pay'] } } })).map((h) => h.id)).toEqual([
      'payroll',
    ]);
    expect(
      (await ix.query([1, 0, 0, 0], { filter: { $or: [{ lang: 'de' }, { year: { $lt: 2022 } }] } })).map(
        (h) => h.id,
      ),
    ).toEqual(['reefer', 'anhaenger']);
  });

  it('ignores an empty filter object instead of letting the SDK reject it', async () => {
    const f = await seeded();
    const hits = await index(f, { namespace: 'kb' }).query([1, 0, 0, 0], { filter: {} });
    expect(hits).toHaveLength(4);
    expect(f.requests.entries.at(-1)!.body).not.toHaveProperty('filter');
  });

  it('keeps namespaces apart', async () => {
    const f = await seeded();
    expect(await index(f).query([1, 0, 0, 0], { namespace: 'other' })).toEqual([]);
  });

  it('rejects a bad vector or topK with InvalidArgumentError before any request', async () => {
    const f = await seeded();
    const ix = index(f);
    await expect(ix.query([])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(ix.query([1, Number.NaN, 0, 0])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(ix.query([1, 0, 0, 0], { topK: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(f.requests.count).toBe(0);
  });
});

describe('PineconeVectorIndex: upserts and stats', () => {
  it('stores records that later queries find, and reports counts per namespace', async () => {
    const f = await fake();
    const ix = index(f);
    await ix.upsert(RECORDS, { namespace: 'kb' });
    expect(f.records('kb').map((r) => r.id)).toEqual(['trailer', 'reefer', 'anhaenger', 'payroll']);
    expect((await ix.query([0, 0, 0, 1], { namespace: 'kb', topK: 1 }))[0]?.id).toBe('payroll');
    expect(await ix.describeStats()).toEqual({ dimension: 4, totalRecordCount: 4, namespaces: { kb: 4 } });
  });

  it('sends upserts in batches of upsertBatchSize', async () => {
    const f = await fake();
    const records = Array.from({ length: 250 }, (_, i) => ({ id: `r${i}`, values: [i, 1, 0, 0] }));
    await index(f, { upsertBatchSize: 100 }).upsert(records);
    expect(f.requests.countFor('upsert')).toBe(3);
    expect(f.records()).toHaveLength(250);
  });

  it('says which records failed when a later batch fails, the earlier ones staying stored', async () => {
    const f = await fake();
    const records = Array.from({ length: 5 }, (_, i) => ({
      id: `r${i}`,
      values: i === 2 ? [1, 0, 0] : [i, 1, 0, 0],
    }));
    const error = await index(f, { upsertBatchSize: 2 })
      .upsert(records)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 400, retryable: false });
    expect((error as Error).message).toContain('records 3–4 of 5 (earlier records were stored)');
    expect(f.records().map((r) => r.id)).toEqual(['r0', 'r1']);
  });

  it('rejects bad records with InvalidArgumentError naming the record', async () => {
    const f = await fake();
    const ix = index(f);
    await expect(ix.upsert([{ id: '', values: [1, 0, 0, 0] }])).rejects.toThrow(/records\[0\]\.id/);
    await expect(
      ix.upsert([
        { id: 'a', values: [1, 0, 0, 0] },
        { id: 'b', values: [1, 0, 0, 0], metadata: { n: { x: 1 } as never } },
      ]),
    ).rejects.toThrow(/records\[1\]\.metadata\.n/);
    expect(f.requests.count).toBe(0);
  });
});

describe('PineconeVectorIndex: hosts', () => {
  it('adds https:// to a host without a scheme and keeps an explicit http://', () => {
    expect(normalizePineconeHost('docs-abc.svc.pinecone.io')).toBe('https://docs-abc.svc.pinecone.io');
    expect(normalizePineconeHost('http://127.0.0.1:5080/')).toBe('http://127.0.0.1:5080');
  });

  it('looks the host up once by indexName when no host is given', async () => {
    const f = await seeded({ indexName: 'handbook' });
    const ix = new PineconeVectorIndex({
      apiKey: f.apiKey,
      indexName: 'handbook',
      controllerHostUrl: f.url,
      monitor: false,
    });
    await ix.query([1, 0, 0, 0], { namespace: 'kb' });
    await ix.query([0, 1, 0, 0], { namespace: 'kb' });
    expect(f.requests.countFor('describeIndex')).toBe(1);
    expect(f.requests.countFor('query')).toBe(2);
  });

  it('explains the TLS failure when a looked-up host has no scheme but the server speaks plain HTTP', async () => {
    const f = await seeded({ indexName: 'plain', hostWithoutScheme: true });
    const ix = new PineconeVectorIndex({
      apiKey: f.apiKey,
      indexName: 'plain',
      controllerHostUrl: f.url,
      monitor: false,
    });
    const error = await ix.query([1, 0, 0, 0]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toContain('http://');
    expect(error).toMatchObject({ retryable: false });
  });

  it('maps an unknown index name to a non-retryable 404 ProviderError', async () => {
    const f = await seeded();
    const ix = new PineconeVectorIndex({
      apiKey: f.apiKey,
      indexName: 'missing',
      controllerHostUrl: f.url,
      monitor: false,
    });
    const error = await ix.query([1, 0, 0, 0]).catch((e: unknown) => e);
    expect(error).toMatchObject({ provider: 'pinecone', status: 404, retryable: false });
  });
});

describe('PineconeVectorIndex: measurements', () => {
  it('records each HTTP attempt as vector_query / vector_upsert with provider, index and outcome', async () => {
    const f = await fake();
    const monitor = new PerformanceMonitor();
    const ix = index(f, { monitor });
    await ix.upsert(RECORDS, { namespace: 'kb' });
    await ix.query([1, 0, 0, 0], { namespace: 'kb' });
    await ix.query([1, 0, 0, 0], { namespace: 'kb' });
    const labels = { provider: 'pinecone', index: 'docs', outcome: 'ok' };
    expect(monitor.stats('vector_upsert', { labels })?.count).toBe(1);
    expect(monitor.stats('vector_query', { labels })?.count).toBe(2);
  });

  it('records a timed-out attempt with outcome timeout, counted as an error', async () => {
    const f = await seeded({ faults: { timeoutRate: 1, hangMs: 5_000 } });
    const monitor = new PerformanceMonitor();
    await index(f, { monitor, timeoutMs: 100 })
      .query([1, 0, 0, 0])
      .catch(() => {});
    expect(monitor.stats('vector_query', { labels: { outcome: 'timeout' } })?.count).toBe(1);
    expect(monitor.stats('vector_query')?.errors).toBe(1);
  });
});

describe('PineconeVectorIndex: error mapping', () => {
  it('maps 401 to a non-retryable ProviderError without the key', async () => {
    const f = await seeded({ apiKey: 'pc-the-right-key-0000' });
    const wrong = 'pc-wrong-key-abcdef-123';
    const error = await index(f, { apiKey: wrong })
      .query([1, 0, 0, 0])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: 'pinecone', status: 401, retryable: false });
    expect((error as ProviderError).requestId).toMatch(/^\d+$/);
    expect((error as Error).message).toContain('PINECONE_API_KEY');
    expect(String(error)).not.toContain(wrong);
    expect(JSON.stringify((error as ProviderError).toJSON())).not.toContain(wrong);
  });

  it('maps 400 to a non-retryable ProviderError carrying Pinecone explanation', async () => {
    const f = await seeded();
    const error = await index(f)
      .query([1, 0, 0])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, retryable: false });
    expect((error as Error).message).toContain('dimension 3 does not match');
  });

  it('maps 429 to a retryable ProviderError that says when to retry', async () => {
    const f = await seeded({ faults: { rateLimitRate: 1, retryAfterSeconds: 3 } });
    const error = await index(f)
      .query([1, 0, 0, 0])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, retryable: true, provider: 'pinecone' });
    expect((error as Error).message).toContain('retry after 3 s');
  });

  it.each([500, 503])(
    'maps %i to a retryable ProviderError that keeps the status the SDK drops',
    async (status) => {
      const f = await seeded({ faults: { errorRate: 1, errorStatuses: [status] } });
      const error = await index(f)
        .query([1, 0, 0, 0])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ status, retryable: true });
      expect((error as ProviderError).requestId).toMatch(/^\d+$/);
    },
  );

  it('maps a body cut short to ResponseValidationError', async () => {
    const f = await seeded({ faults: { malformedRate: 1 } });
    const error = await index(f)
      .query([1, 0, 0, 0])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect(error).toMatchObject({ provider: 'pinecone', retryable: false });
  });

  it('maps a connection reset to a retryable ProviderError', async () => {
    const f = await seeded({ faults: { resetRate: 1 } });
    const error = await index(f)
      .query([1, 0, 0, 0])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true, status: undefined });
  });

  it('fails with TimeoutError when Pinecone does not answer within timeoutMs (the SDK has no timeout)', async () => {
    const f = await seeded({ faults: { timeoutRate: 1, hangMs: 5_000 } });
    const error = await index(f, { timeoutMs: 120 })
      .query([1, 0, 0, 0])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeoutMs).toBe(120);
  });

  it('attributes each status to its own call when calls run concurrently', async () => {
    const f = await seeded({ latency: 20 });
    const ix = index(f, { namespace: 'kb' });
    f.faults.enqueue({ kind: 'error', status: 503, route: 'query' });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => ix.query([1, 0, 0, 0], { topK: 1 })),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ status: 503, retryable: true });
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  });

  it('does not retry by default, and retries 5xx when maxRetries allows', async () => {
    const f = await seeded();
    f.faults.enqueue({ kind: 'error', status: 503, route: 'query' });
    await index(f)
      .query([1, 0, 0, 0])
      .catch(() => {});
    expect(f.requests.countFor('query')).toBe(1);
    f.faults.enqueue({ kind: 'error', status: 503, route: 'query' });
    const hits = await index(f, { maxRetries: 1, namespace: 'kb' }).query([1, 0, 0, 0]);
    expect(hits.length).toBeGreaterThan(0);
    expect(f.requests.countFor('query')).toBe(3);
  });
});

describe('PineconeVectorIndex: cancellation', () => {
  it('ends with AbortedError as soon as the signal fires mid-request', async () => {
    const f = await seeded({ latency: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const error = await index(f)
      .query([1, 0, 0, 0], { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
  });

  it('makes no request when the signal already fired', async () => {
    const f = await seeded();
    const error = await index(f)
      .query([1, 0, 0, 0], { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect(f.requests.count).toBe(0);
  });
});

describe('PineconeVectorIndex: configuration', () => {
  let savedKey: string | undefined;
  beforeEach(() => {
    savedKey = process.env.PINECONE_API_KEY;
    delete process.env.PINECONE_API_KEY;
  });
  afterEach(() => {
    if (savedKey === undefined) delete process.env.PINECONE_API_KEY;
    else process.env.PINECONE_API_KEY = savedKey;
  });

  it('throws ConfigError naming PINECONE_API_KEY when no key is given', () => {
    expect(() => new PineconeVectorIndex({ host: 'http://127.0.0.1:1' })).toThrow(ConfigError);
    expect(() => new PineconeVectorIndex({ host: 'http://127.0.0.1:1' })).toThrow(/PINECONE_API_KEY/);
  });

  it('takes the key from PINECONE_API_KEY', async () => {
    const f = await seeded({ apiKey: 'pc-env-key-123456' });
    process.env.PINECONE_API_KEY = 'pc-env-key-123456';
    const ix = new PineconeVectorIndex({ host: f.indexHost, namespace: 'kb', monitor: false });
    expect(await ix.query([1, 0, 0, 0], { topK: 1 })).toHaveLength(1);
  });

  it('needs a host or an indexName', () => {
    let error: unknown;
    try {
      new PineconeVectorIndex({ apiKey: 'pc-some-key-123' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]?.path).toBe('host');
  });

  it('turns a missing SDK into MissingDependencyError naming the npm install', async () => {
    const missing = '@pinecone-database/not-installed';
    const error = await loadPineconeSdk(() => import(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect((error as Error).message).toContain('npm install @pinecone-database/pinecone');
  });
});

describe('document search over both fakes (OpenAIEmbedder + PineconeVectorIndex)', () => {
  it('finds the procedure that answers a spoken question', async () => {
    const openai = await startFakeOpenAI({ embeddingDimensions: 256 });
    cleanups.push(() => openai.close());
    const pinecone = await startFakePinecone({ dimension: 256 });
    cleanups.push(() => pinecone.close());
    const embedder = new OpenAIEmbedder({
      apiKey: openai.apiKey,
      baseURL: openai.baseURL,
      dimensions: 256,
      monitor: false,
    });
    const ix = new PineconeVectorIndex({
      apiKey: pinecone.apiKey,
      host: pinecone.indexHost,
      indexName: 'kb',
      monitor: false,
    });
    const docs = [
      { id: 'damage', text: 'To report damage to a trailer, photograph it and call dispatch before moving.' },
      { id: 'fuel', text: 'Fuel cards work at every partner station; keep the receipts.' },
      { id: 'hours', text: 'Drivers may drive at most 11 hours after 10 consecutive hours off duty.' },
    ];
    const vectors = await embedder.embed(docs.map((d) => d.text));
    await ix.upsert(docs.map((d, i) => ({ id: d.id, values: vectors[i]!, metadata: { text: d.text } })));
    const [question] = await embedder.embed(['How do I report a damaged trailer?']);
    const hits = await ix.query(question!, { topK: 2 });
    expect(hits[0]?.id).toBe('damage');
    expect(hits[0]?.text).toContain('photograph');
    // The fake's vectors are the deterministic fakeEmbed ones, at float32 precision.
    expect(pinecone.records()[0]!.values[0]).toBeCloseTo(fakeEmbed(docs[0]!.text, 256)[0]!, 6);
  });
});

// Live checks against a real index: opt in on a dev machine; never in CI.
const live =
  Boolean(process.env.PINECONE_API_KEY && process.env.PINECONE_INDEX_HOST) &&
  process.env.CI !== 'true' &&
  process.env.EARSHOT_LIVE_TESTS === '1';
if (!live) {
  console.warn(
    '[pinecone live tests] skipped: set PINECONE_API_KEY, PINECONE_INDEX_HOST and EARSHOT_LIVE_TESTS=1 to run them (never in CI).',
  );
}
describe.runIf(live)('Pinecone live (real index)', () => {
  it('describes the index and answers a query', async () => {
    const ix = new PineconeVectorIndex({ host: process.env.PINECONE_INDEX_HOST as string, monitor: false });
    const stats = await ix.describeStats();
    expect(stats.dimension).toBeGreaterThan(0);
    const hits = await ix.query(
      Array.from({ length: stats.dimension! }, (_, i) => (i === 0 ? 1 : 0)),
      { topK: 1 },
    );
    expect(Array.isArray(hits)).toBe(true);
  });
});

describe('PineconeVectorIndex: prewarm, close and create (warm connections)', () => {
  it('a prewarmed query does not pay the connection cost, and the prewarm is not recorded', async () => {
    const f = await fake({ connectLatencyMs: 150, records: RECORDS });
    const monitor = new PerformanceMonitor();
    const ix = index(f, { monitor });
    await ix.prewarm();
    await ix.query([1, 0, 0, 0], { topK: 1 });
    expect(f.requests.entries.map((r) => [r.route, r.newConnection, r.connectMs])).toEqual([
      ['describeIndexStats', true, 150],
      ['query', false, 0],
    ]);
    expect(f.connections).toBe(1);
    expect(monitor.operations()).toEqual(['vector_query']);
  });

  it('prewarm is skipped right after a call, sent again after close(), and never rejects for a fault', async () => {
    const f = await fake({ records: RECORDS });
    const ix = index(f);
    await ix.query([1, 0, 0, 0], { topK: 1 });
    await ix.prewarm();
    expect(f.requests.countFor('describeIndexStats')).toBe(0);
    await ix.close();
    await ix.close();
    f.faults.enqueue({ kind: 'error', status: 503, route: 'describeIndexStats' });
    await expect(ix.prewarm()).resolves.toBeUndefined();
    expect(f.requests.countFor('describeIndexStats')).toBe(1);
    await expect(ix.prewarm({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
  });

  it('PineconeVectorIndex.create loads the SDK and returns a ready index', async () => {
    const f = await fake({ records: RECORDS });
    const ix = await PineconeVectorIndex.create({ apiKey: f.apiKey, host: f.indexHost });
    expect((await ix.query([1, 0, 0, 0], { topK: 1 }))[0]!.id).toBe('trailer');
  });
});
