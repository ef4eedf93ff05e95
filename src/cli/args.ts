/**
 * Command-line parsing on Node's own `util.parseArgs` (strict: unknown flags are errors), with
 * typed value parsers that turn bad values into `InvalidArgumentError`s saying what to type.
 * @module
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import { parseDuration, parseRate } from '../loadtest/options.js';

/** One flag of a command. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder in help, e.g. `N`, `FILE`, `5m`. */
  value?: string;
  description: string;
}

/** A command: its flags, positionals and help. */
export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Positional arguments accepted (names, for help). */
  positionals?: readonly string[];
  examples?: readonly string[];
}

/** Parsed values: strings, booleans, or string lists for `multiple` flags. */
export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `argv` for `spec`.
 * @throws InvalidArgumentError for an unknown flag, a missing value or too many positionals.
 */
export function parseCommand(
  spec: CommandSpec,
  argv: readonly string[],
): { values: ParsedValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: { values: ParsedValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true }) as {
      values: ParsedValues;
      positionals: string[];
    };
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    throw new InvalidArgumentError(`${msg} Run "earshot ${spec.name} --help" for the flags it takes.`, {
      cause: err,
    });
  }
  const max = spec.positionals?.length ?? 0;
  if (parsed.positionals.length > max) {
    throw new InvalidArgumentError(
      `Unexpected argument "${parsed.positionals[max]}". Run "earshot ${spec.name} --help" for usage.`,
    );
  }
  return parsed;
}

/** Help text of a command, generated from its spec (so help and flags cannot drift apart). */
export function commandHelp(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`;
    return [left, `${f.description}${f.multiple ? ' (repeatable)' : ''}`] as const;
  });
  const w = Math.min(32, Math.max(...rows.map(([l]) => l.length)));
  const lines = [`earshot ${spec.name}: ${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Options:'];
  for (const [l, r] of rows) lines.push(`  ${l.padEnd(w)}  ${r}`);
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** A string flag's value (the last one when repeated). */
export function str(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v[v.length - 1];
  return typeof v === 'string' ? v : undefined;
}

/** Every value of a repeatable flag. */
function list(values: ParsedValues, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v;
  return typeof v === 'string' ? [v] : [];
}

/** A boolean flag. */
export function bool(values: ParsedValues, name: string): boolean {
  return values[name] === true;
}

/** An integer flag within [min, max]. */
export function int(
  values: ParsedValues,
  name: string,
  range: { min: number; max: number },
): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw new InvalidArgumentError(
      `--${name} must be a whole number from ${range.min} to ${range.max}, got "${raw}".`,
    );
  }
  return n;
}

/** A number flag within [min, max]. */
export function num(
  values: ParsedValues,
  name: string,
  range: { min: number; max: number; exclusiveMin?: boolean },
): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const low = range.exclusiveMin ? n > range.min : n >= range.min;
  if (raw.trim() === '' || !Number.isFinite(n) || !low || n > range.max) {
    throw new InvalidArgumentError(
      `--${name} must be a number ${range.exclusiveMin ? 'above' : 'from'} ${range.min}${range.exclusiveMin ? ' and at most' : ' to'} ${range.max}, got "${raw}".`,
    );
  }
  return n;
}

/** A duration flag (`30s`, `5m`, `500ms`; a bare number is seconds), in ms. */
export function duration(values: ParsedValues, name: string): number | undefined {
  const raw = str(values, name);
  return raw === undefined ? undefined : parseDuration(raw, `--${name}`);
}

/** A rate flag (`20/s`, `1200/m`), per second. */
export function rate(values: ParsedValues, name: string): number | undefined {
  const raw = str(values, name);
  return raw === undefined ? undefined : parseRate(raw);
}

/**
 * `name=number` pairs of a repeatable flag (`--target stt=100`, `--scenario loads=3`).
 * @throws InvalidArgumentError for a malformed pair.
 */
export function pairs(values: ParsedValues, name: string, what: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const raw of list(values, name)) {
    const m = /^\s*([A-Za-z_][\w:.-]*)\s*=\s*([0-9]*\.?[0-9]+)\s*$/.exec(raw);
    const v = m ? Number(m[2]) : Number.NaN;
    if (!m || !(v > 0)) {
      throw new InvalidArgumentError(
        `--${name} takes ${what}=<positive number>, e.g. --${name} ${name === 'target' ? 'stt=100' : 'loads=3'}; got "${raw}".`,
      );
    }
    out[m[1]!] = v;
  }
  return out;
}

/** `Name: value` headers of a repeatable flag. */
export function headers(values: ParsedValues, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of list(values, name)) {
    const i = raw.indexOf(':');
    if (i <= 0) throw new InvalidArgumentError(`--${name} takes "Name: value", got "${raw}".`);
    out[raw.slice(0, i).trim()] = raw.slice(i + 1).trim();
  }
  return out;
}

/** A think time: `0`, `500ms`, `1s`, or a range `1s-3s`. */
export function thinkTime(values: ParsedValues, name: string): number | [number, number] | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  if (raw.trim() === '0') return 0;
  const parts = raw.split('-');
  if (parts.length === 2) {
    const a = parseDuration(parts[0]!, `--${name}`);
    const b = parseDuration(parts[1]!, `--${name}`);
    if (a > b) throw new InvalidArgumentError(`--${name} range must go from low to high, got "${raw}".`);
    return [a, b];
  }
  return parseDuration(raw, `--${name}`);
}
