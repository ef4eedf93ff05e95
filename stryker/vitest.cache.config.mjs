// @ts-check
/** Runs only the cache area's unit tests, for its mutation run. */
import { CACHE_TESTS } from './cache.config.mjs';
import { areaVitest } from './vitest.base.mjs';

export default areaVitest(CACHE_TESTS);
