/**
 * One list of operation names (issue 13): every built-in name's string literal lives in
 * src/perf/operations.ts, and every table keyed by operation name (OpenTelemetry rules, report
 * order, CLI target mapping) is keyed by those constants, so a renamed or misspelled name cannot
 * silently start a new series or miss its instrument.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OTEL_RULES } from '../../src/exporters/otel.js';
import { sortStages } from '../../src/loadtest/summarize.js';
import { OP } from '../../src/perf/operations.js';

const SRC = join(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC)
  .filter((f) => !f.endsWith(join('perf', 'operations.ts')))
  .map((f) => ({ file: relative(SRC, f), text: readFileSync(f, 'utf8') }));

const names = Object.values(OP);
/** Names that are also ordinary words elsewhere (stage, namespace or deadline names). */
const SHORT = new Set<string>([
  OP.stt,
  OP.llm,
  OP.tts,
  OP.search,
  OP.embed,
  OP.e2e,
  OP.turn,
  OP.prefetch,
  OP.preemptive,
]);

/** `file:name` pairs where the literal is not an operation name. */
const ALLOWED = new Set([
  // the cache namespace named like the operation (a namespace, not a series)
  'cache/tier-kit/behaviour-suite.ts:company_api',
]);

describe('built-in operation names', () => {
  it('are written as string literals only in src/perf/operations.ts', () => {
    const offenders: string[] = [];
    for (const name of names) {
      // a distinctive name must not appear as a quoted literal anywhere else; a short one must not
      // be passed as a literal to a recording / reading call
      const pattern = SHORT.has(name)
        ? new RegExp(
            `\\.(record|track|trackSync|stats|span|startSpan|timer|histogram)\\(\\s*['"\`]${name}['"\`]`,
          )
        : new RegExp(`['"\`]${name}['"\`]`);
      for (const { file, text } of files) {
        for (const [i, line] of text.split('\n').entries()) {
          const code = line.replace(/^\s*(\/\*\*|\*|\/\/).*$/, ''); // doc comments may name operations
          if (pattern.test(code) && !ALLOWED.has(`${file}:${name}`))
            offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('are unique', () => {
    expect(new Set(names).size).toBe(names.length);
  });

  it('key every default OpenTelemetry rule (a rule for a name nobody records is dead)', () => {
    const builtIn = new Set<string>(names);
    expect(Object.keys(DEFAULT_OTEL_RULES).filter((k) => !builtIn.has(k))).toEqual([]);
    // the embedder records OP.embed; its samples must reach the GenAI embeddings instrument
    expect(DEFAULT_OTEL_RULES[OP.embed]?.attributes).toEqual({ 'gen_ai.operation.name': 'embeddings' });
    expect(DEFAULT_OTEL_RULES[OP.timeToAnswerAudio]?.instrument).toBe('earshot.voice.time_to_answer_audio');
  });

  it('all have a place in the report order, before names earshot does not know', () => {
    // 'a_own' sorts before every built-in name alphabetically: only a placed name comes first
    const unplaced = names.filter(
      (n) => n !== OP.llmTpot && n !== OP.preemptive && sortStages(['a_own_operation', n])[0] !== n,
    );
    expect(unplaced).toEqual([]);
  });
});
