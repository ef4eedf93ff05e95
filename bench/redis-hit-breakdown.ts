/**
 * Where the time of an earshot Redis hit goes (issue 18: "1.21x raw GET + JSON.parse"). Not part
 * of `npm run bench` (not a `.bench.ts`): a diagnostic that peels the read path layer by layer,
 * all cases in interleaved rounds, one caller at a time, against local Redis:
 *
 *   raw GET → + JSON.parse → + earshot entry decoding (`E1|fresh|stale|json` header, safe parse)
 *   → RedisTier.get (breaker, deadline, one promise) → CacheManager.get, monitor off → monitor on
 *
 * The difference between neighbouring rows is the cost of that layer.
 *
 *   npx tsx bench/redis-hit-breakdown.ts            the table
 *   node --cpu-prof --cpu-prof-dir=.prof-tmp --import tsx bench/redis-hit-breakdown.ts --profile
 *                                                   only CacheManager.get (monitor on), for a CPU profile
 *   npx tsx bench/redis-hit-breakdown.ts --summarize .prof-tmp/<file>.cpuprofile
 *                                                   self time by function, top 25
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { createCacheManager } from '../src/cache/index.js';
import { jsonSerializer } from '../src/cache/tier-kit/index.js';
import { PerformanceMonitor } from '../src/perf/index.js';
import { decodeEntry } from '../src/redis/entry-codec.js';
import { createRedisTier } from '../src/redis/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const VALUE = {
  loadId: '2314',
  status: 'in_transit',
  origin: { city: 'Reno', state: 'NV' },
  destination: { city: 'Boise', state: 'ID' },
  eta: '2026-11-25T18:30:00Z',
  stops: [{ city: 'Winnemucca', arrived: true }],
  driver: { name: 'A. Driver', phone: '+1-555-0100' },
};

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function summarize(path: string): void {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!;
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const url = n.callFrame.url.replace(/^.*\/(node_modules\/|src\/|bench\/)/, '$1');
    const k = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
    self.set(k, (self.get(k) ?? 0) + dt);
  }
  // Idle time and module loading (start-up) say nothing about the read path: leave them out.
  const busy = [...self].filter(
    ([k]) =>
      !/^\(idle\)|node:internal\/modules|node_modules\/tsx\/|^compile|wrapSafe|parseCJS|readFileUtf8|startThread/.test(
        k,
      ),
  );
  const busyTotal = busy.reduce((n, [, v]) => n + v, 0);
  const byArea = new Map<string, number>();
  for (const [k, v] of busy) {
    const area =
      /node_modules\/(ioredis|redis-parser|@ioredis|standard-as-callback|denque|cluster-key-slot)/.test(k)
        ? 'ioredis'
        : / src\/perf\//.test(k) || /hdr-histogram/.test(k)
          ? 'earshot src/perf + hdr-histogram-js (the monitor)'
          : / src\//.test(k)
            ? 'earshot src/ (cache manager, Redis tier, serializer)'
            : /^\((garbage collector|program)\)/.test(k)
              ? k.split(' :')[0]!
              : 'node internals / native (sockets, promises, timers)';
    byArea.set(area, (byArea.get(area) ?? 0) + v);
  }
  console.log(
    `\nself time by area, % of busy time (${(busyTotal / 1000).toFixed(0)} ms busy of ${(total / 1000).toFixed(0)} ms sampled; idle and module loading left out)`,
  );
  for (const [a, v] of [...byArea].sort((x, y) => y[1] - x[1]))
    console.log(`  ${((100 * v) / busyTotal).toFixed(1).padStart(5)} %  ${a}`);
  console.log('\ntop 30 functions by self time, % of busy time');
  for (const [k, v] of busy.sort((x, y) => y[1] - x[1]).slice(0, 30))
    console.log(`  ${((100 * v) / busyTotal).toFixed(1).padStart(5)} %  ${k}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sumIndex = args.indexOf('--summarize');
  if (sumIndex >= 0) {
    summarize(args[sumIndex + 1] ?? '');
    return;
  }
  const profileOnly = args.includes('--profile');
  const prefix = `earshot-bench:${randomUUID().slice(0, 8)}:`;
  const ns = 'company_api:load';
  const keys = Array.from({ length: 100 }, (_, i) => `load:${i}`);
  const raw = new Redis(REDIS_URL);
  const tier = createRedisTier({ url: REDIS_URL, keyPrefix: `${prefix}ours:`, invalidation: false });
  const ours = createCacheManager({ monitor: new PerformanceMonitor(), l1: false, l2: tier });
  const quiet = createCacheManager({
    monitor: false,
    l1: false,
    l2: createRedisTier({ url: REDIS_URL, keyPrefix: `${prefix}ours:`, invalidation: false }),
  });
  await Promise.all([ours.connect(), quiet.connect()]);
  for (const k of keys) {
    await raw.set(`${prefix}raw:${k}`, JSON.stringify(VALUE));
    await ours.set(k, VALUE, ns);
  }
  // The tier's ids for those keys, as the manager wrote them.
  const tierIds: string[] = [];
  let cursor = '0';
  do {
    const [nextCursor, found] = await raw.scan(cursor, 'MATCH', `${prefix}ours:*`, 'COUNT', 1000);
    cursor = nextCursor;
    tierIds.push(...found.map((k) => k.slice(`${prefix}ours:`.length)));
  } while (cursor !== '0');
  if (tierIds.length !== keys.length)
    throw new Error(`found ${tierIds.length} tier keys, want ${keys.length}`);

  let i = 0;
  const next = () => keys[i++ % keys.length]!;
  const nextId = () => tierIds[i++ % tierIds.length]!;
  try {
    if (profileOnly) {
      const n = 40_000;
      const t0 = performance.now();
      for (let j = 0; j < n; j++) await ours.get(next(), ns);
      console.log(
        `${n} CacheManager.get (monitor on): ${(((performance.now() - t0) * 1000) / n).toFixed(1)} µs each`,
      );
      return;
    }
    const C = {
      get: 'raw ioredis GET',
      parse: 'raw ioredis GET + JSON.parse',
      decode: 'raw ioredis GET + earshot decodeEntry (header + safe JSON parse)',
      tier: 'RedisTier.get (breaker, deadline, decode)',
      quiet: 'CacheManager.get, monitor off',
      ours: 'CacheManager.get, monitor on (default)',
    };
    const cases: [string, () => Promise<unknown>][] = [
      [C.get, () => raw.get(`${prefix}raw:${next()}`)],
      [C.parse, () => raw.get(`${prefix}raw:${next()}`).then((s) => JSON.parse(s!) as unknown)],
      [C.decode, () => raw.get(`${prefix}ours:${nextId()}`).then((s) => decodeEntry(s!, jsonSerializer))],
      [C.tier, () => tier.get(nextId())],
      [C.quiet, () => quiet.get(next(), ns)],
      [C.ours, () => ours.get(next(), ns)],
    ];
    // Wall time per hit and this process's CPU time per hit (user + system), best round of each,
    // rounds interleaved. On a loaded machine the wall time mostly measures waiting for a core;
    // the CPU time is the work earshot adds and moves much less.
    const iterations = args.includes('--smoke') ? 20 : 400;
    const rounds = args.includes('--smoke') ? 2 : 60;
    const wall = new Map<string, number>(cases.map(([n]) => [n, Number.POSITIVE_INFINITY]));
    const cpu = new Map<string, number>(cases.map(([n]) => [n, Number.POSITIVE_INFINITY]));
    for (const [, fn] of cases) for (let j = 0; j < 200; j++) await fn();
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < cases.length; j++) {
        const [name, fn] = cases[(j + r) % cases.length]!;
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        for (let k = 0; k < iterations; k++) await fn();
        const ns = Number(process.hrtime.bigint() - t0) / iterations;
        const c = process.cpuUsage(c0);
        const cpuNs = ((c.user + c.system) * 1000) / iterations;
        if (ns < wall.get(name)!) wall.set(name, ns);
        if (cpuNs < cpu.get(name)!) cpu.set(name, cpuNs);
      }
    }
    const base = cases[1]![0];
    console.log(
      `\n### Redis hit, one caller, layer by layer (${rounds} interleaved rounds of ${iterations}, best round; load average ${loadavg()[0]!.toFixed(2)})\n`,
    );
    console.log(
      '| case | wall µs | CPU µs | wall vs GET + JSON.parse | CPU vs GET + JSON.parse | CPU added by this layer |',
    );
    console.log('|---|---:|---:|---:|---:|---:|');
    let prev: number | undefined;
    for (const [name] of cases) {
      const w = wall.get(name)!;
      const c = cpu.get(name)!;
      console.log(
        `| ${name} | ${(w / 1000).toFixed(1)} | ${(c / 1000).toFixed(1)} | ${(w / wall.get(base)!).toFixed(2)}x | ${(c / cpu.get(base)!).toFixed(2)}x | ${prev === undefined ? '-' : `${((c - prev) / 1000).toFixed(1)} µs`} |`,
      );
      prev = c;
    }
  } finally {
    await ours.invalidateNamespace(ns);
    let c = '0';
    do {
      const [nextCursor, found] = await raw.scan(c, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      c = nextCursor;
      if (found.length > 0) await raw.unlink(...found);
    } while (c !== '0');
    await Promise.all([ours.close(), quiet.close()]);
    raw.disconnect();
  }
}

await main();
process.exit(0);
