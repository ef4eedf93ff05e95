import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CompanyApiClientOptions,
  createCompanyApiClient,
  loadSchema,
  MAX_PAGE_SIZE,
} from '../../src/company-api/index.js';
import {
  AbortedError,
  ConfigError,
  InvalidArgumentError,
  NotFoundError,
  RequestRejectedError,
  ResponseValidationError,
  TimeoutError,
  UpstreamError,
} from '../../src/errors.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import {
  type FakeCompanyApi,
  type FakeCompanyApiOptions,
  startFakeCompanyApi,
} from '../../src/testing/index.js';
import { sendJson, startRawServer } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fake(options: FakeCompanyApiOptions = {}): Promise<FakeCompanyApi> {
  const f = await startFakeCompanyApi({ size: { loads: 300, inventory: 200, equipment: 100 }, ...options });
  cleanups.push(() => f.close());
  return f;
}

function client(f: { url: string }, options: Partial<CompanyApiClientOptions> = {}) {
  // A fixed jitter source and small backoffs keep retry tests quick and reproducible.
  return createCompanyApiClient({
    baseUrl: f.url,
    monitor: false,
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    random: () => 0.5,
    ...options,
  });
}

describe('company API client: happy paths', () => {
  it('gets a load by id, validated, with the fields the fake serves', async () => {
    const f = await fake();
    const expected = f.data.loads[17]!;
    const load = await client(f).getLoadStatus(expected.id);
    expect(load).toEqual(expected);
    expect(loadSchema.safeParse(load).success).toBe(true);
  });

  it('gets an inventory item by item id and by SKU', async () => {
    const f = await fake();
    const item = f.data.inventory[5]!;
    const api = client(f);
    expect(await api.getInventory(item.id)).toEqual(item);
    expect(await api.getInventory(item.sku)).toEqual(item);
  });

  it('gets equipment by id', async () => {
    const f = await fake();
    const eq = f.data.equipment[9]!;
    expect(await client(f).getEquipmentStatus(eq.id)).toEqual(eq);
  });

  it('lists loads with a filter, one bounded page at a time', async () => {
    const f = await fake();
    const page = await client(f).listLoads({ status: 'delayed', limit: 5 });
    const all = f.data.loads.filter((l) => l.status === 'delayed');
    expect(page.items.map((l) => l.id)).toEqual(all.slice(0, 5).map((l) => l.id));
    expect(page.total).toBe(all.length);
    expect(page.nextCursor).not.toBeNull();
  });

  it('lists inventory below its reorder point and equipment by type', async () => {
    const f = await fake();
    const api = client(f);
    const low = await api.listInventory({ belowReorderPoint: true, limit: MAX_PAGE_SIZE });
    expect(low.items.length).toBeGreaterThan(0);
    expect(low.items.every((i) => i.quantityAvailable <= i.reorderPoint)).toBe(true);
    const tractors = await api.listEquipment({ type: 'tractor' });
    expect(tractors.items.length).toBeGreaterThan(0);
    expect(tractors.items.every((e) => e.type === 'tractor')).toBe(true);
  });

  it('sends the API key as a bearer token', async () => {
    const f = await fake({ apiKey: 'ck_live_abcdef123456' });
    const load = await client(f, { apiKey: 'ck_live_abcdef123456' }).getLoadStatus(f.data.loads[0]!.id);
    expect(load.id).toBe(f.data.loads[0]!.id);
  });

  it('keeps a path prefix of the base URL', async () => {
    let seenPath = '';
    const raw = await startRawServer((req, res) => {
      seenPath = req.url ?? '';
      sendJson(res, 404, { error: { code: 'not_found', message: 'no' } });
    });
    cleanups.push(raw.close);
    await expect(client({ url: `${raw.url}/company/` }).getLoadStatus('7')).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(seenPath).toBe('/company/v1/loads/7');
  });
});

