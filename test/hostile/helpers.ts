/**
 * Shared machinery of the hostile-input suite: a prototype-pollution guard, a hang guard, the
 * "typed error or correct result" check, random mutations of JSON / SSE bodies, and a mutating
 * HTTP proxy that sits in front of a fake server and serves what the fake said, mutated, to the
 * real SDKs and the earshot clients.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { EarshotError } from '../../src/errors.js';

// ───────────────────────────── prototype guard ─────────────────────────────

const GUARDED: readonly [string, object][] = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
];

function describeProps(target: object): Map<PropertyKey, unknown> {
  const out = new Map<PropertyKey, unknown>();
  for (const key of Reflect.ownKeys(target)) {
    const d = Object.getOwnPropertyDescriptor(target, key)!;
    out.set(key, 'value' in d ? d.value : d.get);
  }
  return out;
}

const baseline = GUARDED.map(([name, target]) => [name, target, describeProps(target)] as const);

/** Names the hostile payloads use for the properties they try to plant on prototypes. */
export const POLLUTION_KEYS = ['polluted', 'isAdmin', 'earshotPwned'] as const;

/**
 * Throws when any guarded prototype gained, lost or changed a property since this module
 * loaded, or when a plain object sees one of the payloads' keys.
 */
export function assertNoPollution(): void {
  for (const [name, target, before] of baseline) {
    const now = describeProps(target);
    for (const key of now.keys()) {
      if (!before.has(key)) throw new Error(`prototype pollution: ${name} gained ${String(key)}`);
      if (before.get(key) !== now.get(key))
        throw new Error(`prototype pollution: ${name}.${String(key)} changed`);
    }
    for (const key of before.keys()) {
      if (!now.has(key)) throw new Error(`prototype pollution: ${name} lost ${String(key)}`);
    }
  }
  const probe = {} as Record<string, unknown>;
  for (const k of POLLUTION_KEYS) {
    if (probe[k] !== undefined) throw new Error(`prototype pollution: ({}).${k} is defined`);
  }
  if (Object.getPrototypeOf(probe) !== Object.prototype)
    throw new Error('prototype pollution: {} has a new prototype');
}

// ───────────────────────────── hangs and outcomes ─────────────────────────────

/** Marks a promise that did not settle in time (a hang is a failure, never a typed error). */
export class HangError extends Error {}

/** Resolves or rejects like `p`, or rejects with {@link HangError} after `ms`. */
export function withinMs<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`${what} did not settle within ${ms} ms (a hang)`)), ms);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: EarshotError };

/**
 * Runs `fn` under a hang guard and classifies what happened: a value, or a typed
 * `EarshotError`. Anything else (a TypeError, a RangeError, a string, a hang) is rethrown with
 * context so the property fails and fast-check shrinks it.
 */
export async function typedOutcome<T>(fn: () => Promise<T>, ms: number, what: string): Promise<Outcome<T>> {
  const started = performance.now();
  // A timer cannot fire while synchronous work blocks the loop (a quadratic regex, say): check
  // the elapsed time too, so a call that "settled" only after a long block still fails.
  const checkBlocked = (): void => {
    const elapsed = performance.now() - started;
    if (elapsed > ms)
      throw new HangError(`${what} took ${Math.round(elapsed)} ms (limit ${ms}): it blocked or hung`);
  };
  try {
    const value = await withinMs(fn(), ms, what);
    checkBlocked();
    return { ok: true, value };
  } catch (err) {
    if (!(err instanceof HangError)) checkBlocked();
    if (err instanceof EarshotError) return { ok: false, error: err };
    const e = err instanceof Error ? err : new Error(String(err));
    throw new Error(`${what} failed with an untyped ${e.constructor.name}: ${e.message}`, { cause: err });
  }
}

/** Same as {@link typedOutcome} for synchronous code. */
export function typedOutcomeSync<T>(fn: () => T, what: string): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof EarshotError) return { ok: false, error: err };
    const e = err instanceof Error ? err : new Error(String(err));
    throw new Error(`${what} failed with an untyped ${e.constructor.name}: ${e.message}`, { cause: err });
  }
}

