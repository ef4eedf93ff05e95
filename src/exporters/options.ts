import type { z } from 'zod';
import { toConfigIssues } from '../config/define.js';
import { ConfigError } from '../errors.js';

/**
 * Parses an options object with its zod schema; on failure throws a `ConfigError` that lists
 * every bad field, with `what` (e.g. `PrometheusExporter options`) as its source.
 * @internal
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new ConfigError(toConfigIssues(result.error), { source: what });
}
