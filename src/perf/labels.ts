import { InvalidArgumentError } from '../errors.js';

/** Label values as callers pass them; stored as strings. */
export type LabelValue = string | number | boolean;
/** Labels of a series, e.g. `{ provider: 'deepgram', outcome: 'ok' }`. */
export type Labels = Readonly<Record<string, LabelValue>>;
/** Labels after normalization: sorted keys, string values. */
export type NormalizedLabels = Readonly<Record<string, string>>;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Longest label value kept. */
export const MAX_LABEL_VALUE_LENGTH = 256;
/** Longest operation name accepted. */
export const MAX_OPERATION_NAME_LENGTH = 128;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
const CONTROL = /[\u0000-\u001f\u007f]/;

// Names seen valid before: label sets repeat, so validation is paid once per name.
const validLabelNames = new Set<string>();
const validOperationNames = new Set<string>();

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
  if (validOperationNames.size < 10_000) validOperationNames.add(name);
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

/**
 * The series key of `name` with `labels` (plus `extraKey=extraValue` unless `labels` has that
 * key): `name{a="1",b="2"}` with sorted keys and escaped values, so distinct label sets never
 * collide. Validates label names and values. Allocates only the key string: this runs on
 * every labelled record.
 */
export function seriesKey(
  name: string,
  labels: Labels | undefined,
  extraKey?: string,
  extraValue?: string,
): string {
  const keys = labels ? Object.keys(labels) : [];
  if (extraKey !== undefined && !(labels && Object.hasOwn(labels, extraKey))) keys.push(extraKey);
  if (keys.length === 0) return name;
  if (keys.length > 1) keys.sort();
  let key = `${name}{`;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (!validLabelNames.has(k)) {
      if (!LABEL_NAME.test(k)) {
        throw new InvalidArgumentError(
          `Label name "${k}" is invalid: use letters, digits and _, not starting with a digit.`,
        );
      }
      if (validLabelNames.size < 10_000) validLabelNames.add(k);
    }
    const raw = labels !== undefined && Object.hasOwn(labels, k) ? labels[k] : extraValue;
    const v = typeof raw === 'string' && raw.length <= MAX_LABEL_VALUE_LENGTH ? raw : labelValue(k, raw);
    const escaped = v.includes('"') || v.includes('\\') ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"') : v;
    key += `${i === 0 ? '' : ','}${k}="${escaped}"`;
  }
  return `${key}}`;
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
    if (labels[k] !== String(filter[k])) return false;
  }
  return true;
}
