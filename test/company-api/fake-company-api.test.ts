import { afterEach, describe, expect, it } from 'vitest';
import { createCompanyApiClient } from '../../src/company-api/index.js';
import {
  ConfigError,
  InvalidArgumentError,
  ResponseValidationError,
  UpstreamError,
} from '../../src/errors.js';
import {
  type FakeCompanyApi,
  type FakeCompanyApiOptions,
  startFakeCompanyApi,
} from '../../src/testing/index.js';

const fakes: FakeCompanyApi[] = [];
afterEach(async () => {
  while (fakes.length) await fakes.pop()!.close();
});
async function start(options: FakeCompanyApiOptions = {}): Promise<FakeCompanyApi> {
  const f = await startFakeCompanyApi(options);
  fakes.push(f);
  return f;
}
const clientFor = (f: FakeCompanyApi, retries = 0) =>
  createCompanyApiClient({ baseUrl: f.url, monitor: false, retries, backoffBaseMs: 1, backoffMaxMs: 2 });

describe('startFakeCompanyApi', () => {
  it('serves thousands of records by default on 127.0.0.1', async () => {
    const f = await start();
    expect(f.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(f.data.loads.length).toBe(5000);
    expect(f.data.inventory.length).toBe(3000);
    expect(f.data.equipment.length).toBe(1000);
    expect(f.data.loads.some((l) => l.id === '2314')).toBe(true);
  });

  it('generates the same data for the same seed and different data for another', async () => {
    const size = { loads: 50, inventory: 50, equipment: 50 };
    const a = await start({ seed: 11, size });
    const b = await start({ seed: 11, size });
    const c = await start({ seed: 12, size });
    expect(b.data).toEqual(a.data);
    expect(c.data.loads).not.toEqual(a.data.loads);
  });

  it('keeps ids unique and SKUs distinct from item ids', async () => {
    const f = await start();
    for (const list of [f.data.loads, f.data.inventory, f.data.equipment]) {
      expect(new Set(list.map((x) => x.id)).size).toBe(list.length);
    }
    const ids = new Set(f.data.inventory.map((i) => i.id));
    expect(f.data.inventory.some((i) => ids.has(i.sku))).toBe(false);
  });

  it('counts requests per route on arrival, unknown routes included', async () => {
    const f = await start({ size: { loads: 10, inventory: 10, equipment: 10 } });
    const api = clientFor(f);
    await api.getLoadStatus('1000');
    await api.getLoadStatus('1001');
    await api.listInventory();
    await fetch(`${f.url}/v2/whatever`);
    expect(f.requests).toMatchObject({ getLoad: 2, listInventory: 1, unknown: 1, total: 4, listLoads: 0 });
    f.resetCounts();
    expect(f.requests.total).toBe(0);
  });

  it('answers 405 to anything but GET and 404 to unknown paths, with the error body', async () => {
    const f = await start({ size: { loads: 10, inventory: 10, equipment: 10 } });
    const post = await fetch(`${f.url}/v1/loads`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    const unknown = await fetch(`${f.url}/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({
      error: { code: 'not_found' },
      requestId: expect.any(String),
    });
  });

  it('applies a latency profile switched at runtime', async () => {
    const f = await start({ size: { loads: 10, inventory: 10, equipment: 10 } });
    const api = clientFor(f);
    f.setLatency(200);
    const t0 = performance.now();
    await api.getLoadStatus('1000');
    // A lower bound: the fake waited at least its profile (timer granularity aside).
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    f.setLatency({ kind: 'none' });
    expect(f.latency.sample()).toBe(0);
  });

  it('degrades and heals at runtime with setFaults', async () => {
    const f = await start({ size: { loads: 10, inventory: 10, equipment: 10 } });
    const api = clientFor(f);
    f.setFaults({ errorRate: 1 });
    await expect(api.getLoadStatus('1000')).rejects.toBeInstanceOf(UpstreamError);
    f.setFaults({ malformedRate: 1 });
    await expect(api.getLoadStatus('1000')).rejects.toBeInstanceOf(ResponseValidationError);
    f.setFaults(undefined);
    expect((await api.getLoadStatus('1000')).id).toBe('1000');
    expect(f.faults.injected).toMatchObject({ error: 1, malformed: 1 });
  });

  it('limits faults to the routes named in the profile', async () => {
    const f = await start({
      size: { loads: 10, inventory: 10, equipment: 10 },
      faults: { errorRate: 1, routes: ['listLoads'] },
    });
    const api = clientFor(f);
    expect((await api.getLoadStatus('1000')).id).toBe('1000');
    await expect(api.listLoads()).rejects.toBeInstanceOf(UpstreamError);
  });

  it('injects rate-based faults at about their rate, reproducibly for a seed', async () => {
    const run = async () => {
      const f = await start({
        size: { loads: 10, inventory: 10, equipment: 10 },
        seed: 5,
        faults: { errorRate: 0.3 },
      });
      const api = clientFor(f);
      const outcomes: boolean[] = [];
      for (let i = 0; i < 60; i++)
        outcomes.push(
          await api.getLoadStatus('1000').then(
            () => true,
            () => false,
          ),
        );
      return { outcomes, injected: f.faults.injected.error };
    };
    const a = await run();
    const b = await run();
    expect(b.outcomes).toEqual(a.outcomes);
    expect(a.outcomes.filter((ok) => !ok).length).toBe(a.injected);
    expect(a.injected).toBeGreaterThan(5);
    expect(a.injected).toBeLessThan(35);
  });

  it('drops a held "timeout" connection when it closes', async () => {
    const f = await startFakeCompanyApi({
      size: { loads: 10, inventory: 10, equipment: 10 },
      faults: { timeoutRate: 1 },
    });
    const api = createCompanyApiClient({ baseUrl: f.url, monitor: false, retries: 0, timeoutMs: 60_000 });
    const pending = api.getLoadStatus('1000').catch((e: unknown) => e);
    while (f.requests.getLoad === 0) await new Promise((r) => setTimeout(r, 5));
    await f.close();
    expect(await pending).toBeInstanceOf(UpstreamError);
  });

  it('serves updated data after update()', async () => {
    const f = await start({ size: { loads: 10, inventory: 10, equipment: 10 } });
    const before = f.data.loads[0]!;
    f.update('load', before.id, { status: 'delivered', id: 'hijack' });
    const after = await clientFor(f).getLoadStatus(before.id);
    expect(after.status).toBe('delivered');
    expect(after.id).toBe(before.id);
    expect(() => f.update('equipment', 'NOPE', {})).toThrow(InvalidArgumentError);
  });

  it('rejects invalid options with ConfigError', async () => {
    await expect(startFakeCompanyApi({ port: -1 })).rejects.toBeInstanceOf(ConfigError);
    await expect(startFakeCompanyApi({ size: { loads: 0 } })).rejects.toBeInstanceOf(ConfigError);
    await expect(startFakeCompanyApi({ latency: { kind: 'fixed', ms: -5 } })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
