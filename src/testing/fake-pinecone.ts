/**
 * A wire-compatible fake of one Pinecone serverless index, close enough that the real
 * `@pinecone-database/pinecone` SDK (tested with 8.x) works against it. The data plane
 * (`POST /query`, `POST /vectors/upsert`, `POST /vectors/delete`, `POST /describe_index_stats`)
 * and the control plane (`GET /indexes`, `GET /indexes/:name`) share one port. It holds real
 * vectors in memory, ranks by cosine similarity (or dot product / euclidean) and applies
 * Pinecone's metadata filter operators (`$eq`, `$ne`, `$in`, `$nin`, `$gt`, `$gte`, `$lt`,
 * `$lte`, `$exists`, `$and`, `$or`; list-valued fields match when any element does).
 * The default namespace answers to both `''` and `__default__` (what SDK v8 sends when a call
 * names no namespace).
 *
 * Point the SDK at it with `controllerHostUrl: fake.url` and **always** `pc.index({ host:
 * fake.indexHost })`: the index host carries its `http://` scheme, which the SDK needs (it turns
 * a scheme-less host into `https://`).
 *
 * Latency (`latency`) is the delay before each answer. Faults (`faults`, routes `query`,
 * `upsert`, `delete`, `describeIndexStats`, `describeIndex`, `listIndexes`): `error` and
 * `rateLimit` answer with that status (a 429 carries `retry-after`), `slow` adds delay,
 * `timeout` hangs, `malformed` sends a body cut short, `reset` drops the connection.
 *
 * @example
 * ```ts
 * import { Pinecone } from '@pinecone-database/pinecone';
 * import { startFakePinecone } from 'earshot/testing';
 * const fake = await startFakePinecone({ dimension: 4 });
 * const pc = new Pinecone({ apiKey: fake.apiKey, controllerHostUrl: fake.url, maxRetries: 0 });
 * const index = pc.index({ host: fake.indexHost }); // always pass host, WITH http://
 * await index.upsert({ records: [{ id: 'a', values: [1, 0, 0, 0], metadata: { lang: 'en' } }] });
 * await index.query({ vector: [1, 0, 0, 0], topK: 1, filter: { lang: { $eq: 'en' } } });
 * await fake.close();
 * ```
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { connectionOf, RequestLog, readBody, sendJson, startServer } from './fake-provider-kit.js';
import {
  FaultInjector,
  type FaultProfile,
  hangThenDrop,
  LatencyModel,
  type LatencyProfile,
  resetConnection,
  waitUnlessClosed,
} from './latency.js';

/** Metadata values Pinecone stores. */
export type FakePineconeMetadata = Record<string, string | number | boolean | string[]>;

/** A stored record. */
export interface FakePineconeRecord {
  id: string;
  values: number[];
  metadata?: FakePineconeMetadata;
}

/** Options of {@link startFakePinecone}. */
export interface FakePineconeOptions {
  /** Port to listen on. Default 0 (an ephemeral port). */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Delay before each answer. Default none. */
  latency?: LatencyProfile;
  /** Injected faults (see the module doc for route names). Default none. */
  faults?: FaultProfile;
  /** Seed of latency and fault draws. Default 1. */
  seed?: number | string;
  /** When set, only `Api-Key: <apiKey>` is accepted (others get 401). Default: any non-empty key. */
  apiKey?: string;
  /** Index name served by the control plane. Default `earshot-docs`. */
  indexName?: string;
  /** Vector size; when absent, the first upsert fixes it. */
  dimension?: number;
  /** Similarity metric. Default `cosine`. */
  metric?: 'cosine' | 'dotproduct' | 'euclidean';
  /** Records loaded at start, each with an optional namespace (default: the default namespace). */
  records?: readonly (FakePineconeRecord & { namespace?: string })[];
  /**
   * Return the index host WITHOUT a scheme from `GET /indexes/:name`, as the real API does.
   * The SDK then prefixes `https://` and fails against this plain-HTTP fake: use it to check
   * that your code always passes `host`. Default false (the host carries `http://`).
   */
  hostWithoutScheme?: boolean;
  /**
   * Cost of a new connection (DNS + TCP + TLS on the real service), paid by the first request
   * on each new connection and not by later requests on a kept-alive one. Default 0.
   */
  connectLatencyMs?: number;
}

