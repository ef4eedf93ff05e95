// @ts-check

import { PERF_TESTS } from './perf.config.mjs';
import { areaVitest } from './vitest.base.mjs';

export default areaVitest(PERF_TESTS);