/** Collects an async iterable into an array. */
export async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/**
 * Run counts are tuned so `npm test` stays fast; `EARSHOT_HOSTILE_RUNS=10` multiplies them for
 * a deeper local search. `endOnFailure`: a failing run is reported as found, without shrinking
 * (shrinking a stalled-socket case would re-run its timeout hundreds of times).
 */
/** A test timeout that grows with `EARSHOT_HOSTILE_RUNS`. */
export function timeoutFor(ms: number): number {
  const factor = Number(process.env.EARSHOT_HOSTILE_RUNS ?? 1);
  return Math.round(ms * (Number.isFinite(factor) && factor > 1 ? factor : 1));
}

export function runs(n: number): { numRuns: number; endOnFailure: true } {
  const factor = Number(process.env.EARSHOT_HOSTILE_RUNS ?? 1);
  return {
    numRuns: Math.max(1, Math.round(n * (Number.isFinite(factor) && factor > 0 ? factor : 1))),
    endOnFailure: true,
  };
}

// ───────────────────────────── hostile values ─────────────────────────────

/** JSON fragments, inserted verbatim, that a careless parser or merger chokes on. */
export const RAW_FRAGMENTS: readonly string[] = [
  '{"__proto__":{"polluted":"yes","isAdmin":true}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"\\u005f_proto__":{"earshotPwned":1}}',
  '[{"__proto__":{"polluted":1}},{"constructor":{"prototype":{"isAdmin":true}}}]',
  `${'['.repeat(3000)}${']'.repeat(3000)}`,
  `${'{"a":'.repeat(2000)}null${'}'.repeat(2000)}`,
  `"${'x'.repeat(300_000)}"`,
  `[${Array.from({ length: 20_000 }, (_, i) => i).join(',')}]`,
  '1e999',
  '-1e999',
  '-0',
  '1.7976931348623157e309',
  '123456789012345678901234567890',
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"\\u0000\\u001f"',
  '"\u202eevil\u202c"',
  '"👩‍👩‍👧‍👦\u0301\u0301\u0301"',
  '{}',
  '[]',
  'null',
  'true',
  '""',
  '"NaN"',
  '{"":""}',
];

/** A hostile JSON value (plain data, safe to JSON.stringify). */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, Number.MAX_SAFE_INTEGER, -0, '', ' ', 'null', '0', [], {}),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.jsonValue({ maxDepth: 3 }),
);

// ───────────────────────────── JSON mutations ─────────────────────────────

/** One change to a JSON document; `at` picks a node (modulo the node count). */
export type JsonMutation =
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'raw'; at: number; fragment: number }
  | { kind: 'insert'; at: number; key: string; value: unknown }
  | { kind: 'wrap'; at: number; inArray: boolean }
  | { kind: 'duplicate'; at: number };

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
  fc.record({ kind: fc.constant('raw' as const), at: fc.nat(), fragment: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    key: fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'then', ''),
      fc.string(),
    ),
    value: hostileValue,
  }),
  fc.record({ kind: fc.constant('wrap' as const), at: fc.nat(), inArray: fc.boolean() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
);

/** One change to the bytes of a body. */
export type ByteMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'cut'; at: number; length: number };

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.oneof(fc.nat(255), fc.constantFrom(0x22, 0x5c, 0x7b, 0x7d, 0x0a, 0xff, 0xc0)), {
      minLength: 1,
      maxLength: 8,
    }),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
);

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number } | { root: true };

function slots(doc: unknown): Slot[] {
  const out: Slot[] = [{ root: true }];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        walk(x);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        walk((v as Record<string, unknown>)[k]);
      }
    }
  };
  walk(doc);
  return out;
}

const RAW_MARK = '\u0000earshot-raw-';

