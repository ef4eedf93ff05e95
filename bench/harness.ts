/**
 * Tiny benchmark harness shared by bench/*.bench.ts: warm-up, several timed rounds, the best
 * (least disturbed) round reported, and ratios against a baseline measured in the same run.
 * The machine is noisy, so only ratios within one run are worth comparing.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
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