/** A running fake Pinecone index. */
export interface FakePinecone {
  /** `http://127.0.0.1:<port>`: the control plane (`controllerHostUrl`). */
  readonly url: string;
  /** The data-plane host WITH its `http://` scheme: pass it as `pc.index({ host })`. */
  readonly indexHost: string;
  readonly port: number;
  readonly indexName: string;
  /** A key clients can send (the required one, or a placeholder when any key is accepted). */
  readonly apiKey: string;
  /** Vector size, once known. */
  readonly dimension: number | undefined;
  /** The latency model in force; `fake.latency.set(...)` switches it at runtime. */
  readonly latency: LatencyModel;
  /** The fault injector; `fake.faults.set(...)` / `fake.faults.enqueue(...)` at runtime. */
  readonly faults: FaultInjector;
  /** Every request received, without credentials. */
  readonly requests: RequestLog;
  /** Cost of a new connection in ms (see {@link FakePineconeOptions.connectLatencyMs}). Mutable at runtime. */
  connectLatencyMs: number;
  /** TCP connections accepted since start (a keep-alive client opens few). */
  readonly connections: number;
  /** Stores records directly (no HTTP), e.g. to seed a test. */
  upsert(records: readonly FakePineconeRecord[], namespace?: string): void;
  /** Copies of the records of a namespace (default: the default namespace, `''` or `__default__`), in insertion order. */
  records(namespace?: string): FakePineconeRecord[];
  /** Closes kept-alive HTTP connections that serve no request (as an idle timeout does; WebSockets stay). Returns how many. */
  dropIdleConnections(): number;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

type Filter = Record<string, unknown>;

/**
 * The default namespace has two spellings: `''` (older API versions, and callers) and
 * `__default__` (what SDK v8 sends when no namespace is given). Both name one namespace here.
 */
const DEFAULT_NAMESPACE = '__default__';
function nsKey(namespace: string | undefined): string {
  return namespace === undefined || namespace === '' ? DEFAULT_NAMESPACE : namespace;
}

class FilterError extends Error {}

function isPrimitive(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function eq(value: unknown, target: unknown): boolean {
  // A list-valued field matches when any of its elements matches (Pinecone semantics).
  if (Array.isArray(value)) return value.some((v) => v === target);
  return value === target;
}

function compare(value: unknown, target: unknown, op: string): boolean {
  if (typeof target !== 'number')
    throw new FilterError(`${op} needs a number, got ${JSON.stringify(target)}`);
  if (typeof value !== 'number') return false;
  switch (op) {
    case '$gt':
      return value > target;
    case '$gte':
      return value >= target;
    case '$lt':
      return value < target;
    default:
      return value <= target;
  }
}

function fieldMatches(value: unknown, condition: unknown): boolean {
  if (isPrimitive(condition)) return eq(value, condition);
  if (!condition || typeof condition !== 'object' || Array.isArray(condition)) {
    throw new FilterError(`unsupported filter value ${JSON.stringify(condition)}`);
  }
  for (const [op, target] of Object.entries(condition)) {
    switch (op) {
      case '$eq':
        if (!eq(value, target)) return false;
        break;
      case '$ne':
        if (eq(value, target)) return false;
        break;
      case '$in':
      case '$nin': {
        if (!Array.isArray(target)) throw new FilterError(`${op} needs an array`);
        const hit = target.some((t) => eq(value, t));
        if (op === '$in' ? !hit : hit) return false;
        break;
      }
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        if (!compare(value, target, op)) return false;
        break;
      case '$exists':
        if ((value !== undefined) !== Boolean(target)) return false;
        break;
      default:
        throw new FilterError(`unsupported filter operator ${op}`);
    }
  }
  return true;
}

/** True when `metadata` satisfies a Pinecone metadata filter. Exported for tests. */
export function matchesPineconeFilter(metadata: FakePineconeMetadata | undefined, filter: Filter): boolean {
  const meta = metadata ?? {};
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition)) throw new FilterError(`${key} needs an array of filters`);
      const results = condition.map((f) => matchesPineconeFilter(meta, f as Filter));
      if (key === '$and' ? !results.every(Boolean) : !results.some(Boolean)) return false;
      continue;
    }
    if (key.startsWith('$')) throw new FilterError(`unsupported top-level operator ${key}`);
    if (!fieldMatches(meta[key], condition)) return false;
  }
  return true;
}

