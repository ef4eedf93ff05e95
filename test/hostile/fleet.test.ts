/**
 * Hostile fleet data and faults (issue 15: 1, 2, 3, 5, 8, 22): one bad blob never breaks a
 * read, forged values never reach the merge, a Redis that swallows replies never hangs a
 * read / publish / stop, a failed alarm read never loses a period, keyspaces stay disjoint,
 * and what Redis holds is never printed raw to a terminal.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { deflateRawSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EarshotError, InvalidArgumentError, TimeoutError } from '../../src/errors.js';
import { stripControl } from '../../src/internal/terminal.js';
import { LatencyHistogram, PerformanceMonitor } from '../../src/perf/index.js';
import { encodeFleetBlob, MAX_FLEET_BLOB_BYTES, rawV2FromEncoded } from '../../src/redis/fleet-codec.js';
import {
  assertFleetPrefixDisjoint,
  createFleetLatencyAlarm,
  DEFAULT_FLEET_PREFIX,
  FleetPublisher,
  FleetReader,
  type FleetStats,
  mergeFleetBlobs,
} from '../../src/redis/index.js';
import { cli } from '../cli/helpers.js';
import { connectRedis, deletePrefix } from '../fleet/redis-available.js';

/** True if `s` holds a control character other than a line feed (what a terminal acts on). */
function hasControl(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if ((c < 0x20 && c !== 10) || (c >= 0x7f && c <= 0x9f) || c === 0x202e) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Blob builders

function hist(samples: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const s of samples) h.recordMs(s);
  return h;
}

function goodBlob(id: string, name = 'e2e', samples = [10, 20, 30, 400]): Buffer {
  const h = hist(samples);
  return encodeFleetBlob({ instanceId: id, windowStart: 0, publishedAt: 1 }, [
    {
      entry: {
        name,
        labels: {},
        count: samples.length,
        errors: 0,
        sumMs: samples.reduce((a, b) => a + b, 0),
        minMs: h.minMs,
        maxMs: h.maxMs,
      },
      rawV2: rawV2FromEncoded(h.encode()),
    },
  ]);
}

/** A blob whose header tuple fields can be forged one at a time. */
function forged(patch: (tuple: unknown[]) => void, histBytes?: Buffer, version = 1): Buffer {
  const h = hist([10, 20, 30, 400]);
  const raw = histBytes ?? rawV2FromEncoded(h.encode());
  const tuple: unknown[] = ['e2e', {}, 4, 0, 460, h.minMs, h.maxMs, raw.length];
  patch(tuple);
  return rawBlob({ v: version, id: 'x', w: 0, t: 1, s: [tuple] }, raw);
}

function rawBlob(header: unknown, ...rest: Buffer[]): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length, 0);
  return deflateRawSync(Buffer.concat([len, json, ...rest]));
}

/** A V2 histogram with the given zigzag-LEB128 words (no compression). */
function v2(words: number[], opts: { cookie?: number; digits?: number; lowest?: number } = {}): Buffer {
  const body: number[] = [];
  for (const w of words) {
    let z = w >= 0 ? w * 2 : -w * 2 - 1;
    // Up to 8 bytes of 7 bits (enough for these tests).
    do {
      let b = z % 128;
      z = Math.floor(z / 128);
      if (z > 0) b |= 0x80;
      body.push(b);
    } while (z > 0);
  }
  const head = Buffer.alloc(40);
  head.writeInt32BE(opts.cookie ?? 0x1c849303 | 0x10, 0);
  head.writeInt32BE(body.length, 4);
  head.writeInt32BE(0, 8);
  head.writeInt32BE(opts.digits ?? 3, 12);
  head.writeUInt32BE(0, 16);
  head.writeUInt32BE(opts.lowest ?? 1, 20);
  return Buffer.concat([head, Buffer.from(body)]);
}

const bomb = deflateRawSync(Buffer.alloc(MAX_FLEET_BLOB_BYTES + 1024 * 1024, 0));

