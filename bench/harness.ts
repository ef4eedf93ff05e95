/**
 * Tiny benchmark harness shared by bench/*.bench.ts: warm-up, several timed rounds, the best
 * (least disturbed) round reported, and ratios against a baseline measured in the same run.
 * The machine is noisy, so only ratios within one run are worth comparing.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { formatGoalLine, type GoalLine, type GoalVerdict, judge, parseBenchOutput } from './goals.js';

export { type GoalLine, type GoalVerdict, judge };

export interface BenchOptions {
  smoke: boolean;
}

export interface BenchResult {
  name: string;
  nsPerOp: number;
  opsPerSec: number;
}

/** Times `fn` (called `iterations` times per round) and returns ns per call of the best round. */
export async function measure(
  name: string,
  fn: () => unknown,
  { iterations, rounds = 5, async = false }: { iterations: number; rounds?: number; async?: boolean },
): Promise<BenchResult> {
  // warm-up so the JIT has optimized the path before we time it
  for (let i = 0; i < Math.min(iterations, 20_000); i++) {
    const r = fn();
    if (async) await r;
  }
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const t0 = process.hrtime.bigint();
    if (async) for (let i = 0; i < iterations; i++) await fn();
    else for (let i = 0; i < iterations; i++) fn();
    const ns = Number(process.hrtime.bigint() - t0) / iterations;
    if (ns < best) best = ns;
  }
  return { name, nsPerOp: best, opsPerSec: 1e9 / best };
}

export interface InterleavedCase {
  name: string;
  /** One operation (sequential cases) or one call of a concurrent batch. */
  fn: () => unknown;
  /** True for a synchronous case (called, not awaited). */
  sync?: boolean;
}

/**
 * Interleaved timing: round r runs every case once (in rotating order), so load from other
 * processes on this shared machine hits all cases alike; each case reports its best round.
 * Use it whenever cases are compared with each other (earshot vs a baseline or a peer).
 */
export async function interleaved(
  cases: readonly InterleavedCase[],
  { iterations, rounds, concurrency = 1 }: { iterations: number; rounds: number; concurrency?: number },
): Promise<BenchResult[]> {
  const best = new Map<string, number>(cases.map((c) => [c.name, Number.POSITIVE_INFINITY]));
  const once = async (c: InterleavedCase, n: number): Promise<number> => {
    const t0 = process.hrtime.bigint();
    if (concurrency > 1) {
      for (let b = 0; b < n; b++) await Promise.all(Array.from({ length: concurrency }, () => c.fn()));
    } else if (c.sync === true) {
      for (let i = 0; i < n; i++) c.fn();
    } else {
      for (let i = 0; i < n; i++) await c.fn();
    }
    return Number(process.hrtime.bigint() - t0) / (n * concurrency);
  };
  for (const c of cases) await once(c, Math.max(1, Math.ceil(iterations / 5))); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(j + r) % cases.length]!;
      const ns = await once(c, iterations);
      if (ns < best.get(c.name)!) best.set(c.name, ns);
    }
  }
  return cases.map((c) => ({ name: c.name, nsPerOp: best.get(c.name)!, opsPerSec: 1e9 / best.get(c.name)! }));
}

/** ns per op of the named result; throws when the case is missing (a renamed row must not pass silently). */
export function nsOf(results: readonly BenchResult[], name: string): number {
  const r = results.find((x) => x.name === name);
  if (r === undefined) throw new Error(`no bench result named "${name}"`);
  return r.nsPerOp;
}

const goalsThisProcess: GoalLine[] = [];

/**
 * States one goal of a bench as a machine-readable line on stdout, which `npm run bench` turns
 * into a row of the "Goals at a glance" table in docs/performance.md:
 *
 *     GOAL <id> | <what is compared> | <measured> | <goal> | met|not met|info
 *
 * The id starts with the bench's name (`cache.` in cache.bench.ts). Say in `what` what is
 * compared with what, so the row survives a skeptical reader.
 *
 * @example
 * const ratio = nsOf(seq, 'earshot Redis get') / nsOf(seq, 'raw ioredis GET + JSON.parse');
 * goal({
 *   id: 'cache.redis-seq',
 *   what: 'Redis hit, sequential: earshot get vs raw ioredis GET + JSON.parse',
 *   measured: `${ratio.toFixed(2)}x`,
 *   goal: '≤ 1.10x',
 *   verdict: judge(ratio, '<=', 1.1),
 * });
 */
