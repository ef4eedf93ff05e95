/**
 * Tiny benchmark harness shared by bench/*.bench.ts: warm-up, several timed rounds, the best
 * (least disturbed) round reported, and ratios against a baseline measured in the same run.
 * The machine is noisy, so only ratios within one run are worth comparing.
 */
import { pathToFileURL } from 'node:url';

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
