/**
 * Reports of load runs: a self-contained HTML page with static SVG charts, and a text table
 * for terminals and CI logs.
 * @module
 */
export {
  type BarChartOptions,
  type BarDatum,
  barChart,
  PALETTE,
  stageColor,
  type WaterfallChartOptions,
  type WaterfallRow,
  type WaterfallStep,
  waterfallChart,
  type XYChartOptions,
  type XYSeries,
  xyChart,
} from './charts.js';
export { formatCount, formatMs, formatPercent, formatSeconds, formatTarget } from './format.js';
export { type HtmlReportOptions, renderHtmlReport } from './html-report.js';
export {
  formatTick,
  linearScale,
  niceStep,
  niceTicks,
  percentileTicks,
  percentileToAxis,
  type Scale,
} from './scales.js';
export { formatStageTable, formatTextReport, type TextStyle } from './text-report.js';
