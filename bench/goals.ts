/**
 * Machine-readable goal lines and the "Goals at a glance" table of docs/performance.md.
 *
 * Every bench states each of its goals as one line on stdout:
 *
 *     GOAL cache.redis-seq | Redis hit, sequential: earshot vs raw GET + JSON.parse | 1.17x | ≤ 1.10x | not met
 *
 * (`GOAL <id> | <what is compared> | <measured> | <goal> | met|not met|info`). The id starts with
 * the bench's name (`cache.` for cache.bench.ts). `npm run bench` collects the lines and rewrites
 * the table between `<!-- goals:start -->` and `<!-- goals:end -->`: the rows of the benches that
 * ran are replaced, the rows of the others are kept, so a partial run (`npm run bench -- cache`)
 * updates only what it measured. A `RUN` line per bench records when, on what and under which
 * load the figures were taken; it is written under the table.
 */

export type GoalVerdict = 'met' | 'not met' | 'info';
export const VERDICTS: readonly GoalVerdict[] = ['met', 'not met', 'info'];

export interface GoalLine {
  /** `<bench>.<name>`, e.g. `cache.redis-seq`; unique within a run. */
  id: string;
  /** What is compared with what, e.g. "memory hit: earshot `clone` vs BentoCache (serializing)". */
  what: string;
  /** The figure this run measured, with its unit or "x". */
  measured: string;
  /** The goal, e.g. "≤ 1.10x" or "< 50 ms"; "-" for an informational line. */
  goal: string;
  verdict: GoalVerdict;
}

export interface RunLine {
  bench: string;
  /** ISO time the bench started. */
  at: string;
  node: string;
  /** 1-minute load average at start and end, as read from os.loadavg(). */
  loadStart: string;
  loadEnd: string;
  mode: 'full' | 'smoke';
}

export const GOALS_START = '<!-- goals:start -->';
export const GOALS_END = '<!-- goals:end -->';

const ID = /^[a-z0-9-]+\.[a-z0-9.-]+$/;

/** A field must not contain the separator or a line break; `|` becomes `/`. */
function clean(field: string): string {
  return field
    .replace(/\s*\|\s*/g, ' / ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The bench a goal id belongs to (`cache` for `cache.redis-seq`). */
export function benchOf(id: string): string {
  return id.slice(0, id.indexOf('.'));
}

export function checkGoal(g: GoalLine): void {
  if (!ID.test(g.id))
    throw new Error(
      `goal id "${g.id}" is not "<bench>.<name>" in lower case (e.g. "cache.redis-seq"): rename it`,
    );
  if (!VERDICTS.includes(g.verdict))
    throw new Error(`goal ${g.id}: verdict "${String(g.verdict)}" is not one of ${VERDICTS.join(', ')}`);
}

export function formatGoalLine(g: GoalLine): string {
  checkGoal(g);
  return `GOAL ${g.id} | ${clean(g.what)} | ${clean(g.measured)} | ${clean(g.goal)} | ${g.verdict}`;
}

export function formatRunLine(r: RunLine): string {
  return `RUN ${r.bench} | ${r.at} | ${r.node} | ${r.loadStart} | ${r.loadEnd} | ${r.mode}`;
}

/** Reads the GOAL and RUN lines out of a bench's output (other lines are ignored). */
export function parseBenchOutput(text: string): { goals: GoalLine[]; runs: RunLine[] } {
  const goals: GoalLine[] = [];
  const runs: RunLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('GOAL ')) {
      const parts = line.slice(5).split(' | ');
      if (parts.length !== 5) throw new Error(`malformed goal line (want 5 fields): ${line}`);
      const [id, what, measured, goal, verdict] = parts as [string, string, string, string, string];
      const g: GoalLine = { id, what, measured, goal, verdict: verdict as GoalVerdict };
      checkGoal(g);
      goals.push(g);
    } else if (line.startsWith('RUN ')) {
      const parts = line.slice(4).split(' | ');
      if (parts.length !== 6) throw new Error(`malformed run line (want 6 fields): ${line}`);
      const [bench, at, node, loadStart, loadEnd, mode] = parts as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      runs.push({ bench, at, node, loadStart, loadEnd, mode: mode === 'smoke' ? 'smoke' : 'full' });
    }
  }
  return { goals, runs };
}

