/**
 * The report's charts, drawn as static SVG strings in Node: an XY chart (lines, steps, areas,
 * bars; a linear or percentile x axis; an optional right axis), a horizontal bar chart and a
 * turn waterfall. No runtime JavaScript, no fonts to load, no network.
 *
 * Every data mark carries `class="mark"` and each `<svg class="chart">` states how many it
 * drew in `data-marks`, so a browser test can check that everything rendered.
 *
 * One file per chart kind (`xy-chart.ts`, `bar-chart.ts`, `waterfall-chart.ts`) over shared
 * colours, data helpers and the SVG frame; this module gathers them.
 * @module
 */
export { type BarChartOptions, type BarDatum, barChart } from './bar-chart.js';
export { PALETTE, stageColor } from './chart-colors.js';
export { extent, thinPoints } from './chart-data.js';
export {
  type WaterfallChartOptions,
  type WaterfallRow,
  type WaterfallStep,
  waterfallChart,
} from './waterfall-chart.js';
export { type XYChartOptions, type XYSeries, xyChart } from './xy-chart.js';
