/**
 * Helpers shared by the company-API tests: an OpenAPI validator over
 * docs/company-api.openapi.json, a tiny raw HTTP server for bodies the fake never sends,
 * and a fetch that records every exchange.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with `exports.default`; under NodeNext its default import is the module.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export const OPENAPI_PATH = fileURLToPath(new URL('../../docs/company-api.openapi.json', import.meta.url));

export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, unknown>;
    parameters: Record<string, OpenApiParameter>;
    responses: Record<string, unknown>;
  };
}
export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: unknown;
}
export interface OpenApiOperation {
  operationId: string;
  parameters: (OpenApiParameter | { $ref: string })[];
  responses: Record<
    string,
    { $ref?: string; content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }
  >;
}

export function loadOpenApi(): OpenApiDoc {
  return JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as OpenApiDoc;
}

const DOC_ID = 'https://earshot.invalid/company-api.openapi.json';

/** An Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1) holding the whole document. */
export function createValidator(doc: OpenApiDoc = loadOpenApi()) {
  // OpenAPI keywords (paths, operationId, ...) are not JSON Schema: strict mode off for them.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: DOC_ID, ...doc });

  const resolve = <T>(ref: string): T => {
    const parts = ref.replace(/^#\//, '').split('/');
    let node: unknown = doc;
    for (const p of parts) node = (node as Record<string, unknown>)[p];
    return node as T;
  };
  const schemaRef = (name: string) => ({ $ref: `${DOC_ID}#/components/schemas/${name}` });

  /** Validates `value` against components/schemas/<name>. Returns the errors (empty when valid). */
  const validateSchema = (name: string, value: unknown): string[] => {
    const validate = ajv.getSchema(`${DOC_ID}#/components/schemas/${name}`) ?? ajv.compile(schemaRef(name));
    return validate(value)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`);
  };

  /** Finds the operation for a concrete path (`/v1/loads/2314`). */
  const findOperation = (method: string, path: string) => {
    for (const [template, ops] of Object.entries(doc.paths)) {
      const names: string[] = [];
      const re = new RegExp(
        `^${template.replace(/\{([^}]+)\}/g, (_m, n: string) => {
          names.push(n);
          return '([^/]+)';
        })}$`,
      );
      const m = re.exec(path);
      const op = ops[method.toLowerCase()];
      if (m && op) {
        const params: Record<string, string> = {};
        names.forEach((n, i) => {
          params[n] = decodeURIComponent(m[i + 1]!);
        });
        return { template, op, params };
      }
    }
    return undefined;
  };

  const parametersOf = (op: OpenApiOperation): OpenApiParameter[] =>
    op.parameters.map((p) => ('$ref' in p ? resolve<OpenApiParameter>(p.$ref) : p));

  /**
   * Checks a request against the document: a documented path and method, every path and query
   * parameter documented and valid. Returns the problems (empty when valid).
   */
  const checkRequest = (method: string, url: URL): string[] => {
    const found = findOperation(method, url.pathname);
    if (!found) return [`${method} ${url.pathname} is not in the document`];
    const problems: string[] = [];
    const params = parametersOf(found.op);
    const coerce = (schema: unknown, raw: string): unknown => {
      const s = (schema as { $ref?: string; type?: string }).$ref
        ? resolve<{ type?: string }>((schema as { $ref: string }).$ref)
        : (schema as { type?: string });
      return s.type === 'integer' || s.type === 'number'
        ? /^-?\d+(\.\d+)?$/.test(raw)
          ? Number(raw)
          : raw
        : raw;
    };
    for (const p of params) {
      const raw = p.in === 'path' ? found.params[p.name] : url.searchParams.get(p.name);
      if (raw === null || raw === undefined) {
        if (p.required) problems.push(`missing required ${p.in} parameter ${p.name}`);
        continue;
      }
      const schema = (p.schema as { $ref?: string }).$ref
        ? { $ref: `${DOC_ID}${(p.schema as { $ref: string }).$ref}` }
        : p.schema;
      const validate = ajv.compile(schema as object);
      if (!validate(coerce(p.schema, raw))) {
        problems.push(
          `${p.in} parameter ${p.name}=${JSON.stringify(raw)}: ${ajv.errorsText(validate.errors)}`,
        );
      }
    }
    for (const key of url.searchParams.keys()) {
      if (!params.some((p) => p.in === 'query' && p.name === key))
        problems.push(`undocumented query parameter ${key}`);
    }
    return problems;
  };

  /** Checks a response (status, headers, JSON body) against the document. */
  const checkResponse = (
    method: string,
    url: URL,
    status: number,
    headers: Headers,
    body: string,
  ): string[] => {
    const found = findOperation(method, url.pathname);
    if (!found) return [`${method} ${url.pathname} is not in the document`];
    const responses = found.op.responses;
    const entry = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
    if (!entry) return [`status ${status} is not documented for ${found.op.operationId}`];
    const response = entry.$ref ? resolve<typeof entry>(entry.$ref) : entry;
    const problems: string[] = [];
    const content = response.content?.['application/json'];
    if (!content) return [`no JSON content documented for ${status}`];
    if (!(headers.get('content-type') ?? '').startsWith('application/json')) {
      problems.push(`content-type ${headers.get('content-type')}`);
    }
    for (const name of Object.keys(response.headers ?? {})) {
      if (name === 'retry-after' && status !== 429) continue;
      if (headers.get(name) === null) problems.push(`missing header ${name}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return [...problems, 'body is not JSON'];
    }
    const schema = content.schema as { $ref?: string };
    const validate = ajv.compile(schema.$ref ? { $ref: `${DOC_ID}${schema.$ref}` } : schema);
    if (!validate(json))
      problems.push(...(validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`));
    return problems;
  };

  return { ajv, doc, validateSchema, findOperation, checkRequest, checkResponse };
}

/** One request/response seen by {@link recordingFetch}. */
export interface Exchange {
  method: string;
  url: URL;
  status: number;
  headers: Headers;
  body: string;
}

/** A fetch (real global fetch underneath) that keeps a copy of every exchange. */
export function recordingFetch(): { fetch: typeof fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const f: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const body = await res.clone().text();
    exchanges.push({
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      status: res.status,
      headers: res.headers,
      body,
    });
    return res;
  };
  return { fetch: f, exchanges };
}

/** A one-route HTTP server on 127.0.0.1 for answers the fake never gives. */
export async function startRawServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An empirical percentile of `values` (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The Redis the tests use: REDIS_URL or the shared server on 127.0.0.1:6379. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * True when Redis answers PING. When it does not: a loud warning on a dev machine (the Redis
 * tests skip), a thrown error under CI=true (the Redis tests must run there).
 */
export async function redisAvailable(): Promise<boolean> {
  const { hostname, port } = new URL(REDIS_URL);
  const { connect } = await import('node:net');
  const ok = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    const done = (v: boolean) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
  });
  if (!ok) {
    if (process.env.CI === 'true')
      throw new Error(`Redis is not reachable at ${REDIS_URL}, and CI=true requires it.`);
    console.warn(
      `\n!!! Redis is not reachable at ${REDIS_URL}: the company-API Redis-tier tests are SKIPPED. !!!\n`,
    );
  }
  return ok;
}
