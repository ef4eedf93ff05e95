// @ts-check
/**
 * Shared StrykerJS settings of the per-area configs (stryker/<area>.config.mjs). Mutation
 * testing is CPU-heavy: run one area at a time (`npm run mutation -- perf`), never in CI's
 * default run. Incremental: only mutants of changed code (or whose tests changed) run again;
 * the incremental files and reports live under reports/mutation/ (git-ignored).
 */

/**
 * The Stryker config of one area. Its test files are not passed here: the area's vitest config
 * (`stryker/vitest.<area>.config.mjs`, built by `areaVitest` in vitest.base.mjs) runs them, and
 * imports the list from the area's config module, so there is one list.
 * @param {{ area: string, mutate: string[] }} o
 * @returns {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export function areaConfig({ area, mutate }) {
  return {
    testRunner: 'vitest',
    plugins: ['@stryker-mutator/vitest-runner'],
    vitest: { configFile: `stryker/vitest.${area}.config.mjs`, related: false },
    // the vitest config lists the area's test files; this keeps Stryker from guessing
    mutate,
    checkers: [],
    coverageAnalysis: 'perTest',
    incremental: true,
    incrementalFile: `reports/mutation/${area}-incremental.json`,
    tempDirName: `reports/mutation/.tmp-${area}`,
    cleanTempDir: 'always',
    concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 2),
    // a mutant that loops forever is detected by its timeout: keep that wait short
    timeoutMS: 4_000,
    timeoutFactor: 1.5,
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: `reports/mutation/${area}.html` },
    jsonReporter: { fileName: `reports/mutation/${area}.json` },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    thresholds: { high: 90, low: 80, break: null },
    ignoreStatic: true,
  };
}