function score(
  metric: 'cosine' | 'dotproduct' | 'euclidean',
  a: readonly number[],
  b: readonly number[],
): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let dist = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
    dist += (x - y) * (x - y);
  }
  if (metric === 'dotproduct') return dot;
  if (metric === 'euclidean') return dist; // Pinecone reports the squared distance; lower is closer.
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** The control plane's error body (`ErrorResponse` of the control-plane spec). */
function controlPlaneError(status: number, message: string | undefined): unknown {
  const code =
    status === 401
      ? 'UNAUTHENTICATED'
      : status === 404
        ? 'NOT_FOUND'
        : status === 429
          ? 'RESOURCE_EXHAUSTED'
          : status >= 500
            ? 'INTERNAL'
            : 'INVALID_ARGUMENT';
  const text = message ?? (pineconeError(status, undefined) as { message: string }).message;
  return { error: { code, message: text }, status };
}

function pineconeError(status: number, message: string | undefined): unknown {
  // The data plane answers with a gRPC-style body; the SDK extracts `message`.
  const code = status === 401 ? 16 : status === 404 ? 5 : status === 429 ? 8 : status >= 500 ? 13 : 3;
  return {
    code,
    message:
      message ??
      (status === 401
        ? 'Invalid API Key'
        : status === 429
          ? 'Request rate limit exceeded'
          : status >= 500
            ? 'Internal error'
            : 'Bad request'),
    details: [],
  };
}

function validRecord(r: unknown): r is FakePineconeRecord {
  if (!r || typeof r !== 'object') return false;
  const rec = r as Record<string, unknown>;
  return (
    typeof rec.id === 'string' &&
    rec.id.length > 0 &&
    Array.isArray(rec.values) &&
    rec.values.every((x) => typeof x === 'number' && Number.isFinite(x))
  );
}

/**
 * Starts a fake Pinecone index (see the module doc).
 *
 * @example
 * ```ts
 * const fake = await startFakePinecone({ dimension: 1536, records: [{ id: 'doc-1', values: fakeEmbed('Trailer inspection procedure'), metadata: { text: '...' } }] });
 * fake.faults.enqueue({ kind: 'error', route: 'query', status: 503 }); // the next query gets a 503
 * ```
 */
