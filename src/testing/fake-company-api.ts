/**
 * A fake company API: a real HTTP server on 127.0.0.1 serving the shape of
 * `docs/company-api.openapi.json` with deterministic, seeded data (thousands of loads,
 * inventory items and equipment), a latency profile and injectable faults, both switchable
 * while it runs.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import type { Equipment, InventoryItem, Load } from '../company-api/schemas.js';
import { ConfigError, InvalidArgumentError } from '../errors.js';
import { BASE_MS, generateCompanyData, iso } from './fake-company-data.js';
import {
  createRng,
  FaultInjector,
  type FaultProfile,
  hangThenDrop,
  LatencyModel,
  type LatencyProfile,
  malformJson,
  resetConnection,
  waitUnlessClosed,
} from './latency.js';

/** Route names of the fake (the OpenAPI `operationId`s), used by `requests` and by fault `routes`. */
export const FAKE_COMPANY_API_ROUTES = [
  'getLoad',
  'listLoads',
  'getInventoryItem',
  'listInventory',
  'getEquipment',
  'listEquipment',
] as const;
export type FakeCompanyApiRoute = (typeof FAKE_COMPANY_API_ROUTES)[number];

/**
 * Options of {@link startFakeCompanyApi}.
 *
 * | option | default | |
 * | --- | --- | --- |
 * | `port` | 0 (any free port) | the server always binds 127.0.0.1 |
 * | `latency` | none | a {@link LatencyProfile}, applied to every answer (errors too) |
 * | `faults` | none | a {@link FaultProfile} |
 * | `seed` | 1 | seeds the data, the latency draws and the fault draws |
 * | `size` | 5000 loads, 3000 items, 1000 equipment | how much data to generate |
 * | `apiKey` | none | when set, requests without `Authorization: Bearer <apiKey>` get 401 |
 * | `connectLatencyMs` | 0 | cost of a new connection (DNS + TCP + TLS): the first request on each new socket waits this long first |
 */
export const fakeCompanyApiOptionsSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).default(0),
    latency: z.custom<LatencyProfile>(() => true).optional(),
    faults: z.custom<FaultProfile>(() => true).optional(),
    seed: z.union([z.number().finite(), z.string()]).default(1),
    size: z
      .object({
        loads: z.number().int().min(1).max(200_000).default(5000),
        inventory: z.number().int().min(1).max(200_000).default(3000),
        equipment: z.number().int().min(1).max(200_000).default(1000),
      })
      .strict()
      .prefault({}),
    apiKey: z.string().min(1).optional(),
    connectLatencyMs: z.number().finite().min(0).default(0),
  })
  .strict();
export type FakeCompanyApiOptions = z.input<typeof fakeCompanyApiOptionsSchema>;

/** Request counts of the fake: one entry per route, plus `unknown` (no route matched) and `total`. */
export type FakeCompanyApiRequestCounts = Record<FakeCompanyApiRoute | 'unknown' | 'total', number>;

/** A running fake company API. */
export interface FakeCompanyApi {
  /** `http://127.0.0.1:<port>`: pass it as the client's `baseUrl`. */
  readonly url: string;
  readonly port: number;
  /** Requests received so far, counted on arrival (before latency and faults), per route. */
  readonly requests: Readonly<FakeCompanyApiRequestCounts>;
  /** The data served, for tests that need real ids (`fake.data.loads[0].id`). */
  readonly data: {
    readonly loads: readonly Load[];
    readonly inventory: readonly InventoryItem[];
    readonly equipment: readonly Equipment[];
  };
  /** The latency model (see `LatencyModel`); `setLatency` is a shortcut for `latency.set`. */
  readonly latency: LatencyModel;
  /** The fault injector (see `FaultInjector`): `faults.enqueue('reset')`, `faults.injected`. */
  readonly faults: FaultInjector;
  /** Switches the latency profile; the next request uses it. */
  setLatency(profile: LatencyProfile): void;
  /** Switches the fault profile (`undefined` heals the fake); the next request uses it. */
  setFaults(profile: FaultProfile | undefined): void;
  /** Changes a resource in place, as if the company's system had updated it (`updatedAt` moves on; `id` and `sku` stay). */
  update(kind: 'load', id: string, patch: Partial<Load>): void;
  update(kind: 'inventory', id: string, patch: Partial<InventoryItem>): void;
  update(kind: 'equipment', id: string, patch: Partial<Equipment>): void;
  /** Sets every request count back to 0. */
  resetCounts(): void;
  /** Cost of a new connection in ms (see the `connectLatencyMs` option). Mutable at runtime. */
  connectLatencyMs: number;
  /** TCP connections accepted since start (a keep-alive client opens few). */
  readonly connections: number;
  /** Closes kept-alive connections that serve no request (as an idle timeout does). Returns how many. */
  dropIdleConnections(): number;
  /** Stops the server and drops open connections (held "timeout" requests included). */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  429: 'rate_limited',
  500: 'internal',
  502: 'bad_gateway',
  503: 'unavailable',
  504: 'gateway_timeout',
};