describe('company API client: pagination', () => {
  it('iterates every page of a list by following cursors', async () => {
    const f = await fake();
    const ids: string[] = [];
    let pages = 0;
    for await (const page of client(f).pages('listLoads', { limit: 100 }, { maxPages: 100 })) {
      pages++;
      ids.push(...page.items.map((l) => l.id));
    }
    expect(pages).toBe(3);
    expect(ids).toEqual(f.data.loads.map((l) => l.id));
  });

  it('stops at maxPages', async () => {
    const f = await fake();
    let pages = 0;
    for await (const _ of client(f).pages('listEquipment', { limit: 10 }, { maxPages: 2 })) pages++;
    expect(pages).toBe(2);
    expect(f.requests.listEquipment).toBe(2);
  });

  it('stops at maxItems and asks the last page only for what is left', async () => {
    const f = await fake();
    const items: string[] = [];
    for await (const page of client(f).pages('listInventory', { limit: 20 }, { maxItems: 45 })) {
      items.push(...page.items.map((i) => i.id));
    }
    expect(items).toHaveLength(45);
    expect(items).toEqual(f.data.inventory.slice(0, 45).map((i) => i.id));
  });

  it('rejects a page size over the maximum before sending anything', async () => {
    const f = await fake();
    await expect(client(f).listLoads({ limit: MAX_PAGE_SIZE + 1 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(client(f).listLoads({ status: 'lost' as never })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(f.requests.total).toBe(0);
  });

  it('refuses a cursor the server never issued with RequestRejectedError', async () => {
    const f = await fake();
    const err = await client(f)
      .listLoads({ cursor: 'not-a-cursor' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejectedError);
    expect((err as RequestRejectedError).status).toBe(400);
    expect((err as RequestRejectedError).retryable).toBe(false);
    expect(f.requests.listLoads).toBe(1);
  });

  it('stops with ResponseValidationError when a server repeats a cursor', async () => {
    const raw = await startRawServer((_req, res) =>
      sendJson(res, 200, { items: [], nextCursor: 'same', total: 9 }),
    );
    cleanups.push(raw.close);
    const pages = client(raw).pages('listLoads', {}, { maxPages: 50 });
    const seen: unknown[] = [];
    await expect(
      (async () => {
        for await (const p of pages) seen.push(p);
      })(),
    ).rejects.toBeInstanceOf(ResponseValidationError);
    expect(seen).toHaveLength(2);
    expect(raw.hits()).toBe(2);
  });
});

describe('company API client: errors', () => {
  it('maps 404 to NotFoundError naming the resource, without retrying', async () => {
    const f = await fake();
    const err = await client(f)
      .getLoadStatus('999999')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).provider).toBe('company_api');
    expect((err as NotFoundError).message).toContain('load "999999"');
    expect((err as NotFoundError).requestId).toMatch(/^req_/);
    expect(f.requests.getLoad).toBe(1);
  });

  it('maps 401 to RequestRejectedError and never prints the API key', async () => {
    const f = await fake({ apiKey: 'the-right-key-000' });
    const secret = 'ck_test_WRONG_9f8e7d6c5b4a';
    const err = await client(f, { apiKey: secret })
      .getLoadStatus(f.data.loads[0]!.id)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejectedError);
    expect((err as RequestRejectedError).status).toBe(401);
    expect((err as Error).message).toContain('apiKey');
    const printed = [
      String(err),
      JSON.stringify(err),
      (err as Error).message,
      (err as Error).stack ?? '',
    ].join('\n');
    expect(printed).not.toContain(secret);
    expect(f.requests.getLoad).toBe(1);
  });

  it('never prints the API key of invalid options', () => {
    const secret = 'ck_live_options_0123456789';
    let err: unknown;
    try {
      createCompanyApiClient({ baseUrl: 'ftp://nope', apiKey: secret, retries: -1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.path).sort()).toEqual(['baseUrl', 'retries']);
    expect(`${String(err)} ${JSON.stringify(err)}`).not.toContain(secret);
  });

  it('rejects an id that cannot be a resource id before sending anything', async () => {
    const f = await fake();
    const api = client(f);
    for (const bad of ['', '../etc/passwd', 'a b', 'x'.repeat(65), '-lead']) {
      await expect(api.getLoadStatus(bad)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(f.requests.total).toBe(0);
  });

  it('retries a 5xx and returns the answer of a later attempt', async () => {
    const f = await fake();
    f.faults.enqueue('error', { kind: 'error', status: 502 });
    const load = await client(f, { retries: 2 }).getLoadStatus(f.data.loads[3]!.id);
    expect(load.id).toBe(f.data.loads[3]!.id);
    expect(f.requests.getLoad).toBe(3);
  });

  it('gives up with UpstreamError after the allowed retries', async () => {
    const f = await fake();
    f.setFaults({ errorRate: 1, errorStatuses: [503] });
    const err = await client(f, { retries: 3 })
      .getLoadStatus('1000')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).status).toBe(503);
    expect((err as UpstreamError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/after 4 attempt/);
    expect(f.requests.getLoad).toBe(4);
  });

  it('does not retry a 4xx', async () => {
    const f = await fake();
    f.faults.enqueue({ kind: 'error', status: 422 });
    await expect(client(f, { retries: 3 }).getLoadStatus('1000')).rejects.toBeInstanceOf(
      RequestRejectedError,
    );
    expect(f.requests.getLoad).toBe(1);
  });

  it('retries a 429 after its Retry-After', async () => {
    const f = await fake({ faults: { retryAfterSeconds: 0 } });
    f.faults.enqueue('rateLimit');
    const load = await client(f).getLoadStatus('1001');
    expect(load.id).toBe('1001');
    expect(f.requests.getLoad).toBe(2);
  });

  it('retries connection resets', async () => {
    const f = await fake();
    f.faults.enqueue('reset', 'reset');
    const load = await client(f, { retries: 2 }).getLoadStatus('1002');
    expect(load.id).toBe('1002');
    expect(f.requests.getLoad).toBe(3);
  });

  it('reports resets that outlast the retries as UpstreamError with the cause', async () => {
    const f = await fake({ faults: { resetRate: 1 } });
    const err = await client(f, { retries: 1 })
      .getLoadStatus('1002')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toMatch(/connection failed/);
    expect((err as UpstreamError).cause).toBeDefined();
  });

  it('retries an attempt that hangs past attemptTimeoutMs', async () => {
    const f = await fake();
    f.faults.enqueue('timeout');
    // Generous margins for a loaded machine: the hung attempt is given up after 1 s, and the
    // retry has the rest of 30 s (a 150 ms attempt window could time out the healthy retry too).
    const load = await client(f, { attemptTimeoutMs: 1000, timeoutMs: 30_000 }).getLoadStatus('1003');
    expect(load.id).toBe('1003');
    expect(f.requests.getLoad).toBe(2);
  });

  it('fails with TimeoutError once the total deadline passes, whatever retries are left', async () => {
    // The answer takes 5 s, the deadline is 250 ms: a wide gap, whatever the machine's load.
    const f = await fake({ latency: 5000 });
    const started = performance.now();
    const err = await client(f, { timeoutMs: 250, retries: 5 })
      .getLoadStatus('1004')
      .catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(250);
    // A bound on correctness, not on speed: the deadline is honoured, give or take scheduling.
    expect(elapsed).toBeLessThan(4000);
    expect(f.requests.getLoad).toBe(1);
  });

  it('does not start a retry that could not finish within the deadline', async () => {
    const f = await fake({ faults: { errorRate: 1 } });
    // A 60 s backoff cannot fit in a 10 s deadline, however long the first attempt took.
    const err = await client(f, {
      timeoutMs: 10_000,
      retries: 5,
      backoffBaseMs: 60_000,
      backoffMaxMs: 60_000,
    })
      .getLoadStatus('1004')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toMatch(/no time left/);
    expect(f.requests.getLoad).toBe(1);
  });

  it('honours a per-call timeoutMs over the client default', async () => {
    // The answer takes 3 s: inside the client's 60 s default, far past the call's 100 ms.
    const f = await fake({ latency: 3000 });
    const api = client(f, { timeoutMs: 60_000 });
    const err = await api.getLoadStatus('1005', { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(100);
  });

  it('rejects a body that does not match the schema, naming the bad fields', async () => {
    const raw = await startRawServer((_req, res) =>
      sendJson(res, 200, {
        id: '1',
        status: 'teleported',
        origin: { city: 'X', state: 'Y' },
        weightLbs: 'heavy',
      }),
    );
    cleanups.push(raw.close);
    const err = await client(raw)
      .getLoadStatus('1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseValidationError);
    const fields = (err as ResponseValidationError).fields.map((f) => f.path);
    expect(fields).toEqual(expect.arrayContaining(['status', 'weightLbs', 'destination', 'pickupAt']));
    expect((err as Error).message).toContain('status');
    expect(raw.hits()).toBe(1);
  });

  it('rejects a body that is not JSON with ResponseValidationError', async () => {
    const f = await fake();
    f.faults.enqueue('malformed');
    // Both malformations (cut-short JSON, a wrong-typed field) must be rejected; try a few.
    for (let i = 0; i < 6; i++) {
      f.faults.enqueue('malformed');
      await expect(client(f).getLoadStatus('1006')).rejects.toBeInstanceOf(ResponseValidationError);
    }
  });

  it('refuses a body over maxResponseBytes', async () => {
    const f = await fake();
    const err = await client(f, { maxResponseBytes: 1000 })
      .listLoads({ limit: 50 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect((err as Error).message).toMatch(/1000 bytes/);
  });
});

describe('company API client: abort', () => {
  it('rejects with AbortedError as soon as the signal aborts a request in flight', async () => {
    const f = await fake({ latency: 5000 });
    const controller = new AbortController();
    const started = performance.now();
    const pending = client(f).getLoadStatus('1007', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('sends nothing for an already aborted signal', async () => {
    const f = await fake();
    await expect(client(f).getLoadStatus('1008', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      AbortedError,
    );
    expect(f.requests.total).toBe(0);
  });

  it('stops retrying when the signal aborts during a backoff', async () => {
    const f = await fake({ faults: { errorRate: 1 } });
    const controller = new AbortController();
    const pending = client(f, {
      retries: 5,
      backoffBaseMs: 2000,
      backoffMaxMs: 2000,
      timeoutMs: 20_000,
    }).getLoadStatus('1009', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(f.requests.getLoad).toBe(1);
  });

  it('aborts a page iteration', async () => {
    const f = await fake({ latency: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const iterate = async () => {
      for await (const _ of client(f).pages('listLoads', {}, { signal: controller.signal })) {
        // never reached: the first page takes 5 s
      }
    };
    await expect(iterate()).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('company API client: monitor', () => {
  it('records every call as company_api with method and outcome labels', async () => {
    const f = await fake();
    const monitor = new PerformanceMonitor();
    const api = client(f, { monitor });
    await api.getLoadStatus('1000');
    await api.getLoadStatus('1001');
    await api.getLoadStatus('404404').catch(() => {});
    f.faults.enqueue('error', 'error', 'error');
    await api.listLoads({}, { labels: { tenant: 'acme' } }).catch(() => {});
    await api.getEquipmentStatus('TRK-0001', { signal: AbortSignal.abort() }).catch(() => {});

    expect(monitor.stats('company_api', { labels: { method: 'getLoadStatus', outcome: 'ok' } })?.count).toBe(
      2,
    );
    expect(
      monitor.stats('company_api', { labels: { method: 'getLoadStatus', outcome: 'not_found' } })?.count,
    ).toBe(1);
    expect(
      monitor.stats('company_api', { labels: { method: 'listLoads', outcome: 'error', tenant: 'acme' } })
        ?.count,
    ).toBe(1);
    expect(
      monitor.stats('company_api', { labels: { method: 'getEquipmentStatus', outcome: 'aborted' } })?.count,
    ).toBe(1);
    expect(monitor.stats('company_api')?.count).toBe(5);
    expect(monitor.stats('company_api')?.errors).toBe(1);
  });
});

describe('company API client: hostile bodies', () => {
  it('returns a valid load or throws ResponseValidationError for any body, and never pollutes prototypes', async () => {
    const f = await fake({ size: { loads: 5, inventory: 5, equipment: 5 } });
    const valid = f.data.loads[0]!;
    let body = '';
    const raw = await startRawServer((_req, res) => sendJson(res, 200, body));
    cleanups.push(raw.close);
    const api = client(raw, { retries: 0 });
    const mutated = fc
      .tuple(fc.constantFrom(...Object.keys(valid)), fc.jsonValue())
      .map(([key, value]) => JSON.stringify({ ...valid, [key]: value }));
    const hostile = fc.constantFrom(
      `{"__proto__":{"polluted":true},${JSON.stringify(valid).slice(1)}`,
      `{"constructor":{"prototype":{"polluted":true}},${JSON.stringify(valid).slice(1)}`,
      '[]',
      'null',
      '',
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutated,
          fc.jsonValue().map((j) => JSON.stringify(j)),
          fc.string(),
          hostile,
        ),
        async (text) => {
          body = text;
          try {
            const load = await api.getLoadStatus(valid.id);
            expect(loadSchema.safeParse(load).success).toBe(true);
            expect(Object.getPrototypeOf(load)).toBe(Object.prototype);
          } catch (err) {
            expect(err).toBeInstanceOf(ResponseValidationError);
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('company API client: redirects (issue 15.14)', () => {
  async function recorder() {
    const seen: Record<string, string | undefined>[] = [];
    const target = await startRawServer((req, res) => {
      seen.push({
        'x-api-key': req.headers['x-api-key'] as string | undefined,
        auth: req.headers.authorization,
      });
      sendJson(res, 200, { id: 'L-evil', status: 'delivered' });
    });
    cleanups.push(target.close);
    return { target, seen };
  }

  it.each([301, 302, 303, 307, 308])(
    'refuses an HTTP %i redirect to another port, sending nothing there',
    async (status) => {
      const { target, seen } = await recorder();
      const origin = await startRawServer((req, res) => {
        res.writeHead(status, { location: `${target.url}${req.url}` });
        res.end();
      });
      cleanups.push(origin.close);
      const err = await client(origin, {
        apiKey: 'company-key-redirect-1',
        headers: { 'x-api-key': 'custom-key-redirect-1' },
        retries: 2,
      })
        .getLoadStatus('L-1')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RequestRejectedError);
      expect((err as RequestRejectedError).retryable).toBe(false);
      expect((err as Error).message).toContain('another origin');
      expect(target.hits()).toBe(0);
      expect(seen).toEqual([]);
      expect(origin.hits()).toBe(1); // not retried
    },
  );

  it.each([
    ['host', (port: number) => `http://localhost:${port}/v1/loads/L-1`],
    ['scheme', (port: number) => `https://127.0.0.1:${port}/v1/loads/L-1`],
    ['host with credentials', (port: number) => `http://user:pw@127.0.0.2:${port}/v1/loads/L-1`],
  ])('refuses a redirect that changes the %s', async (_what, location) => {
    let port = 0;
    const origin = await startRawServer((_req, res) => {
      res.writeHead(307, { location: location(port) });
      res.end();
    });
    cleanups.push(origin.close);
    port = Number(new URL(origin.url).port);
    const err = await client(origin, { headers: { 'x-api-key': 'custom-key-redirect-2' } })
      .getLoadStatus('L-1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejectedError);
    expect(origin.hits()).toBe(1);
  });

  it('refuses the answer of a custom fetch that followed a cross-origin redirect itself', async () => {
    const { target } = await recorder();
    const origin = await startRawServer((req, res) => {
      res.writeHead(302, { location: `${target.url}${req.url}` });
      res.end();
    });
    cleanups.push(origin.close);
    const following: typeof fetch = (input, init) => fetch(input, { ...init, redirect: 'follow' });
    const err = await client(origin, { fetch: following })
      .getLoadStatus('L-1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejectedError);
  });

  it('follows a redirect within the same origin, with its headers', async () => {
    const f = await fake();
    const load = f.data.loads[3]!;
    const auth: (string | undefined)[] = [];
    const origin = await startRawServer((req, res) => {
      auth.push(req.headers['x-api-key'] as string | undefined);
      if (!req.url?.includes('moved=1')) {
        res.writeHead(308, { location: `/v1/loads/${encodeURIComponent(load.id)}?moved=1` });
        res.end();
        return;
      }
      sendJson(res, 200, load);
    });
    cleanups.push(origin.close);
    const got = await client(origin, { headers: { 'x-api-key': 'custom-key-redirect-3' } }).getLoadStatus(
      load.id,
    );
    expect(got.id).toBe(load.id);
    expect(auth).toEqual(['custom-key-redirect-3', 'custom-key-redirect-3']);
  });
});

describe('company API client: credentials in custom headers are secrets (issue 15.15)', () => {
  it.each([
    ['x-api-key', 'hdr-secret-value-0001'],
    ['Authorization', 'Bearer hdr-secret-value-0002'],
    ['X-Auth-Token', 'hdr-secret-value-0003'],
    ['x-client-secret', 'hdr-secret-value-0004'],
    ['Ocp-Apim-Subscription-Key', 'hdr-secret-value-0005'],
    ['cookie', 'session=hdr-secret-value-0006'],
  ])('a 401 body echoing the %s header value never appears in the error', async (name, value) => {
    const bare = value.replace(/^Bearer /, '').replace(/^session=/, '');
    const server = await startRawServer((req, res) => {
      const echoed = String(req.headers[name.toLowerCase()] ?? '');
      sendJson(res, 401, { error: { code: 'unauthorized', message: `bad credentials ${echoed} / ${bare}` } });
    });
    cleanups.push(server.close);
    const err = await client(server, { headers: { [name]: value } })
      .getLoadStatus('L-1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejectedError);
    const text = `${(err as Error).message} ${JSON.stringify(err)} ${String((err as Error).stack)}`;
    expect(text).toContain('bad credentials');
    expect(text).not.toContain(bare);
  });
});
