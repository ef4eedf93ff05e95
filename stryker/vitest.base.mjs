// @ts-check
import { defineConfig } from 'vitest/config';

/** A vitest config running only `include` (one area's tests), for its mutation run. */
export function areaVitest(/** @type {string[]} */ include) {
  return defineConfig({
    test: {
      include,
      environment: 'node',
      setupFiles: ['stryker/fast-check-setup.mjs'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  });
}
