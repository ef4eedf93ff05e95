/**
 * Runs every bench/*.bench.ts in turn and writes the "Goals at a glance" table of
 * docs/performance.md from the GOAL lines they print (see bench/goals.ts).
 *
 *   npm run bench                     all benches, full counts; rewrites the goals table
 *   npm run bench -- cache fleet      only those benches; rewrites only their rows
 *   npm run bench -- --smoke          tiny counts (CI: proves the benches run); never touches docs
 *   npm run bench -- --no-docs        full counts, docs left alone
 *   npm run bench -- --from out.txt   no benchmark: rebuild the table from a saved run's output
 *   --docs <path>                     the page to write (default docs/performance.md)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  benchOf,
  formatRunLine,
  type GoalLine,
  mergeGoalsTable,
  parseBenchOutput,
  type RunLine,
} from './goals.js';
import { smokeFromArgv, takeGoals } from './harness.js';

const args = process.argv.slice(2);
const smoke = smokeFromArgv();
const fromIndex = args.indexOf('--from');
const fromFile = fromIndex >= 0 ? args[fromIndex + 1] : undefined;
if (fromIndex >= 0 && fromFile === undefined)
  throw new Error('--from needs the path of a saved bench output');
const writeDocs = !smoke && !args.includes('--no-docs');
const dir = import.meta.dirname;
const docsIndex = args.indexOf('--docs');
const docsPath = docsIndex >= 0 ? (args[docsIndex + 1] ?? '') : join(dir, '..', 'docs', 'performance.md');

function writeTable(goals: readonly GoalLine[], runs: readonly RunLine[]): void {
  const fullRuns = runs.filter((r) => r.mode === 'full');
  const fullBenches = new Set(fullRuns.map((r) => r.bench));
  const kept = goals.filter((g) => fullBenches.has(benchOf(g.id)));
  if (fullRuns.length === 0) {
    console.log(`\n(no full bench run: ${docsPath} left alone)`);
    return;
  }
  writeFileSync(docsPath, mergeGoalsTable(readFileSync(docsPath, 'utf8'), kept, fullRuns));
  console.log(
    `\nwrote ${kept.length} goal row(s) of ${[...fullBenches].join(', ')} to ${docsPath} (Goals at a glance)`,
  );
}

if (fromFile !== undefined) {
  const { goals, runs } = parseBenchOutput(readFileSync(fromFile, 'utf8'));
  writeTable(goals, runs);
  process.exit(0);
}

const only = args.filter(
  (a, i) => !a.startsWith('--') && args[i - 1] !== '--from' && args[i - 1] !== '--docs',
);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
console.log(
  `# earshot benchmarks (${smoke ? 'smoke' : 'full'}) — node ${process.version}, ${new Date().toISOString()}`,
);
const load = () => loadavg()[0]!.toFixed(2);

/**
 * Tees stdout while a bench runs, so GOAL lines count however they were printed (`goal()` from
 * the harness, or a bench's own `console.log`): the table holds exactly what the output says.
 */
function captureStdout(): { text(): string; stop(): void } {
  const chunks: string[] = [];
  const original = process.stdout.write;
  const stdout = process.stdout;
  stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (original as (this: typeof stdout, ...a: unknown[]) => boolean).call(stdout, chunk, ...rest);
  }) as typeof stdout.write;
  return {
    text: () => chunks.join(''),
    stop: () => {
      stdout.write = original;
    },
  };
}
const goals: GoalLine[] = [];
const runs: RunLine[] = [];
for (const f of files) {
  const bench = f.slice(0, -'.bench.ts'.length);
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const loadStart = load();
  console.log(`\n## ${f} (load average ${loadStart})`);
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as {
    run?: (o: { smoke: boolean }) => Promise<unknown>;
  };
  if (typeof mod.run !== 'function') throw new Error(`${f} does not export run({ smoke })`);
  const printed = captureStdout();
  try {
    await mod.run({ smoke });
  } finally {
    printed.stop();
  }
  takeGoals(); // goal() printed its lines too: the captured output is the one source
  for (const g of parseBenchOutput(printed.text()).goals) {
    if (benchOf(g.id) !== bench)
      throw new Error(`${f} stated goal "${g.id}": ids of this bench must start with "${bench}."`);
    goals.push(g);
  }
  const run: RunLine = {
    bench,
    at,
    node: process.version,
    loadStart,
    loadEnd: load(),
    mode: smoke ? 'smoke' : 'full',
  };
  runs.push(run);
  console.log(formatRunLine(run));
  console.log(`(${goals.filter((g) => benchOf(g.id) === bench).length} goal line(s) collected from ${f})`);
}
if (writeDocs) writeTable(goals, runs);
// Some benches leave sockets or timers of the peer libraries behind; the run is over.
process.exit(0);
