// @ts-check
import { defineConfig } from 'vitest/config';
import { CACHE_TESTS } from './cache.config.mjs';

/** Runs only the cache area's unit tests, for its mutation run. */
export default defineConfig({
  test: {
    include: CACHE_TESTS,
    environment: 'node',
    setupFiles: ['stryker/fast-check-setup.mjs'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
