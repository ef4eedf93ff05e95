// @ts-check
/**
 * Mutation testing of src/perf/: the monitor and the modules split out of it (series registry,
 * targets, encoded series, the tracked decorator), its series, histograms, labels, listeners,
 * report and spans. Not mutated: `alarms.ts` (latency alarms, tested in test/alarms/),
 * `operations.ts` (a table of name constants), `types.ts`, `default.ts` and `index.ts`
 * (declarations and re-exports).
 */
import { areaConfig } from './base.mjs';

export const PERF_TESTS = [
  'test/perf/monitor.test.ts',
  'test/perf/hostile-monitor.test.ts',
  'test/perf/targets.test.ts',
  'test/perf/series.test.ts',
  'test/perf/spans.test.ts',
  'test/perf/units.test.ts',
  'test/perf/decorators.test.ts',
  'test/perf/series-registry.test.ts',
  'test/perf/tracked-decorator.test.ts',
];

export default areaConfig({
  area: 'perf',
  mutate: [
    'src/perf/monitor.ts',
    'src/perf/series.ts',
    'src/perf/series-registry.ts',
    'src/perf/targets.ts',
    'src/perf/encoded-series.ts',
    'src/perf/histogram.ts',
    'src/perf/labels.ts',
    'src/perf/listeners.ts',
    'src/perf/report.ts',
    'src/perf/span.ts',
    'src/perf/tracked-decorator.ts',
    'src/perf/decorators.ts',
  ],
});
