/**
 * The fake Pinecone server itself: filter semantics, ranking, control plane and wire details.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cosineSimilarity,
  type FakePinecone,
  type FakePineconeMetadata,
  type FakePineconeOptions,
  matchesPineconeFilter,
  startFakePinecone,
} from '../../src/testing/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fake(options: FakePineconeOptions = {}): Promise<FakePinecone> {
  const f = await startFakePinecone(options);
  cleanups.push(() => f.close());
  return f;
}

function post(f: FakePinecone, path: string, body: unknown, key: string | null = f.apiKey) {
  return fetch(`${f.indexHost}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'api-key': key } : {}) },
    body: JSON.stringify(body),
  });
}

const metadataArb: fc.Arbitrary<FakePineconeMetadata> = fc.record({
  genre: fc.constantFrom('news', 'drama', 'doc'),
  year: fc.integer({ min: 2000, max: 2025 }),
  tags: fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }),
});

describe('fake Pinecone filters', () => {
  it('treats $in as an $or of $eq, and $ne/$nin as their negations (property)', () => {
    fc.assert(
      fc.property(
        metadataArb,
        fc.array(fc.constantFrom('news', 'drama', 'doc', 'a', 'b'), { maxLength: 3 }),
        (meta, values) => {
          for (const field of ['genre', 'tags']) {
            const anyEq = values.some((v) => matchesPineconeFilter(meta, { [field]: { $eq: v } }));
            expect(matchesPineconeFilter(meta, { [field]: { $in: values } })).toBe(anyEq);
            expect(matchesPineconeFilter(meta, { [field]: { $nin: values } })).toBe(!anyEq);
            for (const v of values) {
              expect(matchesPineconeFilter(meta, { [field]: { $ne: v } })).toBe(
                !matchesPineconeFilter(meta, { [field]: v }),
              );
            }
          }
        },
      ),
    );
  });

  it('compares numbers with $gt/$gte/$lt/$lte and combines with $and/$or (property)', () => {
    fc.assert(
      fc.property(metadataArb, fc.integer({ min: 1999, max: 2026 }), (meta, y) => {
        const year = meta.year as number;
        expect(matchesPineconeFilter(meta, { year: { $gt: y } })).toBe(year > y);
        expect(matchesPineconeFilter(meta, { year: { $gte: y } })).toBe(year >= y);
        expect(matchesPineconeFilter(meta, { year: { $lt: y } })).toBe(year < y);
        expect(matchesPineconeFilter(meta, { year: { $lte: y } })).toBe(year <= y);
        expect(matchesPineconeFilter(meta, { $and: [{ year: { $gte: y } }, { genre: 'news' }] })).toBe(
          year >= y && meta.genre === 'news',
        );
        expect(matchesPineconeFilter(meta, { $or: [{ year: { $lt: y } }, { genre: 'news' }] })).toBe(
          year < y || meta.genre === 'news',
        );
      }),
    );
  });
});

describe('fake Pinecone queries', () => {
  it('ranks by cosine similarity exactly like a brute-force reference (property)', async () => {
    const f = await fake({ dimension: 3 });
    const vec = fc.tuple(
      fc.integer({ min: -5, max: 5 }),
      fc.integer({ min: -5, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(vec, { minLength: 1, maxLength: 12 }),
        vec,
        fc.integer({ min: 1, max: 5 }),
        async (vs, q, topK) => {
          const ns = `p${Math.random().toString(36).slice(2)}`;
          const records = vs.map((v, i) => ({ id: `v${i}`, values: [...v] }));
          f.upsert(records, ns);
          const res = await post(f, '/query', { namespace: ns, topK, vector: q });
          const { matches } = (await res.json()) as { matches: { id: string; score: number }[] };
          const expected = records
            .map((r) => ({ id: r.id, score: cosineSimilarity(r.values, [...q]) }))
            .sort((a, b) => b.score - a.score)
            .slice(0, topK);
          expect(matches.map((m) => m.score)).toEqual(expected.map((e) => e.score));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('rejects a vector of the wrong dimension and an unknown filter operator with 400', async () => {
    const f = await fake({ dimension: 2 });
    f.upsert([{ id: 'a', values: [1, 0] }]);
    expect((await post(f, '/query', { topK: 1, vector: [1, 0, 0] })).status).toBe(400);
    expect((await post(f, '/vectors/upsert', { vectors: [{ id: 'b', values: [1] }] })).status).toBe(400);
    expect(
      (await post(f, '/query', { topK: 1, vector: [1, 0], filter: { a: { $regex: 'x' } } })).status,
    ).toBe(400);
  });

  it('returns metadata only when includeMetadata is set', async () => {
    const f = await fake({ records: [{ id: 'a', values: [1, 0], metadata: { text: 'hi' } }] });
    const bare = (await (await post(f, '/query', { topK: 1, vector: [1, 0] })).json()) as {
      matches: object[];
    };
    expect(bare.matches[0]).not.toHaveProperty('metadata');
    const full = (await (
      await post(f, '/query', { topK: 1, vector: [1, 0], includeMetadata: true })
    ).json()) as {
      matches: { metadata: unknown }[];
    };
    expect(full.matches[0]?.metadata).toEqual({ text: 'hi' });
  });

  it("treats '' and the SDK's __default__ as the same default namespace", async () => {
    const f = await fake({ dimension: 2 });
    expect(
      (await post(f, '/vectors/upsert', { vectors: [{ id: 'a', values: [1, 0] }], namespace: '' })).status,
    ).toBe(200);
    const res = await post(f, '/query', { topK: 1, vector: [1, 0], namespace: '__default__' });
    expect(((await res.json()) as { matches: { id: string }[] }).matches.map((m) => m.id)).toEqual(['a']);
    expect(f.records().map((r) => r.id)).toEqual(['a']);
  });

  it('requires an Api-Key header', async () => {
    const f = await fake();
    expect((await post(f, '/describe_index_stats', {}, null)).status).toBe(401);
  });
});

describe('fake Pinecone control plane', () => {
  it('describes its index with an http:// host by default, and without a scheme on request', async () => {
    const f = await fake({ indexName: 'kb', dimension: 8 });
    const res = await fetch(`${f.url}/indexes/kb`, { headers: { 'api-key': f.apiKey } });
    expect(await res.json()).toMatchObject({ name: 'kb', dimension: 8, host: f.indexHost, metric: 'cosine' });
    expect(f.indexHost.startsWith('http://')).toBe(true);

    const bare = await fake({ indexName: 'kb', hostWithoutScheme: true });
    const model = (await (await fetch(`${bare.url}/indexes/kb`, { headers: { 'api-key': 'k' } })).json()) as {
      host: string;
    };
    expect(model.host).toBe(bare.indexHost.replace('http://', ''));
    expect((await fetch(`${bare.url}/indexes/other`, { headers: { 'api-key': 'k' } })).status).toBe(404);
  });
});

describe('fake Pinecone: headers and control-plane bodies as the 2026-04 API sends them', () => {
  it('sends x-pinecone-request-id and x-pinecone-request-latency-ms, never the generic x-request-id', async () => {
    const f = await startFakePinecone({ dimension: 4 });
    try {
      const res = await fetch(`${f.indexHost}/describe_index_stats`, {
        method: 'POST',
        headers: { 'api-key': f.apiKey, 'content-type': 'application/json' },
        body: '{}',
      });
      await res.text();
      expect(res.headers.get('x-pinecone-request-id')).toMatch(/^\d+$/);
      expect(Number(res.headers.get('x-pinecone-request-latency-ms'))).toBeGreaterThanOrEqual(0);
      expect(res.headers.get('x-request-id')).toBeNull();
    } finally {
      await f.close();
    }
  });

  it('describes the index with read_capacity and without tags: null', async () => {
    const f = await startFakePinecone({ dimension: 4 });
    try {
      const res = await fetch(`${f.url}/indexes/${f.indexName}`, { headers: { 'api-key': f.apiKey } });
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.tags).not.toBeNull();
      expect(body.spec).toMatchObject({
        serverless: { read_capacity: { mode: 'OnDemand', status: { state: 'Ready' } } },
      });
      const missing = await fetch(`${f.url}/indexes/nope`, { headers: { 'api-key': f.apiKey } });
      expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' }, status: 404 });
      const unauthorized = await fetch(`${f.url}/indexes/${f.indexName}`, { headers: { 'api-key': '' } });
      expect(await unauthorized.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' }, status: 401 });
    } finally {
      await f.close();
    }
  });
});
