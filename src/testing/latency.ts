/**
 * Simulated network conditions for the fake servers in `earshot/testing`: a seeded random
 * source, **latency profiles** (fixed, or a distribution given by its P50 and P90) and
 * **faults** (HTTP errors, 429s, slow answers, hangs, malformed bodies, connection resets),
 * all switchable at runtime so a test or a load run can degrade a fake mid-run.
 *
 * Every fake in earshot (company API, Deepgram, OpenAI, ElevenLabs, Pinecone) takes the same
 * `latency` and `faults` options, so a profile written for one works for all of them. The
 * helpers here know nothing about any wire format: a fake asks {@link FaultInjector.decide}
 * what to do with a request and then applies the decision in its own protocol (a JSON error
 * body, a truncated WebSocket frame, ...). {@link resetConnection} and {@link waitUnlessClosed}
 * cover the transport-level parts for `node:http` servers.
 *
 * @example
 * ```ts
 * import { LatencyModel, FaultInjector } from 'earshot/testing';
 * const latency = new LatencyModel({ kind: 'distribution', p50Ms: 60, p90Ms: 100 }, { seed: 7 });
 * const faults = new FaultInjector({ errorRate: 0.05, resetRate: 0.01 }, { seed: 7 });
 * // in a request handler:
 * const decision = faults.decide('getLoad');
 * await waitUnlessClosed(latency.sample() + (decision.kind === 'slow' ? decision.extraMs : 0), res);
 * ```
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/** A small seeded pseudo-random source (mulberry32). Not for cryptography. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** A standard normal deviate (mean 0, standard deviation 1). */
  normal(): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