/** `met` when `measured <op> target` holds (NaN is never met). */
export function judge(measured: number, op: '<=' | '<' | '>=' | '>', target: number): GoalVerdict {
  if (!Number.isFinite(measured)) return 'not met';
  const ok =
    op === '<='
      ? measured <= target
      : op === '<'
        ? measured < target
        : op === '>='
          ? measured >= target
          : measured > target;
  return ok ? 'met' : 'not met';
}

const HEADER = ['| id | what is compared | measured | goal | verdict |', '|---|---|---|---|---|'];

interface TableRow {
  bench: string;
  cells: string;
}

function verdictCell(v: GoalVerdict): string {
  return v === 'info' ? 'info' : `**${v}**`;
}

function rowOf(g: GoalLine): TableRow {
  return {
    bench: benchOf(g.id),
    cells: `| \`${g.id}\` | ${g.what} | ${g.measured} | ${g.goal} | ${verdictCell(g.verdict)} |`,
  };
}

function runText(r: RunLine): string {
  return `- \`${r.bench}\`: ${r.at}, Node.js ${r.node}, load average ${r.loadStart} at start and ${r.loadEnd} at the end (${r.mode} run)`;
}

/**
 * Replaces the goals block of `doc` with one that holds the rows of `goals` for every bench in
 * `ran`, and keeps the rows (and run notes) of benches that did not run. Throws when the markers
 * are missing, so a page that lost them fails loudly instead of growing a second table.
 */
export function mergeGoalsTable(doc: string, goals: readonly GoalLine[], runs: readonly RunLine[]): string {
  const start = doc.indexOf(GOALS_START);
  const end = doc.indexOf(GOALS_END);
  if (start < 0 || end < start)
    throw new Error(
      `docs page has no "${GOALS_START}" ... "${GOALS_END}" block: put the markers back around the goals table`,
    );
  const ran = new Set(runs.map((r) => r.bench));
  for (const g of goals) ran.add(benchOf(g.id));
  const old = doc.slice(start + GOALS_START.length, end).split('\n');

  // Existing rows, in order, with the bench each belongs to (from the id in the first cell).
  const rows: TableRow[] = [];
  const notes = new Map<string, string>();
  for (const line of old) {
    const id = /^\| `([^`]+)` \|/.exec(line)?.[1];
    if (id !== undefined) rows.push({ bench: benchOf(id), cells: line });
    const note = /^- `([^`]+)`: /.exec(line)?.[1];
    if (note !== undefined) notes.set(note, line);
  }

  // New rows go where the bench's old rows were; benches new to the table go at the end.
  const fresh = new Map<string, TableRow[]>();
  for (const g of goals) {
    const r = rowOf(g);
    fresh.set(r.bench, [...(fresh.get(r.bench) ?? []), r]);
  }
  const out: TableRow[] = [];
  const placed = new Set<string>();
  for (const r of rows) {
    if (!ran.has(r.bench)) out.push(r);
    else if (!placed.has(r.bench)) {
      placed.add(r.bench);
      out.push(...(fresh.get(r.bench) ?? []));
    }
  }
  for (const [bench, list] of fresh) if (!placed.has(bench)) out.push(...list);

  for (const r of runs) notes.set(r.bench, runText(r));
  const benchesInTable = [...new Set(out.map((r) => r.bench))];
  const noteLines = [
    ...benchesInTable.flatMap((b) => (notes.has(b) ? [notes.get(b)!] : [])),
    ...[...notes.keys()].filter((b) => !benchesInTable.includes(b)).map((b) => notes.get(b)!),
  ];

  const block = [
    '',
    '',
    '<!-- Written by `npm run bench` from the GOAL lines the benches print (bench/goals.ts). Do not edit by hand: re-run the bench. -->',
    '',
    ...HEADER,
    ...out.map((r) => r.cells),
    '',
    'Runs these rows come from:',
    '',
    ...noteLines,
    '',
    '',
  ].join('\n');
  return doc.slice(0, start + GOALS_START.length) + block + doc.slice(end);
}
