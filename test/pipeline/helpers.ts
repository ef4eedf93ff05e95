import { createHook } from 'node:async_hooks';
import type { CompanyApiLike, PipelineCache, Turn, TurnEvent, TurnResult } from '../../src/index.js';
import { transcribeFakeSpeech } from '../../src/testing/index.js';

export interface CollectedTurn {
  events: TurnEvent[];
  result: TurnResult;
  /** Every audio byte, in emission order. */
  audio: Uint8Array;
  /** The text the audio carries (fake speech). */
  heard: string;
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
}

/** Iterates a turn to the end and awaits its result. */
export async function collect(turn: Turn): Promise<CollectedTurn> {
  const events: TurnEvent[] = [];
  for await (const e of turn) events.push(e);
  const result = await turn.done;
  const audio = concat(events.flatMap((e) => (e.type === 'audio' ? [e.chunk.data] : [])));
  return { events, result, audio, heard: transcribeFakeSpeech(audio) };
}

export function types(events: readonly TurnEvent[]): string[] {
  return events.map((e) => e.type);
}

/**
 * A turn's events as two ordered streams, for replay comparisons: everything but audio and
 * metrics, and the audio. (How audio interleaves with LLM deltas depends on timing.)
 */
export function eventStreams(events: readonly TurnEvent[]): { other: TurnEvent[]; audio: TurnEvent[] } {
  return {
    other: events.filter((e) => e.type !== 'metrics' && e.type !== 'audio'),
    audio: events.filter((e) => e.type === 'audio'),
  };
}

/** An in-memory cache with the pipeline's structural interface, counting calls. */
export class MemoryStore implements PipelineCache {
  readonly map = new Map<string, unknown>();
  gets = 0;
  sets = 0;
  hits = 0;
  readonly ttl: (number | undefined)[] = [];
  failReads = false;
  failWrites = false;

  async get(key: string, namespace: string): Promise<unknown> {
    this.gets++;
    if (this.failReads) throw new Error('cache down');
    const v = this.map.get(`${namespace}|${key}`);
    if (v !== undefined) this.hits++;
    // Round-trip through JSON like a shared tier would (bytes as base64).
    return v === undefined ? undefined : structuredClone(v);
  }

  async set(
    key: string,
    value: unknown,
    namespace: string,
    options?: { ttlSeconds?: number },
  ): Promise<void> {
    this.sets++;
    if (this.failWrites) throw new Error('cache down');
    this.ttl.push(options?.ttlSeconds);
    this.map.set(`${namespace}|${key}`, structuredClone(value));
  }

  keys(namespace: string): string[] {
    return [...this.map.keys()].filter((k) => k.startsWith(`${namespace}|`));
  }
}

/** An in-process company API with optional delays and failures, recording calls. */
export function fakeCompanyApi(
  options: { delayMs?: number; fail?: (method: string) => Error | undefined } = {},
): CompanyApiLike & { calls: { method: string; arg: unknown; signal: AbortSignal | undefined }[] } {
  const calls: { method: string; arg: unknown; signal: AbortSignal | undefined }[] = [];
  const answer =
    (method: string, make: (arg: unknown) => unknown) =>
    async (arg: unknown, o?: { signal?: AbortSignal | undefined }): Promise<unknown> => {
      calls.push({ method, arg, signal: o?.signal });
      if (options.delayMs) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, options.delayMs);
          o?.signal?.addEventListener('abort', () => {
            clearTimeout(t);
            reject(o.signal?.reason);
          });
        });
      }
      const err = options.fail?.(method);
      if (err) throw err;
      return make(arg);
    };
  return {
    calls,
    getLoadStatus: answer('getLoadStatus', (id) => ({
      id,
      status: 'in_transit',
      currentLocation: { city: 'Denver', state: 'CO' },
    })),
    listLoads: answer('listLoads', () => ({
      items: [{ id: '1', status: 'delayed' }],
      total: 1,
      nextCursor: null,
    })),
    getInventory: answer('getInventory', (id) => ({ id, quantityAvailable: 42, warehouse: 'DAL-1' })),
    listInventory: answer('listInventory', () => ({ items: [], total: 0, nextCursor: null })),
    getEquipmentStatus: answer('getEquipmentStatus', (id) => ({ id, status: 'available', type: 'forklift' })),
    listEquipment: answer('listEquipment', () => ({ items: [], total: 0, nextCursor: null })),
  };
}

/**
 * Tracks timers created by earshot code (src/) and these helpers while it is enabled, so a test
 * can check none is left pending. The test runner's own timers are ignored: they come and go.
 * async_hooks reports destroyed timers asynchronously, so `pending()` waits a turn first.
 */
export function trackTimers(): { pending(): Promise<string[]>; stop(): void } {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      const frames = (new Error().stack ?? '').split('\n').slice(1);
      // The frame that called setTimeout/setInterval.
      const at = frames.findIndex((f) => /at (setTimeout|setInterval) /.test(f));
      const caller = frames[at + 1] ?? '';
      if (/\/src\/|test\/pipeline\/helpers/.test(caller))
        live.set(id, frames.slice(at + 1, at + 6).join('\n'));
    },
    destroy(id) {
      live.delete(id);
    },
  });
  hook.enable();
  return {
    pending: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      return [...live.values()];
    },
    stop: () => hook.disable(),
  };
}

/** Waits for pending I/O callbacks and microtasks to run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