class BadRequest extends Error {}

const LOAD_STATUSES = new Set(['pending', 'assigned', 'in_transit', 'delayed', 'delivered', 'cancelled']);
const EQUIPMENT_TYPES = new Set(['tractor', 'trailer', 'reefer', 'flatbed', 'forklift']);
const EQUIPMENT_STATUSES = new Set(['available', 'in_use', 'maintenance', 'out_of_service']);
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}
function decodeCursor(cursor: string, total: number): number {
  const m = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString());
  const offset = m ? Number(m[1]) : Number.NaN;
  if (!(offset >= 0 && offset <= total)) throw new BadRequest('cursor is not one this server issued');
  return offset;
}

type Query = URLSearchParams;
function checkQuery(q: Query, allowed: readonly string[]): void {
  for (const key of q.keys()) {
    if (!allowed.includes(key)) throw new BadRequest(`unknown query parameter "${key}"`);
  }
  for (const key of allowed) {
    if (q.getAll(key).length > 1) throw new BadRequest(`query parameter "${key}" given more than once`);
  }
}
function textParam(q: Query, key: string, max: number): string | undefined {
  const v = q.get(key);
  if (v === null) return undefined;
  if (v.length < 1 || v.length > max) throw new BadRequest(`${key} must be 1–${max} characters`);
  return v;
}
function enumParam(q: Query, key: string, values: Set<string>): string | undefined {
  const v = q.get(key);
  if (v === null) return undefined;
  if (!values.has(v)) throw new BadRequest(`${key} must be one of ${[...values].join(', ')}`);
  return v;
}

function page<T>(all: readonly T[], q: Query): { items: T[]; nextCursor: string | null; total: number } {
  const rawLimit = q.get('limit');
  let limit = 20;
  if (rawLimit !== null) {
    if (!/^\d{1,3}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > 100) {
      throw new BadRequest('limit must be an integer from 1 to 100');
    }
    limit = Number(rawLimit);
  }
  const rawCursor = q.get('cursor');
  if (rawCursor !== null && (rawCursor.length < 1 || rawCursor.length > 512))
    throw new BadRequest('bad cursor');
  const offset = rawCursor === null ? 0 : decodeCursor(rawCursor, all.length);
  const items = all.slice(offset, offset + limit);
  const next = offset + items.length;
  return { items, nextCursor: next < all.length ? encodeCursor(next) : null, total: all.length };
}

/**
 * Starts a fake company API on 127.0.0.1 and resolves once it listens.
 *
 * Routes (see `docs/company-api.openapi.json`): `getLoad` `GET /v1/loads/{loadId}`,
 * `listLoads` `GET /v1/loads`, `getInventoryItem` `GET /v1/inventory/{itemIdOrSku}`,
 * `listInventory` `GET /v1/inventory`, `getEquipment` `GET /v1/equipment/{equipmentId}`,
 * `listEquipment` `GET /v1/equipment`. Load ids are `"1000"` to `"5999"` with the default
 * size, item ids `ITM-00001`…, SKUs like `PAL-10000`, equipment ids like `TRK-0001`.
 *
 * @example
 * ```ts
 * import { startFakeCompanyApi } from 'earshot/testing';
 * const fake = await startFakeCompanyApi({ latency: { kind: 'distribution', p50Ms: 60, p90Ms: 100 } });
 * const api = createCompanyApiClient({ baseUrl: fake.url });
 * await api.getLoadStatus('2314');
 * fake.setFaults({ errorRate: 0.2 });   // degrade mid-run
 * console.log(fake.requests.getLoad);
 * await fake.close();
 * ```
 */
