/**
 * The company API end to end, with no network: a fake company API on 127.0.0.1 with the source
 * design's latency (P90 100 ms), the typed client, the cached wrapper over an in-memory cache,
 * a degraded API mid-run, and P90 with and without the cache from the monitor.
 * Run: npx tsx --tsconfig examples/tsconfig.json examples/company-api.ts
 */
import {
  createCachedCompanyApi,
  createCacheManager,
  createCompanyApiClient,
  NotFoundError,
  PerformanceMonitor,
  UpstreamError,
} from 'earshot';
import { latencyProfiles, startFakeCompanyApi } from 'earshot/testing';

const fake = await startFakeCompanyApi({ latency: latencyProfiles.companyApi, seed: 42 });
const monitor = new PerformanceMonitor();
try {
  const client = createCompanyApiClient({ baseUrl: fake.url, timeoutMs: 2000, retries: 2, monitor });
  const cache = createCacheManager({ monitor });
  const api = createCachedCompanyApi(client, cache, { monitor });

  // A miss goes to the API; the same question again is answered from memory.
  const load = await api.getLoadStatus('2314');
  await api.getLoadStatus('2314');
  console.log(`load ${load.id}: ${load.status}, ${load.origin.city} → ${load.destination.city}`);

  // "Not found" is remembered for 30 s: five questions, one request.
  for (let i = 0; i < 5; i++) {
    await api.getLoadStatus('999999').catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
  }
  console.log(`requests for loads so far: ${fake.requests.getLoad} (7 questions)`);

  // Lists are bounded: a page at a time, or an iterator with a page limit.
  let delayed = 0;
  for await (const page of api.pages('listLoads', { status: 'delayed', limit: 100 }, { maxPages: 3 })) {
    delayed += page.items.length;
  }
  console.log(`delayed loads (first 3 pages): ${delayed}`);

  // A Zipf-like workload: a few loads are asked about often.
  const hot = fake.data.loads.slice(0, 20).map((l) => l.id);
  for (let i = 0; i < 200; i++) await api.getLoadStatus(hot[Math.floor(hot.length * Math.random() ** 3)]!);

  const cached = monitor.stats('company_api', { labels: { cached: 'true' } });
  const uncached = monitor.stats('company_api', { labels: { cached: 'false', outcome: 'ok' } });
  console.log(
    `company_api P90: uncached ${uncached?.p90.toFixed(1)} ms (${uncached?.count} calls), ` +
      `cached ${cached?.p90.toFixed(3)} ms (${cached?.count} calls)`,
  );

  // Degrade the API mid-run: 5xx on half the requests. Retries absorb most of it.
  fake.setFaults({ errorRate: 0.5 });
  let failed = 0;
  for (const l of fake.data.loads.slice(100, 120)) {
    await api.getLoadStatus(l.id, { useCache: false }).catch((err) => {
      if (err instanceof UpstreamError) failed++;
      else throw err;
    });
  }
  fake.setFaults(undefined);
  console.log(
    `with 50 % 5xx: ${20 - failed}/20 calls succeeded thanks to retries (${fake.faults.injected.error} faults injected)`,
  );

  await cache.close();
} finally {
  await fake.close();
}
