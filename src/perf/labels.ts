import { InvalidArgumentError } from '../errors.js';

/** Label values as callers pass them; stored as strings. */
export type LabelValue = string | number | boolean;
/** Labels of a series, e.g. `{ provider: 'deepgram', outcome: 'ok' }`. */
export type Labels = Readonly<Record<string, LabelValue>>;
/** Labels after normalization: sorted keys, string values. */
export type NormalizedLabels = Readonly<Record<string, string>>;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Longest label value kept. */
const MAX_LABEL_VALUE_LENGTH = 256;
/** Longest label name accepted. */
const MAX_LABEL_NAME_LENGTH = 64;
/** Longest operation name accepted. */
const MAX_OPERATION_NAME_LENGTH = 128;
/** Most entries each module-level "seen valid" cache keeps (bounded memory, whatever the input). */
export const VALID_NAME_CACHE_SIZE = 1000;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
const CONTROL = /[\u0000-\u001f\u007f]/;

// Names seen valid before: label sets repeat, so validation is paid once per name. Both caches
// are bounded in entries and (through the length limits) in bytes: at most ~0.3 MB together.
const validLabelNames = new Set<string>();
const validOperationNames = new Set<string>();

/** @internal sizes of the module-level caches, for memory-bound tests. */
export function labelCacheSizes(): { labelNames: number; operationNames: number } {
  return { labelNames: validLabelNames.size, operationNames: validOperationNames.size };
}

/** Throws `InvalidArgumentError` unless `name` is a usable operation name. */
export function validateOperationName(name: string): void {
  if (validOperationNames.has(name)) return;
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_OPERATION_NAME_LENGTH ||
    CONTROL.test(name)
  ) {
    throw new InvalidArgumentError(
      `Operation name must be a non-empty string of at most ${MAX_OPERATION_NAME_LENGTH} characters without control characters, got ${JSON.stringify(String(name)).slice(0, 60)}.`,
    );
  }
  if (validOperationNames.size < VALID_NAME_CACHE_SIZE) validOperationNames.add(name);
}

/** Throws `InvalidArgumentError` unless `k` is a usable label name. */
function validateLabelName(k: string): void {
  if (validLabelNames.has(k)) return;
  if (k.length > MAX_LABEL_NAME_LENGTH) {
    throw new InvalidArgumentError(
      `Label name "${k.slice(0, 40)}…" is longer than ${MAX_LABEL_NAME_LENGTH} characters.`,
    );
  }
  if (!LABEL_NAME.test(k)) {
    throw new InvalidArgumentError(
      `Label name "${k}" is invalid: use letters, digits and _, not starting with a digit.`,
    );
  }
  if (k.startsWith('__')) {
    throw new InvalidArgumentError(
      `Label name "${k}" is reserved: names starting with "__" are internal (Prometheus rule); rename the label.`,
    );
  }
  if (validLabelNames.size < VALID_NAME_CACHE_SIZE) validLabelNames.add(k);
}

function labelValue(key: string, value: unknown): string {
  if (typeof value === 'string') {
    if (value.length > MAX_LABEL_VALUE_LENGTH) {
      throw new InvalidArgumentError(`Label "${key}" is longer than ${MAX_LABEL_VALUE_LENGTH} characters.`);
    }
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new InvalidArgumentError(`Label "${key}" must be a string, number or boolean, got ${typeof value}.`);
}

/** `name` with `\` and `{` escaped, so the first bare `{` of a key always starts its labels. */
function escapeName(name: string): string {
  return name.includes('{') || name.includes('\\') ? name.replace(/[\\{]/g, (c) => `\\${c}`) : name;
}

/**
 * The series key of `name` with `labels` (plus `extraKey=extraValue` unless `labels` has that
 * key): `name{a="1",b="2"}` with sorted keys and escaped values. The name's `\` and `{` are
 * escaped too, so distinct (name, labels) pairs never share a key, whatever characters the
 * name holds. Validates label names and values.
 */
export function seriesKey(
  name: string,
  labels: Labels | undefined,
  extraKey?: string,
  extraValue?: string,
): string {
  const keys = labels ? Object.keys(labels) : [];
  if (extraKey !== undefined && !(labels && Object.hasOwn(labels, extraKey))) keys.push(extraKey);
  const escapedName = escapeName(name);
  if (keys.length === 0) return escapedName;
  if (keys.length > 1) keys.sort();
  let key = `${escapedName}{`;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    validateLabelName(k);
    const raw = labels !== undefined && Object.hasOwn(labels, k) ? labels[k] : extraValue;
    const v = typeof raw === 'string' && raw.length <= MAX_LABEL_VALUE_LENGTH ? raw : labelValue(k, raw);
    const escaped = v.includes('"') || v.includes('\\') ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"') : v;
    key += `${i === 0 ? '' : ','}${k}="${escaped}"`;
  }
  return `${key}}`;
}

/**
 * A cheap lookup key for (`labels`, `outcome`) in the labels' own key order, or `undefined`
 * when a value is not a plain string/number/boolean (the caller then takes the validating
 * path). Unambiguous: label names cannot hold `=` or `\u0000`, values are length-prefixed.
 * Two orders of the same labels give two lookup keys for the same series, which is fine for a
 * cache. @internal
 */
export function fastLabelKey(labels: Labels, outcome: string | undefined): string | undefined {
  let key = outcome === undefined ? '' : `\u0000${outcome}`;
  for (const k in labels) {
    if (!Object.hasOwn(labels, k)) continue;
    const v = labels[k];
    const t = typeof v;
    if (t === 'string') key += `\u0000${k}=${(v as string).length}:${v as string}`;
    else if (t === 'number' || t === 'boolean') key += `\u0000${k}=#${String(v)}`;
    else return undefined;
  }
  return key;
}

/** Labels with sorted keys and string values (call after {@link seriesKey} validated them). */
export function normalizeLabels(
  labels: Labels | undefined,
  extraKey?: string,
  extraValue?: string,
): NormalizedLabels {
  const out: Record<string, string> = {};
  const keys = labels ? Object.keys(labels) : [];
  if (extraKey !== undefined && !(labels && Object.hasOwn(labels, extraKey))) keys.push(extraKey);
  for (const k of keys.sort()) {
    out[k] = labels !== undefined && Object.hasOwn(labels, k) ? String(labels[k]) : extraValue!;
  }
  return Object.freeze(out);
}

/** True when every label in `filter` is present in `labels` with the same (stringified) value. */
export function matchesLabels(labels: NormalizedLabels, filter: Labels | undefined): boolean {
  if (!filter) return true;
  for (const k of Object.keys(filter)) {
    if (!Object.hasOwn(labels, k) || labels[k] !== String(filter[k])) return false;
  }
  return true;
}
