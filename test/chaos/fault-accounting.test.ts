/**
 * The two accounting gaps the "providers misbehave" chaos run found, pinned down one request
 * at a time: every provider failure must count once as an error in the monitor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { createPineconeVectorIndex } from '../../src/providers/pinecone/index.js';
import {
  type FakeDeepgram,
  type FakePinecone,
  startFakeDeepgram,
  startFakePinecone,
} from '../../src/testing/index.js';

const KEY = 'fake-key-for-local-tests';

function errorsOf(m: PerformanceMonitor, name: string): number {
  return m.stats(name)?.errors ?? 0;
}

describe('Deepgram live sessions that fail before finalize()', () => {
  let fake: FakeDeepgram;
  beforeAll(async () => {
    fake = await startFakeDeepgram({});
  });
  afterAll(async () => {
    await fake.close();
  });

  it('count a refused handshake (503) as one stt error', async () => {
    const monitor = new PerformanceMonitor();
    const stt = await DeepgramSpeechToText.create({ apiKey: KEY, baseUrl: fake.url, monitor });
    fake.faults.enqueue({ kind: 'error', route: 'live', status: 503 });
    await expect(stt.stream({ format: 'pcm_16000' })).rejects.toMatchObject({
      code: 'EARSHOT_PROVIDER_FAILED',
    });
    expect(errorsOf(monitor, 'stt')).toBe(1);
    expect(monitor.stats('stt', { labels: { trigger: 'connect' } })?.count).toBe(1);
  });

  it('count a refused handshake (429) as one stt error', async () => {
    const monitor = new PerformanceMonitor();
    const stt = await DeepgramSpeechToText.create({ apiKey: KEY, baseUrl: fake.url, monitor });
    fake.faults.enqueue({ kind: 'rateLimit', route: 'live' });
    await expect(stt.stream({ format: 'pcm_16000' })).rejects.toThrow();
    expect(errorsOf(monitor, 'stt')).toBe(1);
  });

  it('do not count a session the caller aborts before finalize() as an error', async () => {
    const monitor = new PerformanceMonitor();
    const stt = await DeepgramSpeechToText.create({ apiKey: KEY, baseUrl: fake.url, monitor });
    const controller = new AbortController();
    const session = await stt.stream({ format: 'pcm_16000', signal: controller.signal });
    session.send(new Uint8Array(3200));
    controller.abort();
    await session.close();
    expect(errorsOf(monitor, 'stt')).toBe(0);
  });
});

describe('Pinecone answers that the SDK cannot read', () => {
  let fake: FakePinecone;
  beforeAll(async () => {
    fake = await startFakePinecone({ dimension: 4, records: [{ id: 'a', values: [1, 0, 0, 0] }] });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('count a 200 with a truncated body as one failed vector_query, not an ok one', async () => {
    const monitor = new PerformanceMonitor();
    const index = await createPineconeVectorIndex({
      apiKey: KEY,
      host: fake.url,
      controllerHostUrl: fake.url,
      indexName: fake.indexName,
      monitor,
    });
    fake.faults.enqueue({ kind: 'malformed', route: 'query' });
    await expect(index.query([1, 0, 0, 0], { topK: 1 })).rejects.toMatchObject({
      code: 'EARSHOT_RESPONSE_INVALID',
    });
    expect(monitor.stats('vector_query')?.count).toBe(1);
    expect(errorsOf(monitor, 'vector_query')).toBe(1);
    // A good answer after it is still recorded as ok.
    await expect(index.query([1, 0, 0, 0], { topK: 1 })).resolves.toHaveLength(1);
    expect(monitor.stats('vector_query', { labels: { outcome: 'ok' } })?.count).toBe(1);
  });

  it('records a query abandoned by its caller once, when its request ends', async () => {
    const monitor = new PerformanceMonitor();
    const index = await createPineconeVectorIndex({
      apiKey: KEY,
      host: fake.url,
      controllerHostUrl: fake.url,
      indexName: fake.indexName,
      monitor,
    });
    fake.faults.enqueue({ kind: 'timeout', route: 'query' });
    const controller = new AbortController();
    const q = index.query([1, 0, 0, 0], { topK: 1, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(q).rejects.toMatchObject({ code: 'EARSHOT_ABORTED' });
    await new Promise((r) => setTimeout(r, 100));
    expect(monitor.stats('vector_query')?.count).toBe(1);
    expect(errorsOf(monitor, 'vector_query')).toBe(0);
  });
});
