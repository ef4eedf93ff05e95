/**
 * Bounded iteration over the pages of a list call.
 * @module
 */
import { z } from 'zod';
import { InvalidArgumentError, ResponseValidationError } from '../errors.js';
import { throwIfAborted } from '../internal/abort.js';
import { OP } from '../perf/operations.js';
import type { Page } from './schemas.js';

/** Options of {@link paginate} and of the clients' `pages()` method. */
export const pageIterationOptionsSchema = z
  .object({
    /** Stop after this many pages. Default 10, at most 10 000: an iteration is always bounded. */
    maxPages: z.number().int().min(1).max(10_000).default(10),
    /** Stop once this many items were yielded (the last page is asked for only what is left). */
    maxItems: z.number().int().min(1).optional(),
    /** Cancels the iteration (the page in flight rejects with AbortedError). */
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal').optional(),
  })
  .strict();
export type PageIterationOptions = z.input<typeof pageIterationOptionsSchema>;

/** A filter that takes `limit` and `cursor`, as every list call does. */
export interface PaginatedFilter {
  limit?: number | undefined;
  cursor?: string | undefined;
}

/**
 * Yields the pages of a list call one by one, following `nextCursor`, and stops at the last
 * page, after `maxPages` pages (default 10) or once `maxItems` items were yielded.
 *
 * @example
 * ```ts
 * for await (const page of paginate((f, o) => api.listLoads(f, o), { status: 'delayed' }, { maxPages: 3 })) {
 *   for (const load of page.items) console.log(load.id);
 * }
 * ```
 */
export async function* paginate<F extends PaginatedFilter, T>(
  list: (filter: F, options: { signal?: AbortSignal }) => Promise<Page<T>>,
  filter: F,
  options: PageIterationOptions = {},
): AsyncGenerator<Page<T>, void, undefined> {
  const parsed = pageIterationOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InvalidArgumentError(`Invalid page iteration options (${why}).`);
  }
  const { maxPages, maxItems, signal } = parsed.data;
  const seen = new Set<string>();
  let cursor = filter.cursor;
  let yielded = 0;
  for (let pages = 0; pages < maxPages; pages++) {
    throwIfAborted(signal, 'Page iteration');
    let limit = filter.limit;
    if (maxItems !== undefined) limit = Math.min(limit ?? maxItems, maxItems - yielded);
    const pageFilter: F = { ...filter };
    if (cursor === undefined) delete pageFilter.cursor;
    else pageFilter.cursor = cursor;
    if (limit !== undefined) pageFilter.limit = limit;
    const page = await list(pageFilter, signal ? { signal } : {});
    yield page;
    yielded += page.items.length;
    if (page.nextCursor === null || (maxItems !== undefined && yielded >= maxItems)) return;
    if (seen.has(page.nextCursor)) {
      // A server that hands back a cursor twice would loop forever; say so instead.
      throw new ResponseValidationError(
        'The list returned a cursor it had already returned',
        [{ path: 'nextCursor', message: 'repeats an earlier cursor' }],
        { provider: OP.companyApi, retryable: false },
      );
    }
    seen.add(page.nextCursor);
    cursor = page.nextCursor;
  }
}
