/**
 * Cost of merging the fleet: 100 instances × 20 operations (one window) into fleet-wide
 * percentiles, against raw hdr-histogram-js `add` of the same histograms already in memory
 * (the floor: no decoding at all) and against the naive path (`LatencyHistogram.decode` + `add`).
 * With Redis on 127.0.0.1:6379 it also times the whole `FleetReader.read()` round trip.
 * Run: `npx tsx bench/fleet.bench.ts` (or `--smoke`).
 */
import { randomBytes } from 'node:crypto';
import * as hdr from 'hdr-histogram-js';
import { Redis } from 'ioredis';
import { LatencyHistogram } from '../src/perf/index.js';
import { FleetReader, mergeFleetBlobs } from '../src/redis/fleet.js';
import { encodeFleetBlob, rawV2FromEncoded } from '../src/redis/fleet-codec.js';
import {
  type BenchOptions,
  type BenchResult,
  goal,
  interleaved,
  isMain,
  judge,
  measure,
  printTable,
  smokeFromArgv,
} from './harness.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function run({ smoke }: BenchOptions): Promise<BenchResult[]> {
  const instances = smoke ? 10 : 100;
  const operations = smoke ? 5 : 20;
  const samples = smoke ? 50 : 1000;
  const rounds = smoke ? 1 : 7;
  const rand = mulberry32(7);

  // Each instance's window as its publisher would write it, plus the same histograms raw.
  const blobs: [string, Buffer][] = [];
  const rawHists: hdr.Histogram[][] = [];
  const encoded: string[][] = [];
  for (let i = 0; i < instances; i++) {
    const series = [];
    const raws: hdr.Histogram[] = [];
    const enc: string[] = [];
    for (let o = 0; o < operations; o++) {
      const h = new LatencyHistogram();
      const raw = hdr.build({ bitBucketSize: 32, autoResize: true, numberOfSignificantValueDigits: 3 });
      let sum = 0;
      for (let s = 0; s < samples; s++) {
        // log-normal-ish latencies, 5 ms to a few seconds, shifted per operation
        const ms = (5 + o * 20) * Math.exp(rand() * 2);
        h.recordMs(ms);
        raw.recordValue(Math.round(ms * 1000));
        sum += ms;
      }
      raws.push(raw);
      enc.push(h.encode());
      series.push({
        entry: {
          name: `op${o}`,
          labels: {},
          count: h.count,
          errors: 0,
          sumMs: sum,
          minMs: h.minMs,
          maxMs: h.maxMs,
        },
        rawV2: rawV2FromEncoded(h.encode()),
      });
    }
    rawHists.push(raws);
    encoded.push(enc);
    blobs.push([
      `instance-${i}`,
      encodeFleetBlob({ instanceId: `instance-${i}`, windowStart: 0, publishedAt: 0 }, series),
    ]);
  }
  const blobBytes = blobs.reduce((n, [, b]) => n + b.length, 0);

  // The floor and ours in interleaved rounds, so load from other processes hits both alike.
  const results: BenchResult[] = await interleaved(
    [
      {
        name: 'raw hdr add (histograms already decoded) + P50/P90/P99',
        sync: true,
        fn: () => {
          for (let o = 0; o < operations; o++) {
            const acc = hdr.build({ bitBucketSize: 32, autoResize: true, numberOfSignificantValueDigits: 3 });
            for (let i = 0; i < instances; i++) acc.add(rawHists[i]![o]!);
            acc.getValueAtPercentile(50);
            acc.getValueAtPercentile(90);
            acc.getValueAtPercentile(99);
          }
        },
      },
      {
        name: 'earshot mergeFleetBlobs (inflate + merge + stats)',
        sync: true,
        fn: () => mergeFleetBlobs(blobs),
      },
    ],
    { iterations: 1, rounds },
  );
  // The naive path is ~100× slower: time a tenth of the instances and scale up.
  const naiveInstances = Math.max(1, Math.floor(instances / 10));
  const naive = await measure(
    `naive LatencyHistogram.decode + add (${naiveInstances} of ${instances} instances, scaled)`,
    () => {
      for (let o = 0; o < operations; o++) {
        const acc = new LatencyHistogram();
        for (let i = 0; i < naiveInstances; i++) acc.add(LatencyHistogram.decode(encoded[i]![o]!));
        acc.percentileMs(90);
      }
    },
    { iterations: 1, rounds: smoke ? 1 : 3 },
  );
  const scale = instances / naiveInstances;
  results.push({ ...naive, nsPerOp: naive.nsPerOp * scale, opsPerSec: naive.opsPerSec / scale });

  const redis = new Redis(6379, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const prefix = `earshot-bench:fleet:${randomBytes(4).toString('hex')}`;
    const windowMs = 60_000;
    const start = Date.now() - (Date.now() % windowMs);
    const key = `${prefix}:w:${windowMs}:${start}`;
    await redis.hset(key, Object.fromEntries(blobs));
    await redis.pexpire(key, 120_000);
    const reader = new FleetReader(redis, { prefix, windowMs });
    const check = await reader.readRange(start, start + windowMs);
    if (check.operations.length !== operations || check.instances.length !== instances) {
      throw new Error(
        `read back ${check.operations.length} operations from ${check.instances.length} instances`,
      );
    }
    results.push(
      await measure(
        'FleetReader.readRange over real Redis (HGETALL + merge)',
        () => reader.readRange(start, start + windowMs),
        {
          iterations: 1,
          rounds,
          async: true,
        },
      ),
    );
    await redis.del(key);
  } catch (err) {
    console.warn(
      `(Redis on 127.0.0.1:6379 not reachable, skipping the round trip: ${(err as Error).message})`,
    );
  } finally {
    redis.disconnect();
  }

  printTable(
    `Fleet merge: ${instances} instances × ${operations} operations × ${samples} samples (one window, ${(blobBytes / 1024).toFixed(0)} KiB in Redis)`,
    results,
    'raw hdr add (histograms already decoded) + P50/P90/P99',
  );
  const merge = results[1]!.nsPerOp / 1e6;
  const vsRaw = results[1]!.nsPerOp / results[0]!.nsPerOp;
  const vsNaive = results[2]!.nsPerOp / results[1]!.nsPerOp;
  console.log(
    `\nmergeFleetBlobs: ${merge.toFixed(1)} ms for ${instances}×${operations} (goal < 50 ms for 100×20); ` +
      `${vsRaw.toFixed(2)}x raw hdr add of pre-decoded histograms; ` +
      `${vsNaive.toFixed(0)}x faster than decode + add`,
  );
  goal({
    id: 'fleet.merge-100x20',
    what: `merge ${instances} instances × ${operations} operations × ${samples} samples into fleet percentiles (mergeFleetBlobs: inflate + merge + P50/P90/P99; best of ${rounds} rounds)`,
    measured: `${merge.toFixed(1)} ms`,
    goal: '< 50 ms for 100×20',
    verdict: smoke ? 'info' : judge(merge, '<', 50),
  });
  goal({
    id: 'fleet.merge-vs-raw-hdr',
    what: 'mergeFleetBlobs (decodes the blobs) vs raw hdr-histogram-js add of the same histograms already decoded in memory (the raw side skips decoding)',
    measured: `${vsRaw.toFixed(2)}x`,
    goal: '-',
    verdict: 'info',
  });
  const readRange = results.find((r) => r.name.startsWith('FleetReader.readRange'));
  if (readRange)
    goal({
      id: 'fleet.read-range',
      what: 'FleetReader.readRange over local Redis: HGETALL of the window + merge',
      measured: `${(readRange.nsPerOp / 1e6).toFixed(1)} ms`,
      goal: '-',
      verdict: 'info',
    });
  return results;
}

if (isMain(import.meta.url)) await run({ smoke: smokeFromArgv() });