/**
 * Applies structural mutations to JSON text and returns the new text. Raw fragments are
 * spliced in as text (so deep nesting and `__proto__` keys survive, which `JSON.stringify` of
 * an object literal could not produce).
 */
export function mutateJsonText(text: string, mutations: readonly JsonMutation[]): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return text; // not JSON (audio, HTML): byte mutations only
  }
  for (const m of mutations) {
    const all = slots(doc);
    const slot = all[m.at % all.length]!;
    const get = (): unknown =>
      'root' in slot ? doc : (slot.parent as Record<string | number, unknown>)[slot.key as never];
    const set = (v: unknown): void => {
      if ('root' in slot) doc = v;
      else (slot.parent as Record<string | number, unknown>)[slot.key as never] = v;
    };
    switch (m.kind) {
      case 'delete':
        if ('root' in slot) doc = {};
        else if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
        else delete (slot.parent as Record<string, unknown>)[slot.key as string];
        break;
      case 'replace':
        set(structuredClone(m.value));
        break;
      case 'raw':
        set(`${RAW_MARK}${m.fragment % RAW_FRAGMENTS.length}`);
        break;
      case 'insert': {
        const target = get();
        if (Array.isArray(target)) target.push(structuredClone(m.value));
        else if (target !== null && typeof target === 'object')
          Object.defineProperty(target, m.key, {
            value: structuredClone(m.value),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else set({ [m.key === '__proto__' ? 'x' : m.key]: target });
        break;
      }
      case 'wrap':
        set(m.inArray ? [get()] : { value: get() });
        break;
      case 'duplicate':
        if (!('root' in slot) && Array.isArray(slot.parent)) slot.parent.push(structuredClone(get()));
        else set([get(), get()]);
        break;
    }
  }
  const out = JSON.stringify(doc) ?? 'null';
  return out.replace(
    new RegExp(`"${RAW_MARK.replace('\u0000', '\\\\u0000')}(\\d+)"`, 'g'),
    (_m, i: string) => RAW_FRAGMENTS[Number(i)]!,
  );
}

/** Applies byte-level mutations. */
export function mutateBytes(body: Buffer, mutations: readonly ByteMutation[]): Buffer {
  let b = body;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'flip':
        if (b.length > 0) {
          b = Buffer.from(b);
          b[at % b.length] = m.byte;
        }
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'cut':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
    }
  }
  return b;
}

/** Mutations of a Server-Sent-Events body: per event, or of the framing itself. */
export type SseMutation =
  | { kind: 'event-json'; event: number; mutations: JsonMutation[] }
  | { kind: 'drop'; event: number }
  | { kind: 'duplicate'; event: number }
  | { kind: 'swap'; event: number }
  | { kind: 'raw-line'; event: number; line: string }
  | { kind: 'no-done' }
  | { kind: 'crlf' };

export const sseMutation: fc.Arbitrary<SseMutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('event-json' as const),
      event: fc.nat(),
      mutations: fc.array(jsonMutation, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), event: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), event: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('swap' as const), event: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('raw-line' as const),
      event: fc.nat(),
      line: fc.oneof(
        fc.constantFrom(
          'data: {',
          'data: [DONE]',
          'data: {"error":{"message":"boom","type":"server_error"}}',
          'data: null',
          'data: 42',
          'event: error',
          ': keep-alive',
          'retry: 10',
          'data: {"choices":null}',
          'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":99999999}]}}]}',
          'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":{}}}]}}]}',
        ),
        fc.string({ maxLength: 30 }).map((s) => `data: ${s}`),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'no-done' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crlf' as const }) },
);