export function goal(g: GoalLine): void {
  const line = formatGoalLine(g);
  if (goalsThisProcess.some((x) => x.id === g.id)) throw new Error(`goal id "${g.id}" stated twice`);
  // what the table gets is exactly what the line says (fields cleaned the same way)
  goalsThisProcess.push(...parseBenchOutput(line).goals);
  console.log(line);
}

/** The goals stated since the last call (bench/run.ts collects them after each bench). */
export function takeGoals(): GoalLine[] {
  return goalsThisProcess.splice(0, goalsThisProcess.length);
}

/** Prints a markdown table with each result's ratio to `baseline`. */
export function printTable(title: string, results: readonly BenchResult[], baseline: string): void {
  const base = results.find((r) => r.name === baseline);
  console.log(`\n### ${title}\n`);
  console.log(`| case | ns/op | ops/s | ratio vs ${baseline} |`);
  console.log('|---|---:|---:|---:|');
  for (const r of results) {
    const ratio = base ? (r.nsPerOp / base.nsPerOp).toFixed(2) : '-';
    console.log(
      `| ${r.name} | ${r.nsPerOp.toFixed(1)} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${ratio}x |`,
    );
  }
}

/** Prints a percentile table from rows of `{ name, ...columns }`. */
export function printRows(title: string, rows: ReadonlyArray<Record<string, string | number>>): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  console.log(`\n### ${title}\n`);
  console.log(`| ${cols.join(' | ')} |`);
  console.log(`|${cols.map(() => '---').join('|')}|`);
  for (const r of rows)
    console.log(
      `| ${cols.map((c) => (typeof r[c] === 'number' ? (r[c] as number).toFixed(2) : r[c])).join(' | ')} |`,
    );
}

/** True when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  const arg = process.argv[1];
  return arg !== undefined && pathToFileURL(arg).href === metaUrl;
}

/** Parses `--smoke` from argv (or BENCH_SMOKE=1). */
export function smokeFromArgv(): boolean {
  return process.argv.includes('--smoke') || process.env.BENCH_SMOKE === '1';
}

/**
 * `gc()` without `--expose-gc` on the command line: the flag is set at run time and the function
 * taken from a fresh context. Call it outside timed sections (`{ type: 'minor' }` is a scavenge).
 */
export function exposeGc(): (o?: { type?: 'minor' | 'major' }) => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as (o?: { type?: 'minor' | 'major' }) => void;
}

/**
 * The main thread's scheduler counters (Linux `/proc/self/task/<pid>/schedstat`): time it ran
 * on a CPU and time it waited runnable in the run queue (another process had the core), ns.
 * Undefined where there is no such file.
 */
export function mainThreadSched(): { runNs: number; waitNs: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
    return { runNs: Number(run), waitNs: Number(wait) };
  } catch {
    return undefined;
  }
}

