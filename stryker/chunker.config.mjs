// @ts-check
/** Mutation testing of the sentence chunker (src/pipeline/sentence-chunker.ts). */
import { areaConfig } from './base.mjs';

// The hostile suite (test/hostile/sentence-chunker.test.ts) is left out of the mutation run: its
// long property runs made one run take hours on a shared machine. The score is therefore a
// lower bound: those tests can only kill more mutants.
export const CHUNKER_TESTS = ['test/pipeline/sentence-chunker.test.ts'];

export default areaConfig({
  area: 'chunker',
  mutate: ['src/pipeline/sentence-chunker.ts'],
});
