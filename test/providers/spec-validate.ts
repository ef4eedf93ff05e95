/**
 * Checks what the fakes send (and what the SDKs send them) against the providers' own published
 * API specifications, vendored as pruned JSON copies in `test/fixtures/specs/` (see its README).
 *
 * A vendored fixture is the provider's document cut down to the schemas a test needs and every
 * schema they reference, at their original JSON pointers, so `$ref`s work unchanged and a schema
 * is named by its pointer (`components/schemas/CreateChatCompletionStreamResponse`, or for
 * AsyncAPI `components/messages/...`). OpenAPI 3.1 and AsyncAPI documents are checked as JSON
 * Schema 2020-12, OpenAPI 3.0 as draft-07 with `nullable`.
 *
 * Shared by the contract tests of every provider (`contract-*.test.ts`).
 *
 * @example
 * ```ts
 * const openai = loadSpec('openai');
 * openai.assertValid('components/schemas/CreateChatCompletionResponse', body, 'chat JSON answer');
 * const { fetch, exchanges } = recordingFetch();
 * const client = new OpenAI({ apiKey, baseURL, fetch });
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/** Directory of the vendored, pruned spec documents. */
export const SPEC_FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'specs');

/** Header every vendored fixture carries: where it came from and when. */
export interface SpecFixtureHeader {
  /** Provider repository and path of the full document. */
  source: string;
  /** Version or date of the full document. */
  version: string;
  /** Day the subset was extracted (YYYY-MM-DD). */
  extracted: string;
  /** The pointers asked for (their references are included too). */
  roots: string[];
}

/**
 * A narrow, documented exception for a known defect of a provider's spec: errors at an
 * `instancePath` matching `path`, from `keyword`, under the schema `schema`, are not reported.
 * `why` names the defect (see `test/fixtures/specs/README.md`).
 */
export interface SpecDefect {
  schema: string;
  path: RegExp;
  keyword: string;
  why: string;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv | Ajv2020) => void;

/** OpenAPI's numeric and binary formats, which JSON Schema does not define: accepted as types already say. */
const OPENAPI_FORMATS = [
  'int32',
  'int64',
  'float',
  'double',
  'byte',
  'binary',
  'unixtime',
  'password',
  'png',
];

function pointerToRef(pointer: string): string {
  return `spec#/${pointer.replace(/^#?\/?/, '')}`;
}

/** Ajv and the compiled validators of one vendored spec document. */
export class SpecValidator {
  readonly header: SpecFixtureHeader;
  readonly #ajv: Ajv | Ajv2020;
  readonly #compiled = new Map<string, ValidateFunction>();
  readonly #defects: readonly SpecDefect[];

  constructor(document: Record<string, unknown>, defects: readonly SpecDefect[] = []) {
    this.header = document['x-earshot-fixture'] as SpecFixtureHeader;
    const openapi = typeof document.openapi === 'string' ? document.openapi : '';
    const options = { strict: false, allErrors: true, validateSchema: false } as const;
    this.#ajv = openapi.startsWith('3.0') ? new Ajv(options) : new Ajv2020(options);
    addFormats(this.#ajv);
    for (const f of OPENAPI_FORMATS) this.#ajv.addFormat(f, true);
    this.#ajv.addSchema(document, 'spec');
    this.#defects = defects;
  }

  #validator(pointer: string): ValidateFunction {
    let v = this.#compiled.get(pointer);
    if (!v) {
      v = this.#ajv.compile({ $ref: pointerToRef(pointer) });
      this.#compiled.set(pointer, v);
    }
    return v;
  }

