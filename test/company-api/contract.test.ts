/**
 * The OpenAPI document (docs/company-api.openapi.json) is the contract: every response the
 * fake sends must validate against it, every request the client sends must be one it
 * documents, and the client's zod schemas must accept and reject exactly what it does.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCompanyApiClient,
  EQUIPMENT_STATUSES,
  EQUIPMENT_TYPES,
  equipmentSchema,
  inventoryItemSchema,
  LOAD_STATUSES,
  loadSchema,
} from '../../src/company-api/index.js';
import {
  FAKE_COMPANY_API_ROUTES,
  type FakeCompanyApi,
  startFakeCompanyApi,
} from '../../src/testing/index.js';
import { createValidator, type Exchange, loadOpenApi, recordingFetch } from './helpers.js';

const doc = loadOpenApi();
const v = createValidator(doc);

describe('the OpenAPI document', () => {
  it('validates against the official OpenAPI 3.1 schema', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // The check has teeth: a bad parameter location, or a missing info, fails it.
    const broken = structuredClone(doc) as unknown as {
      paths: Record<string, { get: { parameters: { in?: string }[] } }>;
    };
    broken.paths['/v1/loads/{loadId}']!.get.parameters[0]!.in = 'body';
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).toBe(false);
    const { info: _info, ...noInfo } = structuredClone(doc) as unknown as Record<string, unknown>;
    expect((await new Validator().validate(noInfo)).valid).toBe(false);
  });

  it('is OpenAPI 3.1 with an operationId for every operation, matching the fake routes', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...FAKE_COMPANY_API_ROUTES].sort());
  });

  it('has only $refs that resolve', () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, val] of Object.entries(node)) {
          if (k === '$ref' && typeof val === 'string') refs.push(val);
          else walk(val);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      let node: unknown = doc;
      for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown>)?.[part];
      expect(node, ref).toBeDefined();
    }
  });

  it('has component schemas that compile as JSON Schema 2020-12', () => {
    for (const name of Object.keys(doc.components.schemas)) {
      expect(() => v.validateSchema(name, null), name).not.toThrow();
    }
  });
});

describe('the fake company API against the document', () => {
  let fake: FakeCompanyApi;
  let exchanges: Exchange[];
  let clientExchanges: Exchange[];

  beforeAll(async () => {
    fake = await startFakeCompanyApi({
      size: { loads: 400, inventory: 300, equipment: 150 },
      seed: 'contract',
    });
    const rec = recordingFetch();
    const api = createCompanyApiClient({ baseUrl: fake.url, monitor: false, retries: 0, fetch: rec.fetch });
    const ignore = () => {};

    // Every kind of resource, found and not found.
    for (const l of fake.data.loads.slice(0, 40)) await api.getLoadStatus(l.id);
    for (const i of fake.data.inventory.slice(0, 20)) {
      await api.getInventory(i.id);
      await api.getInventory(i.sku);
    }
    for (const e of fake.data.equipment.slice(0, 40)) await api.getEquipmentStatus(e.id);
    await api.getLoadStatus('no-such-load').catch(ignore);
    await api.getInventory('NOPE-1').catch(ignore);
    await api.getEquipmentStatus('XYZ-9999').catch(ignore);

    // Every filter value, and whole paginations.
    for (const status of LOAD_STATUSES) await api.listLoads({ status, limit: 7 });
    await api.listLoads({ originState: 'TX', destinationState: 'CA', carrier: 'Summit Haulers' });
    for (const type of EQUIPMENT_TYPES) await api.listEquipment({ type });
    for (const status of EQUIPMENT_STATUSES) await api.listEquipment({ status, limit: 100 });
    await api.listInventory({ warehouse: 'DAL-1', category: 'pallets', belowReorderPoint: false });
    for await (const _ of api.pages('listLoads', { limit: 100 }, { maxPages: 10 })) ignore();
    for await (const _ of api.pages('listInventory', { limit: 33 }, { maxPages: 20 })) ignore();
    for await (const _ of api.pages('listEquipment', {}, { maxPages: 20 })) ignore();

    // Errors the server produces: 5xx, 429.
    fake.faults.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 503 }, 'rateLimit');
    for (let i = 0; i < 3; i++) await api.getLoadStatus('1000').catch(ignore);
    clientExchanges = [...rec.exchanges];

    // Bad requests the client never sends (it validates first), sent raw.
    const base = fake.url;
    for (const path of [
      '/v1/loads?limit=0',
      '/v1/loads?limit=101',
      '/v1/loads?limit=ten',
      '/v1/loads?cursor=bogus',
      '/v1/loads?status=lost',
      '/v1/loads?unknown=1',
      '/v1/inventory?belowReorderPoint=maybe',
      '/v1/equipment?type=rocket',
      '/v1/loads/..%2Fsecret',
    ]) {
      await rec.fetch(`${base}${path}`);
    }
    const keyed = await startFakeCompanyApi({
      size: { loads: 5, inventory: 5, equipment: 5 },
      apiKey: 'contract-key-123',
    });
    await rec.fetch(`${keyed.url}/v1/loads/1000`);
    await keyed.close();
    exchanges = rec.exchanges;
  });

  afterAll(async () => {
    await fake?.close();
  });

  it('answered every kind of status the document describes', () => {
    const statuses = new Set(exchanges.map((e) => e.status));
    for (const s of [200, 400, 401, 404, 429, 500, 503]) expect(statuses.has(s), String(s)).toBe(true);
    expect(exchanges.length).toBeGreaterThan(150);
  });

  it('sends only responses that validate against the document', () => {
    const problems = exchanges.flatMap((e) =>
      v
        .checkResponse(e.method, e.url, e.status, e.headers, e.body)
        .map((p) => `${e.status} ${e.url.pathname}${e.url.search}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('receives from the client only requests the document describes', () => {
    const problems = clientExchanges.flatMap((e) =>
      v.checkRequest(e.method, e.url).map((p) => `${e.url.pathname}${e.url.search}: ${p}`),
    );
    expect(clientExchanges.length).toBeGreaterThan(100);
    expect(problems).toEqual([]);
  });

  it('validates every record it serves against both the document and the zod schemas', () => {
    for (const l of fake.data.loads) {
      expect(v.validateSchema('Load', l)).toEqual([]);
      expect(loadSchema.safeParse(l).success).toBe(true);
    }
    for (const i of fake.data.inventory) {
      expect(v.validateSchema('InventoryItem', i)).toEqual([]);
      expect(inventoryItemSchema.safeParse(i).success).toBe(true);
    }
    for (const e of fake.data.equipment) {
      expect(v.validateSchema('Equipment', e)).toEqual([]);
      expect(equipmentSchema.safeParse(e).success).toBe(true);
    }
  });
});

describe('the zod schemas against the document', () => {
  let samples: { Load: unknown[]; InventoryItem: unknown[]; Equipment: unknown[] };
  beforeAll(async () => {
    const fake = await startFakeCompanyApi({ size: { loads: 200, inventory: 100, equipment: 100 }, seed: 7 });
    samples = {
      Load: structuredClone(fake.data.loads) as unknown[],
      InventoryItem: structuredClone(fake.data.inventory) as unknown[],
      Equipment: structuredClone(fake.data.equipment) as unknown[],
    };
    await fake.close();
  });
  const zodFor = {
    Load: loadSchema,
    InventoryItem: inventoryItemSchema,
    Equipment: equipmentSchema,
  } as const;

  // Values of every JSON type, plus values valid for some field, so mutations land on both sides.
  const fieldValue = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.integer({ min: -1000, max: 1_000_000 }),
    fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(...LOAD_STATUSES, ...EQUIPMENT_TYPES, ...EQUIPMENT_STATUSES, 'each', 'pallet', 'case'),
    fc.constantFrom(
      '2025-01-06T12:00:00Z',
      '2025-01-06T12:00:00.123+02:00',
      '2025-13-01T00:00:00Z',
      'TRK-0001',
      '',
    ),
    fc.record({ city: fc.string({ maxLength: 5 }), state: fc.string({ maxLength: 3 }) }),
    fc.array(fc.integer(), { maxLength: 3 }),
  );

  it('accept and reject the same mutated records', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('Load', 'InventoryItem', 'Equipment'),
        fc.nat(),
        fc.nat(),
        fc.oneof(fc.constant<'delete'>('delete'), fieldValue),
        fc.boolean(),
        (kind, pick, fieldPick, value, nested) => {
          const list = samples[kind as keyof typeof samples];
          const record = structuredClone(list[pick % list.length]) as Record<string, unknown>;
          let target = record;
          // Sometimes mutate inside a nested location object instead of the record itself.
          if (nested) {
            const inner = Object.values(record).find((x) => x && typeof x === 'object' && !Array.isArray(x));
            if (inner) target = inner as Record<string, unknown>;
          }
          const keys = Object.keys(target);
          const key = keys[fieldPick % keys.length]!;
          if (value === 'delete') delete target[key];
          else target[key] = value;
          const ajvOk = v.validateSchema(kind, record).length === 0;
          const zodOk = zodFor[kind as keyof typeof zodFor].safeParse(record).success;
          if (ajvOk !== zodOk) {
            throw new Error(
              `${kind}.${key} = ${JSON.stringify(value)}: document says ${ajvOk}, zod says ${zodOk}`,
            );
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