export async function startFakeCompanyApi(options: FakeCompanyApiOptions = {}): Promise<FakeCompanyApi> {
  const parsed = fakeCompanyApiOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
      { source: 'startFakeCompanyApi options' },
    );
  }
  const o = parsed.data;
  const seedText = String(o.seed);
  const latency = new LatencyModel(o.latency ?? { kind: 'none' }, { seed: `${seedText}:latency` });
  const faults = new FaultInjector(o.faults, { seed: `${seedText}:faults` });
  const malformRng = createRng(`${seedText}:malformed`);
  const data = generateCompanyData(o.seed, o.size);
  const loadsById = new Map(data.loads.map((l) => [l.id, l]));
  const itemsByKey = new Map<string, InventoryItem>();
  for (const item of data.inventory) {
    itemsByKey.set(item.id, item);
    itemsByKey.set(item.sku, item);
  }
  const equipmentById = new Map(data.equipment.map((e) => [e.id, e]));

  const counts = Object.fromEntries(
    [...FAKE_COMPANY_API_ROUTES, 'unknown', 'total'].map((k) => [k, 0]),
  ) as Record<FakeCompanyApiRoute | 'unknown' | 'total', number>;
  let requestSeq = 0;
  let tick = 0;

  const route = (path: string): { name: FakeCompanyApiRoute; id?: string } | undefined => {
    const m = /^\/v1\/(loads|inventory|equipment)(?:\/([^/]+))?\/?$/.exec(path);
    if (!m) return undefined;
    const [, collection, rawId] = m;
    const kind = collection as 'loads' | 'inventory' | 'equipment';
    if (rawId === undefined) {
      return {
        name: kind === 'loads' ? 'listLoads' : kind === 'inventory' ? 'listInventory' : 'listEquipment',
      };
    }
    let id: string;
    try {
      id = decodeURIComponent(rawId);
    } catch {
      id = rawId;
    }
    return {
      name: kind === 'loads' ? 'getLoad' : kind === 'inventory' ? 'getInventoryItem' : 'getEquipment',
      id,
    };
  };

  const answer = (
    name: FakeCompanyApiRoute,
    id: string | undefined,
    q: Query,
  ): { status: number; body: unknown } => {
    if (id !== undefined) {
      checkQuery(q, []);
      if (!ID.test(id)) throw new BadRequest('the id must be 1–64 letters, digits, ".", "_" or "-"');
      const found =
        name === 'getLoad'
          ? loadsById.get(id)
          : name === 'getInventoryItem'
            ? itemsByKey.get(id)
            : equipmentById.get(id);
      if (!found) {
        const what =
          name === 'getLoad' ? 'load' : name === 'getInventoryItem' ? 'inventory item or SKU' : 'equipment';
        return { status: 404, body: { code: 'not_found', message: `no ${what} "${id}"` } };
      }
      return { status: 200, body: found };
    }
    if (name === 'listLoads') {
      checkQuery(q, ['status', 'originState', 'destinationState', 'carrier', 'limit', 'cursor']);
      const status = enumParam(q, 'status', LOAD_STATUSES);
      const originState = textParam(q, 'originState', 32);
      const destinationState = textParam(q, 'destinationState', 32);
      const carrier = textParam(q, 'carrier', 128);
      const all = data.loads.filter(
        (l) =>
          (status === undefined || l.status === status) &&
          (originState === undefined || l.origin.state === originState) &&
          (destinationState === undefined || l.destination.state === destinationState) &&
          (carrier === undefined || l.carrier === carrier),
      );
      return { status: 200, body: page(all, q) };
    }
    if (name === 'listInventory') {
      checkQuery(q, ['warehouse', 'category', 'belowReorderPoint', 'limit', 'cursor']);
      const warehouse = textParam(q, 'warehouse', 128);
      const category = textParam(q, 'category', 128);
      const below = enumParam(q, 'belowReorderPoint', new Set(['true', 'false']));
      const all = data.inventory.filter(
        (i) =>
          (warehouse === undefined || i.warehouse === warehouse) &&
          (category === undefined || i.category === category) &&
          (below === undefined || i.quantityAvailable <= i.reorderPoint === (below === 'true')),
      );
      return { status: 200, body: page(all, q) };
    }
    checkQuery(q, ['type', 'status', 'limit', 'cursor']);
    const type = enumParam(q, 'type', EQUIPMENT_TYPES);
    const status = enumParam(q, 'status', EQUIPMENT_STATUSES);
    const all = data.equipment.filter(
      (e) => (type === undefined || e.type === type) && (status === undefined || e.status === status),
    );
    return { status: 200, body: page(all, q) };
  };

  const send = (
    res: ServerResponse,
    status: number,
    requestId: string,
    text: string,
    extra: Record<string, string> = {},
  ) => {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-request-id': requestId,
      ...extra,
    });
    res.end(text);
  };
  const sendError = (res: ServerResponse, status: number, requestId: string, message: string, extra = {}) => {
    const code = STATUS_CODES[status] ?? `http_${status}`;
    send(res, status, requestId, JSON.stringify({ error: { code, message }, requestId }), extra);
  };

  let connectLatencyMs = o.connectLatencyMs;
  let connections = 0;
  const sockets = new Set<Socket>();
  const warmSockets = new WeakSet<Socket>();
  const busy = new Map<Socket, number>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!warmSockets.has(req.socket)) {
      warmSockets.add(req.socket);
      if (connectLatencyMs > 0 && !(await waitUnlessClosed(connectLatencyMs, res))) return;
    }
    counts.total++;
    const requestId = `req_${(++requestSeq).toString().padStart(6, '0')}`;
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const matched = route(url.pathname);
    if (matched) counts[matched.name]++;
    else counts.unknown++;

    const decision = faults.decide(matched?.name);
    const waitMs = latency.sample() + (decision.kind === 'slow' ? decision.extraMs : 0);
    if (!(await waitUnlessClosed(waitMs, res))) return;

    if (decision.kind === 'reset') return resetConnection(req);
    if (decision.kind === 'timeout') return hangThenDrop(req, res, decision.hangMs);

    if (!matched) return sendError(res, 404, requestId, `no route for ${url.pathname}`);
    if (req.method !== 'GET') return sendError(res, 405, requestId, 'only GET is served', { allow: 'GET' });
    if (o.apiKey !== undefined && req.headers.authorization !== `Bearer ${o.apiKey}`) {
      return sendError(res, 401, requestId, 'missing or wrong API key');
    }
    if (decision.kind === 'error') return sendError(res, decision.status, requestId, 'injected failure');
    if (decision.kind === 'rateLimit') {
      return sendError(res, 429, requestId, 'slow down', {
        'retry-after': String(decision.retryAfterSeconds),
      });
    }

    let result: { status: number; body: unknown };
    try {
      result = answer(matched.name, matched.id, url.searchParams);
    } catch (err) {
      if (err instanceof BadRequest) return sendError(res, 400, requestId, err.message);
      throw err;
    }
    if (result.status !== 200) {
      const b = result.body as { message: string };
      return sendError(res, result.status, requestId, b.message);
    }
    const text =
      decision.kind === 'malformed' ? malformJson(result.body, malformRng) : JSON.stringify(result.body);
    send(res, 200, requestId, text);
  };

  const server: Server = createServer((req, res) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else busy.delete(socket);
    });
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) sendError(res, 500, 'req_internal', 'fake server bug');
      else res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;

  const update = (
    kind: 'load' | 'inventory' | 'equipment',
    id: string,
    patch: Record<string, unknown>,
  ): void => {
    const target =
      kind === 'load' ? loadsById.get(id) : kind === 'inventory' ? itemsByKey.get(id) : equipmentById.get(id);
    if (!target) throw new InvalidArgumentError(`The fake has no ${kind} "${id}".`);
    // Ids and SKUs are lookup keys: they stay as they are.
    const { id: _id, sku: _sku, ...rest } = patch;
    tick++;
    Object.assign(target, rest, { updatedAt: iso(BASE_MS + tick * 1000) });
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return { ...counts };
    },
    data,
    latency,
    faults,
    setLatency: (profile) => latency.set(profile),
    setFaults: (profile) => faults.set(profile),
    update: update as FakeCompanyApi['update'],
    resetCounts() {
      for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = 0;
    },
    get connectLatencyMs() {
      return connectLatencyMs;
    },
    set connectLatencyMs(ms: number) {
      connectLatencyMs = Number.isFinite(ms) && ms > 0 ? ms : 0;
    },
    get connections() {
      return connections;
    },
    dropIdleConnections() {
      let dropped = 0;
      for (const s of sockets) {
        if (busy.has(s)) continue;
        s.destroy();
        dropped++;
      }
      return dropped;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
