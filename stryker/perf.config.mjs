// @ts-check
/** Mutation testing of src/perf/ (the monitor, its series, histograms, labels, targets). */
import { areaConfig } from './base.mjs';

export const PERF_TESTS = [
  'test/perf/monitor.test.ts',
  'test/perf/hostile-monitor.test.ts',
  'test/perf/targets.test.ts',
  'test/perf/series.test.ts',
  'test/perf/spans.test.ts',
];

export default areaConfig({
  area: 'perf',
  mutate: [
    'src/perf/monitor.ts',
    'src/perf/series.ts',
    'src/perf/histogram.ts',
    'src/perf/labels.ts',
    'src/perf/listeners.ts',
    'src/perf/report.ts',
    'src/perf/span.ts',
  ],
  tests: PERF_TESTS,
});
