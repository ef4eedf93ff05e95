// @ts-check
/**
 * Mutation testing of the cache's pure core: keys (ids, escaping, validation), the strict JSON
 * serializer and single-flight (in-flight map, background refresh, supersede, the distributed
 * lock wait, run-and-store). Run: `npx stryker run stryker/cache.config.mjs` (or
 * `npm run mutation -- cache` where the script exists). CPU-heavy: not part of CI's default run.
 * Incremental: only mutants of changed code (or whose tests changed) run again.
 */
import { areaConfig } from './base.mjs';

export const CACHE_TESTS = [
  'test/cache/keys.test.ts',
  'test/cache/serializer.test.ts',
  'test/cache/single-flight.test.ts',
  'test/cache/cache-manager.test.ts',
  'test/cache/facade.test.ts',
  'test/cache/memory.test.ts',
];

export default areaConfig({
  area: 'cache',
  mutate: ['src/cache/keys.ts', 'src/cache/serializer.ts', 'src/cache/single-flight.ts'],
});