/** Every class of bad blob the red team tried, and the forged values of issue 15.8. */
const BAD_BLOBS: Array<[string, Buffer]> = [
  ['random bytes', randomBytes(300)],
  ['empty', Buffer.alloc(0)],
  ['truncated deflate', goodBlob('t').subarray(0, 20)],
  ['header of another version', forged(() => {}, undefined, 99)],
  ['header not JSON', deflateRawSync(Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('{nope')]))],
  ['header length past the end', deflateRawSync(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2]))],
  ['header is a number', rawBlob(42)],
  ['series is not an array', rawBlob({ v: 1, id: 'x', w: 0, t: 1, s: 'lots' })],
  ['tuple too short', forged((t) => t.splice(3))],
  ['string count', forged((t) => (t[2] = '4'))],
  ['negative count', forged((t) => (t[2] = -4))],
  ['fractional count', forged((t) => (t[2] = 4.5))],
  ['count of 2^60', forged((t) => (t[2] = 2 ** 60))],
  ['errors above count', forged((t) => (t[3] = 9))],
  ['negative errors', forged((t) => (t[3] = -1))],
  ['infinite sum (1e400)', rawBlobWithLiteral('1e400')],
  ['negative sum', forged((t) => (t[4] = -1))],
  ['min above max', forged((t) => (t[5] = 500))],
  ['lying maxMs header (1e9)', forged((t) => (t[6] = 1e9))],
  ['lying minMs header (0.001)', forged((t) => (t[5] = 0.001))],
  ['string label value', forged((t) => (t[1] = { outcome: 5 }))],
  ['labels are an array', forged((t) => (t[1] = ['a']))],
  ['empty name', forged((t) => (t[0] = ''))],
  ['name is not a string', forged((t) => (t[0] = { toString: 1 }))],
  ['byte length past the payload', forged((t) => (t[7] = 1e6))],
  ['negative byte length', forged((t) => (t[7] = -5))],
  ['not a V2 cookie', forged(() => {}, v2([5], { cookie: 0x12345678 }))],
  ['precision 9 digits', forged(() => {}, v2([5], { digits: 9 }))],
  ['lowest value 0', forged(() => {}, v2([5], { lowest: 0 }))],
  ['zero run of 2^40', forged(() => {}, v2([-(2 ** 40), 1]))],
  ['truncated histogram header', forged(() => {}, Buffer.alloc(12))],
  ['histogram holds more than its count', forged((t) => (t[2] = 1))],
  ['deflate bomb', bomb],
];

function rawBlobWithLiteral(sumLiteral: string): Buffer {
  const h = hist([10, 20, 30, 400]);
  const raw = rawV2FromEncoded(h.encode());
  const json = Buffer.from(
    `{"v":1,"id":"x","w":0,"t":1,"s":[["e2e",{},4,0,${sumLiteral},${h.minMs},${h.maxMs},${raw.length}]]}`,
  );
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length, 0);
  return deflateRawSync(Buffer.concat([len, json, raw]));
}

describe('hostile fleet blobs: skipped and counted, the rest merged (15.1, 15.8)', () => {
  const good = mergeFleetBlobs([
    ['a', goodBlob('a')],
    ['b', goodBlob('b', 'e2e', [5, 6, 7])],
  ]);

  it.each(BAD_BLOBS)('%s', (_what, bad) => {
    const merged = mergeFleetBlobs([
      ['a', goodBlob('a')],
      ['evil', bad],
      ['b', goodBlob('b', 'e2e', [5, 6, 7])],
    ]);
    expect(merged.skipped).toHaveLength(1);
    expect(merged.skipped[0]!.instance).toBe('evil');
    expect(merged.skipped[0]!.reason.length).toBeGreaterThan(10);
    expect(merged.instances).toEqual(['a', 'b']);
    const op = merged.operations[0]!;
    const want = good.operations[0]!;
    expect({ count: op.count, errors: op.errors, max: op.maxMs, min: op.minMs, mean: op.meanMs }).toEqual({
      count: want.count,
      errors: want.errors,
      max: want.maxMs,
      min: want.minMs,
      mean: want.meanMs,
    });
    expect(op.p90).toBe(want.p90);
  });

  it('a valid blob passes every check (the checks do not reject real data)', () => {
    expect(good.skipped).toEqual([]);
    expect(good.operations[0]).toMatchObject({ count: 7, instances: 2 });
    expect(good.operations[0]!.maxMs).toBeCloseTo(400, 0);
  });

  it('the deflate bomb is refused by size, not inflated', () => {
    const merged = mergeFleetBlobs([['evil', bomb]]);
    expect(merged.skipped[0]!.reason).toMatch(/inflates to more than/);
  });
});