export async function startFakePinecone(options: FakePineconeOptions = {}): Promise<FakePinecone> {
  const indexName = options.indexName ?? 'earshot-docs';
  const metric = options.metric ?? 'cosine';
  let dimension = options.dimension;
  if (dimension !== undefined && !(Number.isInteger(dimension) && dimension > 0)) {
    throw new InvalidArgumentError(`dimension must be a positive integer, got ${dimension}.`);
  }
  const namespaces = new Map<string, Map<string, FakePineconeRecord>>();
  let requestCounter = 0;

  const store = (records: readonly FakePineconeRecord[], namespace: string): string | undefined => {
    const expected = dimension ?? (records[0] as FakePineconeRecord | undefined)?.values?.length;
    for (const r of records) {
      if (!validRecord(r)) return `Invalid vector record: ${JSON.stringify(r).slice(0, 80)}`;
      if (r.values.length !== expected) {
        return `Vector dimension ${r.values.length} does not match the dimension of the index ${expected}`;
      }
    }
    dimension = expected;
    let ns = namespaces.get(nsKey(namespace));
    if (!ns) {
      ns = new Map();
      namespaces.set(nsKey(namespace), ns);
    }
    for (const r of records) {
      const copy: FakePineconeRecord = { id: r.id, values: [...r.values] };
      if (r.metadata) copy.metadata = structuredClone(r.metadata);
      ns.set(r.id, copy);
    }
    return undefined;
  };

  for (const r of options.records ?? []) {
    const { namespace, ...record } = r;
    const problem = store([record], namespace ?? '');
    if (problem) throw new InvalidArgumentError(`startFakePinecone records: ${problem}.`);
  }

  const seed = options.seed ?? 1;
  const latency = new LatencyModel(options.latency ?? { kind: 'none' }, { seed });
  const faults = new FaultInjector(options.faults, { seed: `${seed}:faults` });
  const requests = new RequestLog();
  let hostUrl = '';
  let connectLatencyMs = options.connectLatencyMs ?? 0;

  const routeOf = (method: string, path: string): string => {
    if (method === 'GET' && path === '/indexes') return 'listIndexes';
    if (method === 'GET' && path.startsWith('/indexes/')) return 'describeIndex';
    if (method !== 'POST') return 'unknown';
    switch (path) {
      case '/query':
        return 'query';
      case '/vectors/upsert':
        return 'upsert';
      case '/vectors/delete':
        return 'delete';
      case '/describe_index_stats':
        return 'describeIndexStats';
      default:
        return 'unknown';
    }
  };

  const started = await startServer({
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    connectLatencyMs: () => connectLatencyMs,
    async onRequest(req, res, url) {
      requestCounter += 1;
      const startedAt = performance.now();
      // The service's own spelling (not the generic `x-request-id`); the latency header is set
      // once the answer is ready.
      const headers: Record<string, string> = {
        'x-pinecone-request-id': String(7_000_000_000_000_000 + requestCounter),
      };
      const path = url.pathname;
      const method = req.method ?? 'GET';
      const route = routeOf(method, path);
      const raw = await readBody(req);
      let body: unknown;
      let badJson = false;
      try {
        body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        badJson = true;
      }
      const record = requests.add({
        transport: 'http',
        method,
        path,
        query: {},
        route,
        body,
        atMs: performance.now(),
        ...connectionOf(req),
      });
      const reply = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
        record.status = status;
        sendJson(res, status, payload, { ...headers, ...extra });
      };
      // The control plane (index listing and description) answers errors in its own shape.
      const isControl = route === 'listIndexes' || route === 'describeIndex';
      const errorBody = (status: number, message?: string) =>
        isControl ? controlPlaneError(status, message) : pineconeError(status, message);

      const key = req.headers['api-key'];
      if (
        typeof key !== 'string' ||
        key.length === 0 ||
        (options.apiKey !== undefined && key !== options.apiKey)
      ) {
        reply(401, errorBody(401));
        return true;
      }
      const decision = faults.decide(route);
      if (
        !(await waitUnlessClosed(latency.sample() + (decision.kind === 'slow' ? decision.extraMs : 0), res))
      ) {
        return true;
      }
      headers['x-pinecone-request-latency-ms'] = String(Math.round(performance.now() - startedAt));
      switch (decision.kind) {
        case 'error':
          reply(decision.status, errorBody(decision.status));
          return true;
        case 'rateLimit':
          reply(429, errorBody(429), { 'retry-after': String(decision.retryAfterSeconds) });
          return true;
        case 'reset':
          record.status = 0;
          resetConnection(req);
          return true;
        case 'timeout':
          record.status = 0;
          await hangThenDrop(req, res, decision.hangMs);
          return true;
        case 'malformed':
          record.status = 200;
          res.writeHead(200, { 'content-type': 'application/json', ...headers });
          res.end('{"matches":[{"id":"a","score":');
          return true;
      }

      if (route === 'listIndexes' || route === 'describeIndex') {
        const [status, payload] = controlPlane(path);
        reply(status, payload);
        return true;
      }
      if (route === 'unknown') {
        reply(404, pineconeError(404, `Not found: ${method} ${path}`));
        return true;
      }
      if (badJson) {
        reply(400, pineconeError(400, 'Invalid JSON body'));
        return true;
      }
      const params = (body ?? {}) as Record<string, unknown>;
      const namespace = typeof params.namespace === 'string' ? params.namespace : '';
      const [status, payload] = dataPlane(route, params, namespace);
      reply(status, payload);
      return true;
    },
  });
  hostUrl = started.url;

  function controlPlane(path: string): [number, unknown] {
    const model = {
      name: indexName,
      dimension: dimension ?? 0,
      metric,
      vector_type: 'dense',
      host: options.hostWithoutScheme ? hostUrl.replace(/^https?:\/\//, '') : hostUrl,
      deletion_protection: 'disabled',
      // Valid against the 2026-04 IndexModel: no `tags` when there are none (not `null`), and
      // a serverless spec always carries its read capacity.
      spec: {
        serverless: {
          cloud: 'aws',
          region: 'us-east-1',
          read_capacity: { mode: 'OnDemand', status: { state: 'Ready' } },
        },
      },
      status: { ready: true, state: 'Ready' },
    };
    if (path === '/indexes') return [200, { indexes: [model] }];
    const name = decodeURIComponent(path.slice('/indexes/'.length));
    if (name !== indexName) return [404, controlPlaneError(404, `Resource ${name} not found`)];
    return [200, model];
  }

  function dataPlane(route: string, params: Record<string, unknown>, namespace: string): [number, unknown] {
    switch (route) {
      case 'query':
        return query(params, namespace);
      case 'upsert': {
        const vectors = params.vectors;
        if (!Array.isArray(vectors) || vectors.length === 0) {
          return [400, pineconeError(400, 'vectors must be a non-empty array')];
        }
        const problem = store(vectors as FakePineconeRecord[], namespace);
        if (problem) return [400, pineconeError(400, problem)];
        return [200, { upsertedCount: vectors.length }];
      }
      case 'delete': {
        const ns = namespaces.get(nsKey(namespace));
        if (params.deleteAll === true) namespaces.delete(nsKey(namespace));
        else if (Array.isArray(params.ids)) for (const id of params.ids) ns?.delete(String(id));
        return [200, {}];
      }
      default: {
        const summary: Record<string, { vectorCount: number }> = {};
        let total = 0;
        for (const [name, ns] of namespaces) {
          summary[name] = { vectorCount: ns.size };
          total += ns.size;
        }
        return [
          200,
          { namespaces: summary, dimension: dimension ?? 0, indexFullness: 0, totalVectorCount: total },
        ];
      }
    }
  }

  function query(params: Record<string, unknown>, namespace: string): [number, unknown] {
    const topK = params.topK;
    if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > 10_000) {
      return [400, pineconeError(400, 'topK must be an integer between 1 and 10000')];
    }
    const ns = namespaces.get(nsKey(namespace));
    let vector = params.vector as number[] | undefined;
    if (vector === undefined && typeof params.id === 'string') vector = ns?.get(params.id)?.values;
    if (!Array.isArray(vector) || vector.length === 0) {
      return [400, pineconeError(400, 'No query provided: give a vector or the id of a stored vector')];
    }
    if (dimension !== undefined && vector.length !== dimension) {
      return [
        400,
        pineconeError(
          400,
          `Vector dimension ${vector.length} does not match the dimension of the index ${dimension}`,
        ),
      ];
    }
    const filter = params.filter as Filter | undefined;
    const candidates: { record: FakePineconeRecord; score: number }[] = [];
    try {
      for (const record of ns?.values() ?? []) {
        if (filter && !matchesPineconeFilter(record.metadata, filter)) continue;
        candidates.push({ record, score: score(metric, vector, record.values) });
      }
    } catch (err) {
      if (err instanceof FilterError) return [400, pineconeError(400, `Invalid filter: ${err.message}`)];
      throw err;
    }
    candidates.sort((a, b) => (metric === 'euclidean' ? a.score - b.score : b.score - a.score));
    const matches = candidates.slice(0, topK).map(({ record, score: sc }) => ({
      id: record.id,
      score: sc,
      values: params.includeValues === true ? record.values : [],
      ...(params.includeMetadata === true && record.metadata ? { metadata: record.metadata } : {}),
    }));
    const readUnits = Math.max(1, Math.ceil((ns?.size ?? 0) / 1000));
    return [200, { results: [], matches, namespace, usage: { readUnits } }];
  }

  return {
    url: started.url,
    indexHost: started.url,
    port: started.port,
    indexName,
    apiKey: options.apiKey ?? 'pc-fake-api-key',
    get dimension() {
      return dimension;
    },
    latency,
    faults,
    requests,
    get connectLatencyMs() {
      return connectLatencyMs;
    },
    set connectLatencyMs(ms: number) {
      connectLatencyMs = ms;
    },
    get connections() {
      return started.connections;
    },
    upsert(records: readonly FakePineconeRecord[], namespace = ''): void {
      const problem = store(records, namespace);
      if (problem) throw new InvalidArgumentError(`FakePinecone.upsert: ${problem}.`);
    },
    records(namespace = ''): FakePineconeRecord[] {
      return [...(namespaces.get(nsKey(namespace))?.values() ?? [])].map((r) => structuredClone(r));
    },
    dropIdleConnections: () => started.dropIdleConnections(),
    close: () => started.close(),
  };
}
