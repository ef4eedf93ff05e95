/**
 * Hostile company-API responses: the fake company API answers, a proxy mutates the answer
 * (body structure, bytes, status, content type, framing, stalls, resets), and the real client
 * (and its cached wrapper) must return an object that validates against the documented schema,
 * or reject with a typed `EarshotError`, within its deadline and without touching a prototype.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCacheManager } from '../../src/cache/index.js';
import {
  type CompanyApiClient,
  createCachedCompanyApi,
  createCompanyApiClient,
  equipmentPageSchema,
  equipmentSchema,
  inventoryItemSchema,
  loadPageSchema,
  loadSchema,
} from '../../src/company-api/index.js';
import { type FakeCompanyApi, startFakeCompanyApi } from '../../src/testing/index.js';
import {
  assertNoPollution,
  MutatingProxy,
  type ResponsePlan,
  responsePlan,
  runs,
  timeoutFor,
  typedOutcome,
} from './helpers.js';

afterEach(() => assertNoPollution());

let fake: FakeCompanyApi;
let proxy: MutatingProxy;
let client: CompanyApiClient;

beforeAll(async () => {
  fake = await startFakeCompanyApi({ size: { loads: 50, inventory: 50, equipment: 50 } });
  proxy = await MutatingProxy.start(fake.url);
  // A short total deadline: stalls and resets must end as typed errors well before the guard.
  client = createCompanyApiClient({
    baseUrl: proxy.url,
    timeoutMs: 500,
    attemptTimeoutMs: 250,
    retries: 1,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    monitor: false,
  });
});
afterAll(async () => {
  await proxy?.close();
  await fake?.close();
});

type Call = {
  name: string;
  run: (
    api: Pick<
      CompanyApiClient,
      'getLoadStatus' | 'listLoads' | 'getInventory' | 'getEquipmentStatus' | 'listEquipment'
    >,
  ) => Promise<unknown>;
  check: (v: unknown) => boolean;
};

const calls = (): Call[] => [
  {
    name: 'getLoadStatus',
    run: (a) => a.getLoadStatus(fake.data.loads[3]!.id),
    check: (v) => loadSchema.safeParse(v).success,
  },
  {
    name: 'listLoads',
    run: (a) => a.listLoads({ limit: 5 }),
    check: (v) => loadPageSchema.safeParse(v).success,
  },
  {
    name: 'getInventory',
    run: (a) => a.getInventory(fake.data.inventory[2]!.id),
    check: (v) => inventoryItemSchema.safeParse(v).success,
  },
  {
    name: 'getEquipmentStatus',
    run: (a) => a.getEquipmentStatus(fake.data.equipment[1]!.id),
    check: (v) => equipmentSchema.safeParse(v).success,
  },
  {
    name: 'listEquipment',
    run: (a) => a.listEquipment({ limit: 3 }),
    check: (v) => equipmentPageSchema.safeParse(v).success,
  },
];

function checkResult(call: Call, value: unknown): void {
  expect(call.check(value), `${call.name} returned something that is not a valid ${call.name} result`).toBe(
    true,
  );
  expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  // Merging the answer into app state must not reach a prototype.
  Object.assign({}, value);
  assertNoPollution();
}

describe('hostile company-API responses', () => {
  it('the proxy passes clean answers through unchanged (the properties below are not vacuous)', {
    timeout: timeoutFor(20_000),
  }, async () => {
    proxy.plan = {};
    for (const call of calls()) checkResult(call, await call.run(client));
  });

  it('the client returns a valid object or a typed error, never a crash or a hang', {
    timeout: timeoutFor(20_000),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(responsePlan, fc.nat(), async (plan, pick) => {
        const list = calls();
        const call = list[pick % list.length]!;
        proxy.plan = plan;
        const r = await typedOutcome(
          () => call.run(client),
          5000,
          `${call.name} with ${JSON.stringify(plan).slice(0, 300)}`,
        );
        if (r.ok) checkResult(call, r.value);
        assertNoPollution();
      }),
      runs(150),
    );
  });

  it('after any fault, the next call on the same client (and its kept-alive connections) succeeds', {
    timeout: timeoutFor(60_000),
  }, async () => {
    const faults: [string, ResponsePlan][] = [
      ['a stalled body', { lieAboutLength: true, pieces: 10 }],
      ['a connection reset mid-body', { resetAfter: 0.5, pieces: 4 }],
      ['a 503', { status: 503 }],
      ['an HTML error page', { status: 502, contentType: 'text/html; charset=utf-8' }],
      ['a body that is not JSON', { bytes: [{ kind: 'truncate', at: 5 }] }],
    ];
    try {
      for (const call of calls()) {
        for (const [what, plan] of faults) {
          proxy.plan = plan;
          const faulted = await typedOutcome(() => call.run(client), 5000, `${call.name} with ${what}`);
          expect(faulted.ok, `${call.name} with ${what}: the fault is not vacuous`).toBe(false);
          proxy.plan = {};
          const next = await typedOutcome(() => call.run(client), 5000, `${call.name} after ${what}`);
          expect(
            next.ok ? 'ok' : `${next.error.code}: ${next.error.message}`,
            `${call.name} after ${what}`,
          ).toBe('ok');
          if (next.ok) checkResult(call, next.value);
        }
      }
    } finally {
      proxy.plan = {};
    }
  });

  it('a 2xx answer with a mutated body is either still valid or a ResponseValidationError', {
    timeout: timeoutFor(20_000),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        responsePlan.map((p) => ({
          json: p.json ?? [],
          ...(p.pieces === undefined ? {} : { pieces: p.pieces }),
        })),
        fc.nat(),
        async (plan, pick) => {
          const list = calls();
          const call = list[pick % list.length]!;
          proxy.plan = plan;
          const r = await typedOutcome(() => call.run(client), 5000, call.name);
          if (r.ok) checkResult(call, r.value);
          else expect(r.error.code).toBe('EARSHOT_RESPONSE_INVALID');
        },
      ),
      runs(150),
    );
  });

  it('the cached wrapper serves only valid objects and never caches a failure', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const cache = createCacheManager({ monitor: false });
    const api = createCachedCompanyApi(client, cache, { monitor: false });
    try {
      await fc.assert(
        fc.asyncProperty(responsePlan, fc.nat(), async (plan, pick) => {
          const list = calls();
          const call = list[pick % list.length]!;
          await cache.invalidateNamespace('company_api:load');
          await cache.invalidateNamespace('company_api:inventory');
          await cache.invalidateNamespace('company_api:equipment');
          proxy.plan = plan;
          const first = await typedOutcome(() => call.run(api), 5000, `cached ${call.name}`);
          if (first.ok) checkResult(call, first.value);
          // Whatever happened, a clean answer afterwards is valid (a failure was not cached as a value).
          proxy.plan = {};
          const second = await typedOutcome(() => call.run(api), 5000, `cached ${call.name} after`);
          if (second.ok) checkResult(call, second.value);
          else expect(second.error.code).toBe('EARSHOT_NOT_FOUND');
        }),
        runs(50),
      );
    } finally {
      await cache.close();
    }
  });
});
