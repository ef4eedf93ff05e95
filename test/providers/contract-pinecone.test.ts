/**
 * Contract of the fake Pinecone server against Pinecone's published 2026-04 specs
 * (pinecone-io/pinecone-api, vendored subsets in test/fixtures/specs/pinecone-*.json): the real
 * `@pinecone-database/pinecone` SDK drives the fake through the common and fault paths, and
 * every body the fake sends, and every request body the SDK sends, must validate.
 */
import { Pinecone } from '@pinecone-database/pinecone';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakePineconeOptions, startFakePinecone } from '../../src/testing/index.js';
import { loadSpec, type RecordedExchange, recordingFetch } from './spec-validate.js';

const data = loadSpec('pinecone-data');
const control = loadSpec('pinecone-control');
const S = (name: string) => `components/schemas/${name}`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(options: FakePineconeOptions = {}) {
  const fake = await startFakePinecone({ dimension: 4, ...options });
  cleanups.push(() => fake.close());
  const rec = recordingFetch();
  const pc = new Pinecone({
    apiKey: fake.apiKey,
    controllerHostUrl: fake.url,
    maxRetries: 0,
    fetchApi: rec.fetch as never,
  });
  return { fake, pc, index: pc.index({ host: fake.indexHost }), exchanges: rec.exchanges };
}

const DATA_ROUTES: Record<string, [request: string | undefined, response: string]> = {
  '/query': ['QueryRequest', 'QueryResponse'],
  '/vectors/upsert': ['UpsertRequest', 'UpsertResponse'],
  '/vectors/delete': ['DeleteRequest', 'DeleteResponse'],
  '/describe_index_stats': ['DescribeIndexStatsRequest', 'IndexDescription'],
};

async function checkAll(exchanges: readonly RecordedExchange[]): Promise<number> {
  let checked = 0;
  for (const x of exchanges) {
    await x.done;
    const path = new URL(x.url).pathname;
    const isControl = path.startsWith('/indexes');
    const route = DATA_ROUTES[path];
    if (route?.[0] && x.requestBody !== undefined) {
      data.assertValid(S(route[0]), x.requestBody, `request to ${path}`);
      checked++;
    }
    if (x.responseText === '') continue;
    let body: unknown;
    try {
      body = JSON.parse(x.responseText);
    } catch {
      continue; // a malformed-body fault: the test checks the SDK's failure itself
    }
    if (x.status >= 400) {
      if (isControl) control.assertValid(S('ErrorResponse'), body, `HTTP ${x.status} of ${path}`);
      else data.assertValid(S('rpcStatus'), body, `HTTP ${x.status} of ${path}`);
    } else if (isControl) {
      control.assertValid(S(path === '/indexes' ? 'IndexList' : 'IndexModel'), body, `answer of ${path}`);
    } else if (route) {
      data.assertValid(S(route[1]), body, `answer of ${path}`);
    } else {
      throw new Error(`unexpected route ${path}`);
    }
    checked++;
  }
  return checked;
}

describe('fake Pinecone against the Pinecone 2026-04 specs', () => {
  it('the validators reject what the specs forbid (the checks below are not vacuous)', () => {
    expect(
      control.isValid(S('IndexModel'), {
        name: 'x',
        metric: 'cosine',
        host: 'h',
        vector_type: 'dense',
        tags: null,
        spec: { serverless: { cloud: 'aws', region: 'r' } },
        status: { ready: true, state: 'Ready' },
      }),
    ).toBe(false);
    expect(data.isValid(S('QueryResponse'), { matches: [{ score: 1 }] })).toBe(false);
  });

  it('control plane (describe, list), upsert, query, stats, delete and their requests are valid', async () => {
    const { pc, index, exchanges } = await setup();
    await pc.describeIndex('earshot-docs');
    await pc.listIndexes();
    await index.upsert({
      records: [
        { id: 'a', values: [1, 0, 0, 0], metadata: { text: 'alpha', lang: 'en' } },
        { id: 'b', values: [0, 1, 0, 0], metadata: { text: 'beta', tags: ['x', 'y'] } },
      ],
    });
    await index.query({
      vector: [1, 0, 0, 0],
      topK: 2,
      includeMetadata: true,
      filter: { lang: { $eq: 'en' } },
    });
    await index.namespace('handbook').query({ vector: [1, 0, 0, 0], topK: 1 });
    await index.describeIndexStats();
    await index.deleteMany({ ids: ['b'] });
    expect(await checkAll(exchanges)).toBeGreaterThanOrEqual(12);
  });

  it('error answers (401, 404, 400, 429, 500) have the spec error bodies of their plane', async () => {
    const { fake, pc, index, exchanges } = await setup({ apiKey: 'pc-the-right-key' });
    const fail = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => e,
      );
    const wrong = new Pinecone({
      apiKey: 'pc-wrong-key',
      controllerHostUrl: fake.url,
      maxRetries: 0,
      fetchApi: recordingFetch().fetch as never,
    });
    const wrongRec = recordingFetch();
    const wrongIndex = new Pinecone({
      apiKey: 'pc-wrong-key',
      maxRetries: 0,
      fetchApi: wrongRec.fetch as never,
    }).index({ host: fake.indexHost });
    expect(await fail(wrong.describeIndex('earshot-docs'))).toBeInstanceOf(Error);
    expect(await fail(wrongIndex.query({ vector: [1, 0, 0, 0], topK: 1 }))).toBeInstanceOf(Error);
    expect(await fail(pc.describeIndex('missing-index'))).toBeInstanceOf(Error);
    expect(await fail(index.query({ vector: [1, 0], topK: 1 }))).toBeInstanceOf(Error);
    fake.faults.enqueue({ kind: 'rateLimit', route: 'query' });
    expect(await fail(index.query({ vector: [1, 0, 0, 0], topK: 1 }))).toBeInstanceOf(Error);
    fake.faults.enqueue({ kind: 'error', status: 500, route: 'describeIndexStats' });
    expect(await fail(index.describeIndexStats())).toBeInstanceOf(Error);
    fake.faults.enqueue({ kind: 'error', status: 500, route: 'describeIndex' });
    expect(await fail(pc.describeIndex('earshot-docs'))).toBeInstanceOf(Error);
    expect(await checkAll(exchanges)).toBeGreaterThanOrEqual(5);
    expect(await checkAll(wrongRec.exchanges)).toBeGreaterThanOrEqual(1);
    expect(exchanges.filter((x) => x.status >= 400).length).toBeGreaterThanOrEqual(5);
  });
});