/** Turns a string seed into a 32-bit integer (FNV-1a), so `'run-1'` and `42` both work as seeds. */
function seedToInt(seed: number | string): number {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new InvalidArgumentError(`seed must be a finite number, got ${seed}.`);
    return Math.trunc(seed) >>> 0;
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Creates a seeded random source. The same seed always gives the same sequence, on every
 * platform, so fake data and injected faults are reproducible.
 *
 * @example
 * ```ts
 * const rng = createRng(42);
 * rng.int(6); // the same die roll on every run
 * ```
 */
export function createRng(seed: number | string = 1): Rng {
  let state = seedToInt(seed);
  let spareNormal: number | undefined;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int(maxExclusive) {
      return Math.floor(next() * maxExclusive);
    },
    normal() {
      if (spareNormal !== undefined) {
        const s = spareNormal;
        spareNormal = undefined;
        return s;
      }
      // Box–Muller; 1 - next() keeps the logarithm away from 0.
      const u = 1 - next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    pick(items) {
      if (items.length === 0) throw new InvalidArgumentError('pick() needs a non-empty array.');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Latency profiles
// ---------------------------------------------------------------------------------------------

const nonNegativeMs = z.number().finite().min(0);

/**
 * How long a fake waits before it answers (or, for streaming fakes, before a chunk).
 *
 * - a plain number, or `{ kind: 'fixed', ms }`: always that many milliseconds;
 * - `{ kind: 'none' }`: answer at once (the default);
 * - `{ kind: 'uniform', minMs, maxMs }`: uniform between the two;
 * - `{ kind: 'distribution', p50Ms, p90Ms, minMs?, maxMs? }`: a log-normal distribution whose
 *   median is `p50Ms` and whose 90th percentile is `p90Ms`, clamped to `[minMs, maxMs]`
 *   (defaults 0 and 10 × `p90Ms`). Log-normal because real service latency is right-skewed:
 *   most answers are near the median, a few are much slower.
 */
export const latencyProfileSchema = z.union([
  nonNegativeMs,
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('fixed'), ms: nonNegativeMs }),
  z
    .object({ kind: z.literal('uniform'), minMs: nonNegativeMs, maxMs: nonNegativeMs })
    .refine((p) => p.maxMs >= p.minMs, { message: 'maxMs must be at least minMs', path: ['maxMs'] }),
  z
    .object({
      kind: z.literal('distribution'),
      p50Ms: z.number().finite().positive(),
      p90Ms: z.number().finite().positive(),
      minMs: nonNegativeMs.optional(),
      maxMs: nonNegativeMs.optional(),
    })
    .refine((p) => p.p90Ms >= p.p50Ms, { message: 'p90Ms must be at least p50Ms', path: ['p90Ms'] })
    .refine((p) => p.maxMs === undefined || p.maxMs >= p.p90Ms, {
      message: 'maxMs must be at least p90Ms',
      path: ['maxMs'],
    })
    .refine((p) => p.minMs === undefined || p.minMs <= p.p50Ms, {
      message: 'minMs must be at most p50Ms',
      path: ['minMs'],
    }),
]);

/** A latency profile as accepted by every fake's `latency` option. See {@link latencyProfileSchema}. */
export type LatencyProfile = z.input<typeof latencyProfileSchema>;

/** Named profiles for common situations; pass them as they are or use them as a starting point. */
export const latencyProfiles = {
  /** No added latency. */
  instant: { kind: 'none' },
  /** A service on the same network: P50 2 ms, P90 5 ms. */
  local: { kind: 'distribution', p50Ms: 2, p90Ms: 5 },
  /** The uncached company API of the source design: P50 60 ms, P90 100 ms. */
  companyApi: { kind: 'distribution', p50Ms: 60, p90Ms: 100 },
  /** A loaded or distant service: P50 150 ms, P90 400 ms. */
  degraded: { kind: 'distribution', p50Ms: 150, p90Ms: 400 },
} as const satisfies Record<string, LatencyProfile>;

// z-score of the 90th percentile of a standard normal distribution.
const Z90 = 1.2815515655446004;

/** Parses a profile, turning a zod failure into an InvalidArgumentError that names the fields. */
function parseLatencyProfile(profile: LatencyProfile): z.output<typeof latencyProfileSchema> {
  const parsed = latencyProfileSchema.safeParse(profile);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(profile)'}: ${i.message}`).join('; ');
    throw new InvalidArgumentError(
      `Invalid latency profile (${why}). Use a number of ms, { kind: 'fixed', ms }, ` +
        `{ kind: 'uniform', minMs, maxMs } or { kind: 'distribution', p50Ms, p90Ms }.`,
    );
  }
  return parsed.data;
}

/**
 * Draws latencies from a {@link LatencyProfile} with a seeded random source. Switch the profile
 * at any time with {@link LatencyModel.set}; the next draw uses the new one.
 *
 * @example
 * ```ts
 * const model = new LatencyModel({ kind: 'distribution', p50Ms: 60, p90Ms: 100 }, { seed: 1 });
 * const ms = model.sample(); // about 60 half of the time, at most 100 nine times in ten
 * model.set(500);            // from now on every answer takes 500 ms
 * ```
 */
export class LatencyModel {
  #rng: Rng;
  #draw: () => number = () => 0;
  #profile: LatencyProfile = { kind: 'none' };

  constructor(
    profile: LatencyProfile = { kind: 'none' },
    options: { seed?: number | string; rng?: Rng } = {},
  ) {
    this.#rng = options.rng ?? createRng(options.seed ?? 1);
    this.set(profile);
  }

  /** The profile in force. */
  get profile(): LatencyProfile {
    return this.#profile;
  }

  /** Replaces the profile. Throws InvalidArgumentError (and keeps the old one) if it is invalid. */
  set(profile: LatencyProfile): void {
    const p = parseLatencyProfile(profile);
    this.#profile = profile;
    const rng = this.#rng;
    if (typeof p === 'number') {
      this.#draw = () => p;
    } else if (p.kind === 'none') {
      this.#draw = () => 0;
    } else if (p.kind === 'fixed') {
      this.#draw = () => p.ms;
    } else if (p.kind === 'uniform') {
      this.#draw = () => p.minMs + rng.next() * (p.maxMs - p.minMs);
    } else {
      const mu = Math.log(p.p50Ms);
      const sigma = Math.log(p.p90Ms / p.p50Ms) / Z90;
      const min = p.minMs ?? 0;
      const max = p.maxMs ?? p.p90Ms * 10;
      this.#draw = () => Math.min(max, Math.max(min, Math.exp(mu + sigma * rng.normal())));
    }
  }

  /** One latency in milliseconds. */
  sample(): number {
    return this.#draw();
  }
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

/** Every kind of fault a fake can inject. */
export const FAULT_KINDS = ['error', 'rateLimit', 'slow', 'timeout', 'malformed', 'reset'] as const;
/** One kind of injected fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

const rate = z.number().finite().min(0).max(1);

/**
 * Which faults a fake injects, as independent shares of requests (each between 0 and 1, their
 * sum at most 1; at most one fault hits a request). All default to 0: no faults.
 *
 * | field | the fake... |
 * | --- | --- |
 * | `errorRate` | answers with an HTTP error status picked from `errorStatuses` (default 500, 502, 503) |
 * | `rateLimitRate` | answers 429 with `Retry-After: retryAfterSeconds` (default 1) |
 * | `slowRate` | answers correctly but `slowMs` later than its latency profile says (default 1000) |
 * | `timeoutRate` | never answers: holds the connection open for `hangMs` (default 60 000), then drops it |
 * | `malformedRate` | answers 200 with a body that does not match its schema (truncated, or a field of the wrong type) |
 * | `resetRate` | drops the connection (TCP reset) without answering; streaming fakes may do it mid-stream |
 *
 * `routes` limits the faults to the named routes (each fake documents its route names); by
 * default every route is affected.
 */
export const faultProfileSchema = z
  .object({
    errorRate: rate.default(0),
    errorStatuses: z.array(z.number().int().min(400).max(599)).min(1).default([500, 502, 503]),
    rateLimitRate: rate.default(0),
    retryAfterSeconds: z.number().finite().min(0).default(1),
    slowRate: rate.default(0),
    slowMs: nonNegativeMs.default(1000),
    timeoutRate: rate.default(0),
    hangMs: nonNegativeMs.default(60_000),
    malformedRate: rate.default(0),
    resetRate: rate.default(0),
    routes: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .refine(
    (f) =>
      f.errorRate + f.rateLimitRate + f.slowRate + f.timeoutRate + f.malformedRate + f.resetRate <= 1 + 1e-9,
    { message: 'the fault rates add up to more than 1' },
  );

/** A fault profile as accepted by every fake's `faults` option. See {@link faultProfileSchema}. */
export type FaultProfile = z.input<typeof faultProfileSchema>;
type ResolvedFaultProfile = z.output<typeof faultProfileSchema>;

/** What a fake should do with one request. */
export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'error'; status: number }
  | { kind: 'rateLimit'; status: 429; retryAfterSeconds: number }
  | { kind: 'slow'; extraMs: number }
  | { kind: 'timeout'; hangMs: number }
  | { kind: 'malformed' }
  | { kind: 'reset' };

/** A scripted fault for {@link FaultInjector.enqueue}: a kind, or a kind limited to one route. */
export type ScriptedFault = FaultKind | { kind: FaultKind; route?: string; status?: number };

const NO_FAULT: FaultDecision = { kind: 'none' };

/**
 * Decides, request by request, whether a fake injects a fault and which. Decisions come from
 * a scripted queue first ({@link FaultInjector.enqueue}, for tests that need "the next two
 * requests fail"), then from the rates of the profile with a seeded random source. Counts of
 * what was injected are kept in {@link FaultInjector.injected}, so a test can compare them with
 * the errors its client saw.
 *
 * @example
 * ```ts
 * const faults = new FaultInjector({ errorRate: 0.1 }, { seed: 3 });
 * faults.enqueue('reset', 'error');  // the next two requests: a reset, then a 5xx
 * faults.set({ timeoutRate: 0.5 });  // degrade mid-run
 * faults.set(undefined);             // heal
 * ```
 */
export class FaultInjector {
  #rng: Rng;
  #profile: ResolvedFaultProfile;
  #queue: { kind: FaultKind; route: string | undefined; status: number | undefined }[] = [];
  #injected: Record<FaultKind, number> = {
    error: 0,
    rateLimit: 0,
    slow: 0,
    timeout: 0,
    malformed: 0,
    reset: 0,
  };

  constructor(
    profile: FaultProfile | undefined = undefined,
    options: { seed?: number | string; rng?: Rng } = {},
  ) {
    this.#rng = options.rng ?? createRng(options.seed ?? 1);
    this.#profile = FaultInjector.#parse(profile);
  }

  static #parse(profile: FaultProfile | undefined): ResolvedFaultProfile {
    const parsed = faultProfileSchema.safeParse(profile ?? {});
    if (!parsed.success) {
      const why = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(profile)'}: ${i.message}`)
        .join('; ');
      throw new InvalidArgumentError(
        `Invalid fault profile (${why}). Rates are shares of requests between 0 and 1, e.g. { errorRate: 0.05 }.`,
      );
    }
    return parsed.data;
  }

  /** The resolved profile in force (every default filled in). */
  get profile(): Readonly<ResolvedFaultProfile> {
    return this.#profile;
  }

  /** Replaces the profile; `undefined` or `{}` turns every rate off. Scripted faults stay queued. */
  set(profile: FaultProfile | undefined): void {
    this.#profile = FaultInjector.#parse(profile);
  }

  /** Queues faults for the next matching requests, in order, before any rate applies. */
  enqueue(...faults: ScriptedFault[]): void {
    for (const f of faults) {
      const item = typeof f === 'string' ? { kind: f } : f;
      if (!FAULT_KINDS.includes(item.kind)) {
        throw new InvalidArgumentError(
          `Unknown fault kind "${String(item.kind)}"; use one of ${FAULT_KINDS.join(', ')}.`,
        );
      }
      this.#queue.push({ kind: item.kind, route: item.route, status: item.status });
    }
  }

  /** Drops every scripted fault not yet used. */
  clearQueue(): void {
    this.#queue.length = 0;
  }

  /** How many faults of each kind were injected since creation (or {@link resetCounts}). */
  get injected(): Readonly<Record<FaultKind, number>> {
    return { ...this.#injected };
  }

  /** Sets every injected count back to 0. */
  resetCounts(): void {
    for (const k of FAULT_KINDS) this.#injected[k] = 0;
  }

  /** Decides what happens to one request on `route` (a fake's route name, e.g. `getLoad`). */
  decide(route?: string): FaultDecision {
    const p = this.#profile;
    const queued = this.#queue.findIndex((q) => q.route === undefined || q.route === route);
    if (queued >= 0) {
      const q = this.#queue.splice(queued, 1)[0]!;
      return this.#count(this.#make(q.kind, q.status));
    }
    if (p.routes && (route === undefined || !p.routes.includes(route))) return NO_FAULT;
    const shares: [FaultKind, number][] = [
      ['error', p.errorRate],
      ['rateLimit', p.rateLimitRate],
      ['slow', p.slowRate],
      ['timeout', p.timeoutRate],
      ['malformed', p.malformedRate],
      ['reset', p.resetRate],
    ];
    if (shares.every(([, r]) => r === 0)) return NO_FAULT;
    let roll = this.#rng.next();
    for (const [kind, share] of shares) {
      if (roll < share) return this.#count(this.#make(kind, undefined));
      roll -= share;
    }
    return NO_FAULT;
  }

  #make(kind: FaultKind, status: number | undefined): FaultDecision {
    const p = this.#profile;
    switch (kind) {
      case 'error':
        return { kind, status: status ?? this.#rng.pick(p.errorStatuses) };
      case 'rateLimit':
        return { kind, status: 429, retryAfterSeconds: p.retryAfterSeconds };
      case 'slow':
        return { kind, extraMs: p.slowMs };
      case 'timeout':
        return { kind, hangMs: p.hangMs };
      default:
        return { kind };
    }
  }

  #count(d: FaultDecision): FaultDecision {
    if (d.kind !== 'none') this.#injected[d.kind]++;
    return d;
  }
}

// ---------------------------------------------------------------------------------------------
// Transport helpers for node:http fakes
// ---------------------------------------------------------------------------------------------

/**
 * Waits `ms` milliseconds, or less if the client goes away first. Resolves `true` when the
 * full time passed and the response can still be written, `false` when the client closed the
 * connection (the fake should then stop working on the request).
 */
export function waitUnlessClosed(ms: number, res: ServerResponse): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once('close', onClose);
  });
}