// ---------------------------------------------------------------------------------------------
// Real Redis

const redis = await connectRedis();
const prefixes: string[] = [];
function uniquePrefix(): string {
  const p = `earshot-test-hostile-fleet:${randomBytes(6).toString('hex')}`;
  prefixes.push(p);
  return p;
}
afterEach(async () => {
  if (redis) for (const p of prefixes.splice(0)) await deletePrefix(redis, p);
});
afterAll(async () => {
  await redis?.quit();
});

const WINDOW = 60_000;

describe.runIf(redis)('hostile fleet data in real Redis (15.1, 15.22)', () => {
  async function seed(prefix: string): Promise<number> {
    const m = new PerformanceMonitor();
    const pub = new FleetPublisher(redis!, m, { prefix, windowMs: WINDOW, instanceId: 'good' });
    for (let i = 1; i <= 50; i++) m.record('llm', i);
    await pub.flush();
    const now = Date.now();
    return now - (now % WINDOW);
  }

  it('a bad field in a window hash and a window key of another type are skipped, the rest is read', async () => {
    const prefix = uniquePrefix();
    const start = await seed(prefix);
    await redis!.hset(`${prefix}:w:${WINDOW}:${start}`, 'evil', randomBytes(64));
    await redis!.set(`${prefix}:w:${WINDOW}:${start - WINDOW}`, 'a string, not a hash');
    const stats: FleetStats = await new FleetReader(redis!, { prefix, windowMs: WINDOW }).read({
      windows: 2,
    });
    expect(stats.instances).toEqual(['good']);
    expect(stats.operations[0]).toMatchObject({ name: 'llm', count: 50 });
    expect(stats.skipped.map((s) => s.instance ?? '(key)').sort()).toEqual(['(key)', 'evil']);
    expect(stats.skipped.find((s) => !s.instance)!.reason).toMatch(/another Redis type/);
  });

  it('earshot fleet prints the skips and exits 0; exits 4 when every blob is bad', async () => {
    const prefix = uniquePrefix();
    const start = await seed(prefix);
    const key = `${prefix}:w:${WINDOW}:${start}`;
    await redis!.hset(key, 'evil\u001b]0;pwned\u0007\r\nforged row', randomBytes(64));
    const url = 'redis://127.0.0.1:6379';
    const r = await cli(['fleet', '--redis', url, '--prefix', prefix, '--windows', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/llm\s+50/);
    expect(r.stderr).toContain('skipped 1 invalid blob');
    expect(r.stderr).toContain('evil?]0;pwned???forged row');
    expect(hasControl(r.stderr + r.stdout)).toBe(false);
    await redis!.hdel(key, 'good');
    const all = await cli(['fleet', '--redis', url, '--prefix', prefix, '--windows', '2']);
    expect(all.code, all.stderr).toBe(4);
    expect(all.stderr).toContain('every blob');
  }, 120_000);

  it('operation names and instance ids from Redis are printed without control characters', async () => {
    const prefix = uniquePrefix();
    // The monitor refuses such names; a publisher of another version (or anyone with write
    // access to Redis) can still put them there.
    const now = Date.now();
    const key = `${prefix}:w:${WINDOW}:${now - (now % WINDOW)}`;
    await redis!.hset(
      key,
      'i1\u001b[31m',
      goodBlob('i1', 'e2e\u001b[2J\u001b]8;;http://evil\u0007click\r\nllm  999', [5]),
    );
    await redis!.hset(key, 'i2', goodBlob('i2', 'bidi\u202eevil', [5]));
    const r = await cli(['fleet', '--redis', 'redis://127.0.0.1:6379', '--prefix', prefix, '--windows', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(hasControl(r.stdout)).toBe(false);
    expect(r.stdout).toContain('e2e?[2J?]8;;http://evil?click??llm  999');
    // No forged row: the table has exactly the two real rows after its header.
    const lines = r.stdout.split('\n');
    const sep = lines.findIndex((l) => l.startsWith('─'));
    const footer = lines.findIndex((l) => l.startsWith('times in ms'));
    expect(footer - sep - 1).toBe(2);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// A Redis that accepts the connection and never answers (15.5)

describe('a Redis that swallows every reply: every fleet command has a deadline (15.5)', () => {
  let server: Server;
  const sockets: Socket[] = [];
  let client: Redis;

  async function blackHole(): Promise<number> {
    server = createServer((s) => {
      sockets.push(s);
      s.on('data', () => {}); // read, never answer
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: null,
    });
    client.on('error', () => {});
    // The connection is accepted but never becomes ready (ioredis's first command gets no
    // reply): commands queue and would wait for ever without a deadline.
    client.connect().catch(() => {});
    return port;
  }

  afterEach(async () => {
    client?.disconnect();
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('FleetReader.read(), readRange() and instances() reject with TimeoutError', async () => {
    await blackHole();
    const reader = new FleetReader(client, { prefix: 'earshot-test-bh', commandTimeoutMs: 300 });
    for (const call of [() => reader.read(), () => reader.readRange(0, 120_000), () => reader.instances()]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as TimeoutError).code).toBe('EARSHOT_TIMEOUT');
      expect((err as TimeoutError).timeoutMs).toBe(300);
      expect((err as Error).message).toMatch(/no reply from Redis within 300 ms/);
    }
  }, 60_000);

  it('FleetPublisher.flush() and stop() reject with TimeoutError instead of hanging a shutdown', async () => {
    await blackHole();
    const m = new PerformanceMonitor();
    const pub = new FleetPublisher(client, m, {
      prefix: 'earshot-test-bh',
      commandTimeoutMs: 300,
      onError: () => {},
    }).start();
    m.record('e2e', 5);
    await expect(pub.flush()).rejects.toBeInstanceOf(TimeoutError);
    m.record('e2e', 6);
    await expect(pub.stop()).rejects.toBeInstanceOf(TimeoutError);
  }, 60_000);

  it('the default deadline is finite (5 s)', async () => {
    await blackHole();
    const reader = new FleetReader(client, { prefix: 'earshot-test-bh' });
    const err = await reader.read().catch((e: unknown) => e);
    expect((err as TimeoutError).timeoutMs).toBe(5000);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// The alarm keeps its period when a read fails (15.2)

describe('fleet alarm: a failed read loses no period (15.2)', () => {
  class FlakyReader extends FleetReader {
    failures = 0;
    ranges: Array<[number, number]> = [];
    constructor(
      private readonly p90: number,
      now: () => number,
    ) {
      super(new Redis({ lazyConnect: true }), { windowMs: 10_000, now, prefix: 'earshot-test-flaky' });
    }
    override async readRange(fromMs: number, toMs: number): Promise<FleetStats> {
      if (this.failures > 0) {
        this.failures--;
        throw new TimeoutError('blip', 1);
      }
      this.ranges.push([fromMs, toMs]);
      const h = hist(Array.from({ length: 20 }, () => this.p90));
      return {
        fromMs,
        toMs,
        windowMs: 10_000,
        windows: [fromMs],
        instances: ['a'],
        skipped: [],
        operations: [
          {
            name: 'e2e',
            count: 20,
            errors: 0,
            errorRate: 0,
            minMs: this.p90,
            maxMs: this.p90,
            meanMs: this.p90,
            p50: this.p90,
            p75: this.p90,
            p90: this.p90,
            p95: this.p90,
            p99: this.p90,
            p999: this.p90,
            instances: 1,
            histogram: h,
          },
        ],
      };
    }
  }

  it('judges the period again after a failure, and catches up on periods missed meanwhile', async () => {
    const c = { t: 2_000_000_000_000 };
    const reader = new FlakyReader(900, () => c.t);
    const alarm = createFleetLatencyAlarm(reader, {
      operation: 'e2e',
      percentile: 90,
      thresholdMs: 500,
      evaluationPeriods: 2,
      periodSeconds: 10,
      minSamples: 1,
      settleMs: 1000,
      now: () => c.t,
    });
    await alarm.evaluate(); // judges period P0: breaching 1 of 2
    expect(alarm.state).toBe('OK');
    c.t += 10_000;
    reader.failures = 1;
    await expect(alarm.evaluate()).rejects.toBeInstanceOf(EarshotError);
    expect(alarm.state).toBe('OK'); // state unchanged on failure
    // The same period is judged on the next evaluate (old code: nothing, the alarm never fires).
    const dp = await alarm.evaluate();
    expect(dp?.breaching).toBe(true);
    expect(alarm.state).toBe('ALARM');
    // Two periods pass while reads fail: both are judged, oldest first, once Redis is back.
    const before = reader.ranges.length;
    c.t += 20_000;
    reader.failures = 1;
    await expect(alarm.evaluate()).rejects.toBeInstanceOf(EarshotError);
    await alarm.evaluate();
    const judged = reader.ranges.slice(before);
    expect(judged).toHaveLength(2);
    expect(judged[1]![0] - judged[0]![0]).toBe(10_000);
    expect(await alarm.evaluate()).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Keyspaces (15.3)

describe('fleet and cache keyspaces are disjoint (15.3)', () => {
  it('the default fleet prefix lies outside the cache default keyspace', () => {
    expect(DEFAULT_FLEET_PREFIX).toBe('earshot-fleet');
    expect(`${DEFAULT_FLEET_PREFIX}:w:60000:0`.startsWith('earshot:')).toBe(false);
    expect(() => assertFleetPrefixDisjoint(DEFAULT_FLEET_PREFIX, 'earshot:')).not.toThrow();
  });

  it.each([
    ['earshot:fleet', 'earshot:'],
    ['earshot:', 'earshot:'],
    ['app', 'app:'],
    ['app:x', 'app:'],
    ['app', 'app:w:'],
    ['anything', ''],
  ])('rejects fleet prefix %j with cache prefix %j', (fleet, cache) => {
    expect(() => assertFleetPrefixDisjoint(fleet, cache)).toThrow(InvalidArgumentError);
    const r = new Redis({ lazyConnect: true });
    expect(() => new FleetReader(r, { prefix: fleet, cacheKeyPrefix: cache })).toThrow(InvalidArgumentError);
    expect(
      () => new FleetPublisher(r, new PerformanceMonitor(), { prefix: fleet, cacheKeyPrefix: cache }),
    ).toThrow(InvalidArgumentError);
    r.disconnect();
  });

  it('the old default (earshot:fleet) is rejected against the cache default', () => {
    const r = new Redis({ lazyConnect: true });
    expect(() => new FleetReader(r, { prefix: 'earshot:fleet' })).toThrow(/overlaps the cache key prefix/);
    r.disconnect();
  });
});

describe('stripControl (15.22)', () => {
  it('strips C0, DEL, C1, line separators and bidi overrides; keeps printable Unicode', () => {
    for (let c = 0; c < 0x20; c++) expect(stripControl(`a${String.fromCharCode(c)}b`)).toBe('a?b');
    for (let c = 0x7f; c <= 0x9f; c++) expect(stripControl(`a${String.fromCharCode(c)}b`)).toBe('a?b');
    for (const c of ['\u2028', '\u2029', '\u202e', '\u2066', '\u2069'])
      expect(stripControl(`a${c}b`)).toBe('a?b');
    expect(stripControl('llm — 東京 🎧 é')).toBe('llm — 東京 🎧 é');
  });
});
