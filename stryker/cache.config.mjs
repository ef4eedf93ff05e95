// @ts-check
/**
 * Mutation testing of the cache's pure core: keys (ids, escaping, validation), the strict JSON
 * serializer and single-flight (in-flight map, background refresh, supersede, the distributed
 * lock wait, run-and-store). Run: `npx stryker run stryker/cache.config.mjs` (or
 * `npm run mutation -- cache` where the script exists). CPU-heavy: not part of CI's default run.
 * Incremental: only mutants of changed code (or whose tests changed) run again.
 */

export const CACHE_TESTS = [
  'test/cache/keys.test.ts',
  'test/cache/serializer.test.ts',
  'test/cache/single-flight.test.ts',
  'test/cache/cache-manager.test.ts',
  'test/cache/facade.test.ts',
  'test/cache/memory.test.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'stryker/vitest.cache.config.mjs', related: false },
  mutate: ['src/cache/keys.ts', 'src/cache/serializer.ts', 'src/cache/single-flight.ts'],
  checkers: [],
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/mutation/cache-incremental.json',
  tempDirName: 'reports/mutation/.tmp-cache',
  cleanTempDir: 'always',
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 2),
  timeoutMS: 4_000,
  timeoutFactor: 1.5,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/cache.html' },
  jsonReporter: { fileName: 'reports/mutation/cache.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  ignoreStatic: true,
};