/** Applies SSE mutations to a `data:`-framed body. */
export function mutateSse(text: string, mutations: readonly SseMutation[]): string {
  let events = text.split(/\n\n/).filter((e) => e.length > 0);
  let crlf = false;
  for (const m of mutations) {
    if (events.length === 0) events = ['data: {}'];
    const i = 'event' in m ? m.event % events.length : 0;
    switch (m.kind) {
      case 'event-json': {
        const e = events[i]!;
        const data = e.startsWith('data: ') ? e.slice(6) : e;
        events[i] = `data: ${mutateJsonText(data, m.mutations).replace(/\n/g, '\\n')}`;
        break;
      }
      case 'drop':
        events.splice(i, 1);
        break;
      case 'duplicate':
        events.splice(i, 0, events[i]!);
        break;
      case 'swap':
        if (i + 1 < events.length) [events[i], events[i + 1]] = [events[i + 1]!, events[i]!];
        break;
      case 'raw-line':
        events.splice(i, 0, m.line);
        break;
      case 'no-done':
        events = events.filter((e) => e.trim() !== 'data: [DONE]');
        break;
      case 'crlf':
        crlf = true;
        break;
    }
  }
  const body = `${events.join('\n\n')}\n\n`;
  return crlf ? body.replace(/\n/g, '\r\n') : body;
}

// ───────────────────────────── the mutating proxy ─────────────────────────────

/** What the proxy does to the next answers. */
export interface ResponsePlan {
  /** Replace the status (else the upstream's). */
  status?: number;
  /** Replace the content type (else the upstream's). */
  contentType?: string;
  json?: JsonMutation[];
  sse?: SseMutation[];
  bytes?: ByteMutation[];
  /** Split the body into this many writes, a macrotask apart (exercises parser buffering). */
  pieces?: number;
  /** Declare a longer body than sent and stall (the client must time out, not hang). */
  lieAboutLength?: boolean;
  /** Drop the connection after sending this share (0–1) of the body. */
  resetAfter?: number;
  /** Extra headers, e.g. a hostile `retry-after`. */
  headers?: Record<string, string>;
}

const STATUSES = [
  200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504, 599,
];
const CONTENT_TYPES = [
  'application/json',
  'text/event-stream',
  'text/html; charset=utf-8',
  'text/plain',
  'application/octet-stream',
  'audio/mpeg',
  'application/json; charset=latin1',
  '',
];

