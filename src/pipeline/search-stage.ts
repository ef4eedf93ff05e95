/**
 * The document-search stage: up front in `searchMode: 'context'`, or inside a tool through
 * the tool context's `search` capability. Timed as `search`, cached when search caching is on.
 * @module
 */
import { raceAbort } from '../internal/abort.js';
import { OP } from '../perf/operations.js';
import { searchCacheKey } from './cache.js';
import type { DocumentSearch, SearchOptions, SearchResult } from './contracts.js';
import { runStage } from './run-stage.js';
import { abortReason } from './scope.js';
import type { WaitedOn } from './speech-queue.js';
import type { TurnState } from './turn-state.js';

/**
 * Runs one search as a stage of the turn. `options.signal`, when it is not the turn's (a
 * tool's scope), bounds the search too.
 */
export function runSearch(
  state: TurnState,
  search: DocumentSearch,
  query: string,
  options: SearchOptions,
  waitedOn: WaitedOn | undefined,
): Promise<SearchResult[]> {
  const provider = search.provider;
  const cacheConfig = state.pipeline.searchCache;
  const key =
    cacheConfig && state.pipeline.store
      ? searchCacheKey({
          provider,
          model: search.model,
          query,
          topK: options.topK ?? 5,
          namespace: options.namespace,
          filter: options.filter,
        })
      : undefined;
  let fromCache = false;
  return runStage<DocumentSearch, SearchResult[]>(state, {
    operation: OP.search,
    stage: search,
    waitedOn,
    parentSignal: options.signal,
    deadline: { ms: state.options.deadlines.search, option: 'search', what: 'Document search' },
    call: async (attempt) => {
      if (cacheConfig && key) {
        const hit = await state.cacheGet(key, cacheConfig.namespace, attempt.signal);
        if (Array.isArray(hit)) {
          fromCache = true;
          attempt.begin().cached = true;
          return hit as SearchResult[];
        }
      }
      return raceAbort(
        search.search(query, { ...options, signal: attempt.signal }),
        attempt.signal,
        abortReason,
      );
    },
    afterSuccess: async (results, attempt) => {
      if (cacheConfig && key && !fromCache)
        await state.cacheSet(key, results, cacheConfig.namespace, cacheConfig.ttlSeconds, attempt.signal);
    },
  });
}

/** Search results as a system message for `searchMode: 'context'`. */
export function formatSearchContext(results: readonly SearchResult[]): string {
  if (results.length === 0) return 'No company documents matched the question.';
  const lines = results.map(
    (result, i) => `[${i + 1}] ${(result.text ?? JSON.stringify(result.metadata ?? {})).slice(0, 1200)}`,
  );
  return `Relevant company documents (use them if they answer the question):\n${lines.join('\n')}`;
}