/**
 * Drops the connection under a request without an answer, with a TCP reset where the platform
 * allows it (clients see `ECONNRESET` or "other side closed").
 */
export function resetConnection(req: IncomingMessage): void {
  const socket = req.socket as Socket & { resetAndDestroy?: () => Socket };
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/**
 * Simulates a hung server: sends nothing, keeps the connection open for `hangMs`, then drops
 * it. Resolves when the client gave up or the connection was dropped.
 */
export async function hangThenDrop(req: IncomingMessage, res: ServerResponse, hangMs: number): Promise<void> {
  const stillOpen = await waitUnlessClosed(hangMs, res);
  if (stillOpen) resetConnection(req);
}

/**
 * Corrupts a JSON-able value the way a broken server might, for the `malformed` fault: either
 * the JSON text is cut short, or one field gets a value of the wrong type (a string where a
 * number belongs, `null`, a number where a string belongs). Seeded, so reproducible.
 */
export function malformJson(value: unknown, rng: Rng): string {
  const text = JSON.stringify(value) ?? 'null';
  if (rng.next() < 0.5 || value === null || typeof value !== 'object') {
    return text.slice(0, Math.max(1, Math.floor(text.length * (0.2 + 0.6 * rng.next()))));
  }
  const copy = JSON.parse(text) as Record<string, unknown>;
  // Walk into the first array element if the value is a page ({ items: [...] }).
  let target: Record<string, unknown> = copy;
  const items = copy.items;
  if (Array.isArray(items) && items.length > 0 && typeof items[0] === 'object' && items[0] !== null) {
    target = items[0] as Record<string, unknown>;
  }
  const keys = Object.keys(target);
  if (keys.length === 0) return text.slice(0, Math.max(1, text.length - 1));
  const key = rng.pick(keys);
  const old = target[key];
  // Never null: a nullable field would accept it. An object with one odd key fits no field.
  target[key] = typeof old === 'number' ? String(old) : typeof old === 'string' ? 12345 : { malformed: true };
  return JSON.stringify(copy);
}