/** A plan for one answer: mostly body mutations, sometimes status/type/framing changes. */
export const responsePlan: fc.Arbitrary<ResponsePlan> = fc
  .record(
    {
      status: fc.constantFrom(...STATUSES),
      contentType: fc.constantFrom(...CONTENT_TYPES),
      json: fc.array(jsonMutation, { minLength: 1, maxLength: 4 }),
      sse: fc.array(sseMutation, { minLength: 1, maxLength: 4 }),
      bytes: fc.array(byteMutation, { minLength: 1, maxLength: 3 }),
      pieces: fc.integer({ min: 1, max: 12 }),
      lieAboutLength: fc.constant(true),
      resetAfter: fc.double({ min: 0, max: 1, noNaN: true }),
      headers: fc.record(
        {
          'retry-after': fc.constantFrom('0', '-1', '1e9', 'soon', 'Wed, 21 Oct 2015 07:28:00 GMT', '0.01'),
          'x-request-id': fc.constantFrom('', 'req_\u202e', 'x'.repeat(2000)),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  )
  .map((p) => {
    // Keep the rare framing faults rare: they each cost a client timeout.
    const plan: ResponsePlan = { ...p };
    if (plan.lieAboutLength && plan.pieces !== 10) delete plan.lieAboutLength;
    if (plan.resetAfter !== undefined && (plan.pieces ?? 1) % 4 !== 0) delete plan.resetAfter;
    return plan;
  });

/**
 * {@link responsePlan}, or (one time in five) the clean answer cut into 1–12 writes a macrotask
 * apart. Most hostile plans break a strict body, so without these a property could pass with
 * no successful call at all; with them the "correct result" branch is exercised too, through
 * the SDK's stream parsers.
 */
export const responsePlanOrClean: fc.Arbitrary<ResponsePlan> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ pieces: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 4, arbitrary: responsePlan },
);

/**
 * An HTTP proxy on 127.0.0.1 in front of a fake server: it forwards each request, buffers the
 * fake's answer, applies the current {@link ResponsePlan} and sends the result.
 */
export class MutatingProxy {
  plan: ResponsePlan = {};
  /** Answers served (one per request). */
  served = 0;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly upstream: string,
  ) {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(upstream: string): Promise<MutatingProxy> {
    let self: MutatingProxy | undefined;
    const server = createServer((req, res) => {
      self!.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new MutatingProxy(server, `http://127.0.0.1:${port}`, new URL(upstream).origin);
    return self;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || ['host', 'content-length', 'connection', 'transfer-encoding'].includes(k))
        continue;
      headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
    const up = await fetch(`${this.upstream}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body && req.method !== 'GET' && req.method !== 'HEAD' ? { body } : {}),
    });
    let out: Buffer = Buffer.from(await up.arrayBuffer());
    const plan = this.plan;
    this.served++;
    const upType = up.headers.get('content-type') ?? '';
    if (plan.sse && upType.includes('event-stream'))
      out = Buffer.from(mutateSse(out.toString('utf8'), plan.sse));
    else if (plan.json && upType.includes('json'))
      out = Buffer.from(mutateJsonText(out.toString('utf8'), plan.json));
    if (plan.bytes) out = mutateBytes(out, plan.bytes);
    const status = plan.status ?? up.status;
    const resHeaders: Record<string, string> = {};
    up.headers.forEach((v, k) => {
      if (
        !['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)
      )
        resHeaders[k] = v;
    });
    if (plan.contentType !== undefined) {
      if (plan.contentType === '') delete resHeaders['content-type'];
      else resHeaders['content-type'] = plan.contentType;
    }
    Object.assign(resHeaders, plan.headers ?? {});
    const noBody = status === 204 || status === 304 || req.method === 'HEAD';
    if (!noBody) resHeaders['content-length'] = String(out.length + (plan.lieAboutLength ? 1000 : 0));
    res.writeHead(status, resHeaders);
    if (noBody) {
      res.end();
      return;
    }
    const limit = plan.resetAfter === undefined ? out.length : Math.floor(out.length * plan.resetAfter);
    const pieces = Math.max(1, plan.pieces ?? 1);
    const step = Math.max(1, Math.ceil(limit / pieces));
    for (let at = 0; at < limit; at += step) {
      res.write(out.subarray(at, Math.min(limit, at + step)));
      if (pieces > 1) await new Promise((r) => setTimeout(r, 1));
    }
    if (plan.resetAfter !== undefined) {
      res.socket?.destroy();
      return;
    }
    if (plan.lieAboutLength) return; // stall: the socket stays open until the client gives up
    res.end();
  }

  /** Stops listening and drops every connection (including stalled ones). */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ───────────────────────────── the mutating WebSocket proxy ─────────────────────────────

/** One change to the frames a fake sends over a WebSocket; `at` is the frame index. */
export type WsMutation =
  | { kind: 'json'; at: number; mutations: JsonMutation[] }
  | { kind: 'drop'; at: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'raw'; at: number; text: string }
  | { kind: 'binary'; at: number; bytes: number[] }
  | { kind: 'close'; at: number; code: number; reason: string }
  | { kind: 'terminate'; at: number }
  | { kind: 'stall'; at: number };

export const wsMutation: fc.Arbitrary<WsMutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('json' as const),
      at: fc.nat(12),
      mutations: fc.array(jsonMutation, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), at: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(12) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('raw' as const),
      at: fc.nat(12),
      text: fc.oneof(
        fc.constantFrom(
          '',
          '{',
          'null',
          '[]',
          '42',
          '"x"',
          '{"type":null}',
          '{"isFinal":true}',
          '{"audio":123}',
        ),
        fc.string({ maxLength: 30 }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('binary' as const),
      at: fc.nat(12),
      bytes: fc.array(fc.nat(255), { maxLength: 16 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('close' as const),
      at: fc.nat(12),
      code: fc.constantFrom(1000, 1001, 1008, 1011, 1013, 3000, 4000, 4999),
      reason: fc.constantFrom('', 'NET-0001', 'bye', 'x'.repeat(100)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('terminate' as const), at: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stall' as const), at: fc.nat(12) }) },
);

/**
 * A WebSocket proxy on 127.0.0.1 in front of a fake: client frames pass through unchanged; the
 * fake's frames are mutated by the current plan (by frame index, per connection).
 */
export class MutatingWsProxy {
  #plan: WsMutation[] = [];
  /** Bumped by every `plan` assignment: live connections restart their frame count at 0. */
  #generation = 0;

  /**
   * The mutations for the fake's frames, by frame index. Setting it applies to connections
   * opened later and to live ones (a pooled socket reused across runs), counted from the
   * assignment, so each run of a property sees its own plan even on a reused connection.
   */
  get plan(): WsMutation[] {
    return this.#plan;
  }
  set plan(plan: WsMutation[]) {
    this.#plan = plan;
    this.#generation++;
  }
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly peers = new Set<{ terminate(): void }>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(upstream: string): Promise<MutatingWsProxy> {
    const { WebSocket, WebSocketServer } = await import('ws');
    const server = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    const wss = new WebSocketServer({ server });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const self = new MutatingWsProxy(server, `http://127.0.0.1:${port}`);
    const wsOrigin = new URL(upstream).origin.replace(/^http/, 'ws');
    wss.on('connection', (client, req) => {
      let generation = -1;
      const headers: Record<string, string> = {};
      for (const h of ['authorization', 'xi-api-key']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      const up = new WebSocket(`${wsOrigin}${req.url ?? '/'}`, { headers });
      self.peers.add(up);
      self.peers.add(client);
      const pending: { data: unknown; binary: boolean }[] = [];
      let index = 0;
      let stalled = false;
      up.on('open', () => {
        for (const p of pending.splice(0)) up.send(p.data as Buffer, { binary: p.binary });
      });
      client.on('message', (data, binary) => {
        if (up.readyState === WebSocket.OPEN) up.send(data as Buffer, { binary });
        else pending.push({ data, binary });
      });
      up.on('message', (data, binary) => {
        if (stalled || client.readyState !== WebSocket.OPEN) return;
        if (generation !== self.#generation) {
          generation = self.#generation;
          index = 0;
        }
        const plan = self.#plan;
        const i = index++;
        let out: { data: Buffer | string; binary: boolean }[] = [{ data: data as Buffer, binary }];
        for (const m of plan.filter((x) => x.at === i)) {
          switch (m.kind) {
            case 'json':
              out = out.map((o) =>
                o.binary ? o : { data: mutateJsonText(o.data.toString(), m.mutations), binary: false },
              );
              break;
            case 'drop':
              out = [];
              break;
            case 'duplicate':
              out = [...out, ...out];
              break;
            case 'raw':
              out.push({ data: m.text, binary: false });
              break;
            case 'binary':
              out.push({ data: Buffer.from(m.bytes), binary: true });
              break;
            case 'close':
              for (const o of out) client.send(o.data, { binary: o.binary });
              client.close(m.code, m.reason);
              up.close();
              return;
            case 'terminate':
              client.terminate();
              up.terminate();
              return;
            case 'stall':
              stalled = true;
              return;
          }
        }
        for (const o of out) client.send(o.data, { binary: o.binary });
      });
      up.on('close', (code, reason) => {
        if (stalled || client.readyState !== WebSocket.OPEN) return;
        const valid = code === 1000 || (code >= 3000 && code <= 4999) || [1001, 1008, 1011].includes(code);
        client.close(valid ? code : 1011, reason.toString());
      });
      up.on('error', () => client.terminate());
      client.on('close', () => up.terminate());
      client.on('error', () => up.terminate());
    });
    return self;
  }

  async close(): Promise<void> {
    for (const p of this.peers) p.terminate();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
