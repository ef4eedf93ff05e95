// @ts-check
import { CHUNKER_TESTS } from './chunker.config.mjs';
import { areaVitest } from './vitest.base.mjs';

export default areaVitest(CHUNKER_TESTS);