/** The p-th percentile (nearest rank) of the finite values of `xs`; NaN when there are none. */
export function percentile(xs: readonly number[], p: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** Run-queue wait (ns) above which a sample counts as hit by a stall: another process had the core. */
export const STALL_WAIT_NS = 20_000;

/** One arm of a paired overhead sample: wall, process CPU and heap allocated, per sample. */
export interface ArmSamples {
  wall: number[];
  cpu: number[];
  /** KB the arm allocated (used heap growth), `NaN` when a GC ran inside the arm. */
  allocKb: number[];
}

/** What {@link pairedOverhead} measured; see {@link overheadRows} and {@link overheadSummary}. */
export interface PairedOverhead {
  n: number;
  pipe: ArmSamples;
  direct: ArmSamples;
  /** Pipeline − direct of the same pair. */
  diff: { wall: number[]; cpu: number[] };
  /** The main thread waited ≥ {@link STALL_WAIT_NS} in the run queue during the pair. */
  stalled: boolean[];
  /** A GC pause (any kind) overlapped the pair. */
  hitByGc: boolean[];
  /** Forced GC every this many pairs (outside the timed part); 0 for none. */
  gcEvery: number;
  /** 1-minute load average before and after the samples (2 cores: above 2, processes queue). */
  load: [number, number];
}

/**
 * Framework overhead, paired: each sample runs a turn through the pipeline, then the same fakes
 * called directly, one after the other, turns one at a time. Per sample: wall, process CPU
 * (`process.cpuUsage`: every thread, GC helpers included), heap allocated by each arm (used
 * heap growth, only where no GC ran inside the arm), the main thread's run-queue wait (Linux
 * schedstat, read outside the timed arms) and whether a GC pause overlapped the pair
 * (PerformanceObserver). `gcEvery` > 0 forces a GC (outside the timed part) every that many
 * pairs: minor, every tenth one major. What counts as overhead never changes: pipeline wall −
 * direct wall of the same pair, over every sample; the rest says where its tail comes from.
 */
export async function pairedOverhead(opts: {
  n: number;
  warmup: number;
  gcEvery: number;
  pipelineTurn: () => Promise<unknown>;
  directTurn: () => Promise<unknown>;
}): Promise<PairedOverhead> {
  const { n, gcEvery, pipelineTurn, directTurn } = opts;
  const gc = exposeGc();
  // Warm-up: JIT, lazy initialization, first-use allocations.
  for (let i = 0; i < opts.warmup; i++) {
    await pipelineTurn();
    await directTurn();
  }
  gc();
  const gcs: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const arm = (): ArmSamples => ({ wall: [], cpu: [], allocKb: [] });
  const pipe = arm();
  const direct = arm();
  const waitNs: number[] = [];
  const spans: { start: number; end: number }[] = [];
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  // Schedstat's run time only advances at scheduler ticks and switches (too coarse for a 0.1 ms
  // turn), so CPU comes from process.cpuUsage; the run-queue wait is updated whenever the thread
  // gets a core back, so a stall inside the pair always shows in it.
  const sched = () => mainThreadSched() ?? { runNs: Number.NaN, waitNs: 0 };
  const heap = () => getHeapStatistics().used_heap_size;
  const loadBefore = loadavg()[0] as number;
  for (let i = 0; i < n; i++) {
    if (gcEvery > 0 && i % gcEvery === 0)
      gc(i % (10 * gcEvery) === 0 ? { type: 'major' } : { type: 'minor' });
    const s0 = sched();
    const h0 = heap();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await pipelineTurn();
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const h1 = heap();
    await directTurn();
    const t2 = performance.now();
    const c2 = process.cpuUsage();
    const h2 = heap();
    const s2 = sched();
    pipe.wall.push(t1 - t0);
    direct.wall.push(t2 - t1);
    pipe.cpu.push(cpuMs(c1) - cpuMs(c0));
    direct.cpu.push(cpuMs(c2) - cpuMs(c1));
    // A GC shrinks the used heap: such an arm says nothing about what it allocated.
    pipe.allocKb.push(h1 >= h0 ? (h1 - h0) / 1024 : Number.NaN);
    direct.allocKb.push(h2 >= h1 ? (h2 - h1) / 1024 : Number.NaN);
    waitNs.push(s2.waitNs - s0.waitNs);
    spans.push({ start: t0, end: t2 });
  }
  await new Promise((r) => setImmediate(r)); // let the observer deliver the last entries
  observer.disconnect();
  const hitByGc = spans.map((s) => gcs.some((g) => g.start < s.end && g.end > s.start));
  // Where the heap was not measured (a GC inside the arm), the pair was hit by a GC too.
  for (let i = 0; i < n; i++)
    if (Number.isNaN(pipe.allocKb[i] as number) || Number.isNaN(direct.allocKb[i] as number))
      hitByGc[i] = true;
  return {
    n,
    pipe,
    direct,
    diff: {
      wall: pipe.wall.map((w, i) => w - (direct.wall[i] as number)),
      cpu: pipe.cpu.map((c, i) => c - (direct.cpu[i] as number)),
    },
    stalled: waitNs.map((w) => w >= STALL_WAIT_NS),
    hitByGc,
    gcEvery,
    load: [loadBefore, loadavg()[0] as number],
  };
}

const mean = (xs: readonly number[]): number => {
  const ok = xs.filter((x) => Number.isFinite(x));
  return ok.reduce((a, b) => a + b, 0) / Math.max(1, ok.length);
};

/** The figures a goal line and the docs quote, from {@link pairedOverhead}. */
export function overheadSummary(o: PairedOverhead) {
  const clean = (i: number) => !o.stalled[i] && !o.hitByGc[i];
  const share = (xs: boolean[]) => xs.filter(Boolean).length / Math.max(1, xs.length);
  const quiet = o.diff.wall.filter((_, i) => clean(i));
  const noStall = o.diff.wall.filter((_, i) => !o.stalled[i]);
  const noGc = o.diff.wall.filter((_, i) => !o.hitByGc[i]);
  return {
    wallP50: percentile(o.diff.wall, 50),
    wallP99: percentile(o.diff.wall, 99),
    cpuP99: percentile(o.diff.cpu, 99),
    stalledShare: share(o.stalled),
    gcShare: share(o.hitByGc),
    quietWallP99: percentile(quiet, 99),
    quietCount: quiet.length,
    noStallWallP99: percentile(noStall, 99),
    noGcWallP99: percentile(noGc, 99),
    directWallP99: percentile(o.direct.wall, 99),
    pipeAllocKb: mean(o.pipe.allocKb),
    directAllocKb: mean(o.direct.allocKb),
  };
}

/**
 * The overhead table: each arm and the paired difference on every sample (wall and CPU), then
 * the difference over the samples with no stall and no GC, with only one of them, and hit by
 * each, so the share and the size of each cause of the tail are both on the page.
 */
export function overheadRows(o: PairedOverhead): Record<string, string | number>[] {
  const row = (name: string, clock: string, xs: number[]) => ({
    case: name,
    clock,
    samples: xs.length,
    'P50 ms': percentile(xs, 50),
    'P90 ms': percentile(xs, 90),
    'P99 ms': percentile(xs, 99),
    'max ms': xs.length > 0 ? Math.max(...xs) : Number.NaN,
  });
  const PIPE = 'turn through the pipeline';
  const DIRECT = 'same fakes called directly (baseline)';
  const DIFF = 'overhead (pipeline − baseline, paired)';
  const where = (keep: (i: number) => boolean) => o.diff.wall.filter((_, i) => keep(i));
  return [
    row(PIPE, 'wall', o.pipe.wall),
    row(DIRECT, 'wall', o.direct.wall),
    row(`${DIFF}, every sample`, 'wall', o.diff.wall),
    row(PIPE, 'CPU', o.pipe.cpu),
    row(DIRECT, 'CPU', o.direct.cpu),
    row(`${DIFF}, every sample`, 'CPU', o.diff.cpu),
    row(
      `${DIFF}, no run-queue stall and no GC`,
      'wall',
      where((i) => !o.stalled[i] && !o.hitByGc[i]),
    ),
    row(
      `${DIFF}, no run-queue stall (GC or not)`,
      'wall',
      where((i) => !o.stalled[i]),
    ),
    row(
      `${DIFF}, no GC (stalled or not)`,
      'wall',
      where((i) => !o.hitByGc[i]),
    ),
    row(
      `${DIFF}, hit by a run-queue stall`,
      'wall',
      where((i) => o.stalled[i] as boolean),
    ),
    row(
      `${DIFF}, hit by a GC`,
      'wall',
      where((i) => o.hitByGc[i] as boolean),
    ),
  ];
}

/** One sentence under the table: the shares hit by stalls and GC, and heap allocated per turn. */
export function overheadNote(o: PairedOverhead): string {
  const s = overheadSummary(o);
  const pc = (x: number) => `${(x * 100).toFixed(1)} %`;
  return (
    `${o.n} paired samples, turns one at a time, ` +
    (o.gcEvery > 0
      ? `a forced GC every ${o.gcEvery} pairs (outside the timed part). `
      : 'no forced GC (every GC falls where the allocations put it). ') +
    `Hit by a run-queue stall (main thread waited ≥ ${STALL_WAIT_NS / 1000} µs: another process had the core): ${pc(s.stalledShare)}; ` +
    `by a GC pause: ${pc(s.gcShare)}; 1-minute load average ${o.load[0].toFixed(2)} → ${o.load[1].toFixed(2)} on ${availableParallelism()} cores. ` +
    `Heap allocated per turn (GC-free arms): pipeline ${s.pipeAllocKb.toFixed(1)} KB, direct ${s.directAllocKb.toFixed(1)} KB. ` +
    `Overhead P99 wall: every sample ${s.wallP99.toFixed(3)} ms; without stalls and GC (${s.quietCount} samples) ${s.quietWallP99.toFixed(3)} ms.`
  );
}
