// @ts-check
/** Mutation testing of the sentence chunker (src/pipeline/sentence-chunker.ts). */
import { areaConfig } from './base.mjs';

export const CHUNKER_TESTS = [
  'test/pipeline/sentence-chunker.test.ts',
  'test/hostile/sentence-chunker.test.ts',
];

export default areaConfig({
  area: 'chunker',
  mutate: ['src/pipeline/sentence-chunker.ts'],
  tests: CHUNKER_TESTS,
});