  /** The spec's complaints about `value` against the schema at `pointer`, known defects left out. */
  errors(pointer: string, value: unknown): string[] {
    const validate = this.#validator(pointer);
    if (validate(value)) return [];
    const kept = (validate.errors ?? []).filter((e) => !this.#isKnownDefect(pointer, e));
    // With anyOf/oneOf, a branch error alone says little: keep the ones the defect filter left.
    return kept.map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} (${e.schemaPath})`);
  }

  /** Whether `value` is valid, known defects aside. Any/oneOf errors count only when the whole check failed. */
  isValid(pointer: string, value: unknown): boolean {
    const validate = this.#validator(pointer);
    if (validate(value)) return true;
    const errors = validate.errors ?? [];
    return errors.every((e) => this.#isKnownDefect(pointer, e));
  }

  /** Throws with every complaint when `value` is not valid against the schema at `pointer`. */
  assertValid(pointer: string, value: unknown, what: string): void {
    if (this.isValid(pointer, value)) return;
    const detail = this.errors(pointer, value).slice(0, 20).join('\n  ');
    throw new Error(
      `${what} is not valid against ${this.header.source} ${pointer}:\n  ${detail}\nvalue: ${JSON.stringify(value).slice(0, 2000)}`,
    );
  }

  #isKnownDefect(pointer: string, e: ErrorObject): boolean {
    return this.#defects.some(
      (d) => d.schema === pointer && d.keyword === e.keyword && d.path.test(e.instancePath),
    );
  }
}

/**
 * Loads a vendored spec document (`test/fixtures/specs/<name>.json`) with its known defects.
 *
 * @example
 * ```ts
 * const pinecone = loadSpec('pinecone-data');
 * ```
 */
export function loadSpec(name: string, defects: readonly SpecDefect[] = []): SpecValidator {
  const document = JSON.parse(readFileSync(join(SPEC_FIXTURES_DIR, `${name}.json`), 'utf8')) as Record<
    string,
    unknown
  >;
  return new SpecValidator(document, defects);
}

function getPointer(doc: unknown, pointer: string): unknown {
  let node: unknown = doc;
  for (const raw of pointer.replace(/^#?\//, '').split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function setPointer(doc: Record<string, unknown>, pointer: string, value: unknown): void {
  const parts = pointer
    .replace(/^#?\//, '')
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function collectRefs(node: unknown, out: string[]): void {
  if (Array.isArray(node)) {
    for (const n of node) collectRefs(n, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/')) out.push(v.slice(2));
      else collectRefs(v, out);
    }
  }
}

/**
 * Cuts a provider's full spec document down to `roots` (JSON pointers) and everything they
 * reference, at the same pointers, with a header naming the source. Used by
 * `test/fixtures/specs/extract.ts` to re-vendor the fixtures from a newer spec.
 */
export function extractSpec(
  full: Record<string, unknown>,
  roots: readonly string[],
  header: Omit<SpecFixtureHeader, 'roots'>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    'x-earshot-fixture': { ...header, roots: [...roots] },
    ...(typeof full.openapi === 'string' ? { openapi: full.openapi } : {}),
    ...(typeof full.asyncapi === 'string' ? { asyncapi: full.asyncapi } : {}),
  };
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const pointer = queue.shift() as string;
    if (seen.has(pointer)) continue;
    seen.add(pointer);
    const node = getPointer(full, pointer);
    if (node === undefined) throw new Error(`extractSpec: ${pointer} is not in the document`);
    setPointer(out, pointer, node);
    const refs: string[] = [];
    collectRefs(node, refs);
    queue.push(...refs);
  }
  return out;
}

/** One HTTP exchange seen by {@link recordingFetch}. */
export interface RecordedExchange {
  method: string;
  url: string;
  /** Parsed JSON request body (undefined when none or not JSON). */
  requestBody: unknown;
  status: number;
  contentType: string;
  /** Response body as text (empty when the body could not be read, e.g. a reset). */
  responseText: string;
}

/**
 * A `fetch` that records every request and response body while passing the response on
 * unchanged, for SDKs that accept a custom fetch (`openai`'s `fetch`, Pinecone's `fetchApi`).
 */
export function recordingFetch(base: typeof fetch = fetch): {
  fetch: typeof fetch;
  exchanges: RecordedExchange[];
} {
  const exchanges: RecordedExchange[] = [];
  const wrapped = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = request.url;
    const method = request.method;
    let requestBody: unknown;
    if (typeof init?.body === 'string') {
      try {
        requestBody = JSON.parse(init.body);
      } catch {
        requestBody = undefined;
      }
    }
    const res = await base(input, init);
    const record: RecordedExchange = {
      method,
      url,
      requestBody,
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      responseText: '',
    };
    exchanges.push(record);
    if (!res.body) return res;
    const [mine, theirs] = res.body.tee();
    new Response(mine)
      .text()
      .then((t) => {
        record.responseText = t;
      })
      .catch(() => {});
    return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetch: wrapped as typeof fetch, exchanges };
}

/** The JSON payloads of a server-sent-events body (`data: ...` lines), `[DONE]` left out. */
export function sseData(text: string): unknown[] {
  const out: unknown[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (data === '' || data === '[DONE]') continue;
    out.push(JSON.parse(data));
  }
  return out;
}
