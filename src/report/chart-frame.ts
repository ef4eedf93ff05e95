/**
 * The frame every chart shares: the root `<svg class="chart">` element that states its mark
 * count, a title that fits its width, and a text-width estimate for laying out labels.
 * @module
 */
import { el, esc } from './svg.js';

const FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif"';

/** Rough width in px of `text` at `fontSize` in the report's sans-serif font. */
export function textWidth(text: string, fontSize = 11): number {
  return text.length * fontSize * 0.6;
}

/**
 * A chart title that fits in `avail` px: long titles ("scenario_from_intended (1,200 samples)")
 * get a smaller font (down to 10 px), then are squeezed to the width rather than clipped.
 */
export function fittedTitle(title: string, x: number, avail: number): string {
  const natural = textWidth(title, 13);
  const size = natural <= avail ? 13 : Math.max(10, Math.floor((13 * avail) / natural));
  const squeeze = textWidth(title, size) > avail;
  return el(
    'text',
    {
      x,
      y: 16,
      'font-size': size,
      'font-weight': 600,
      fill: '#222',
      textLength: squeeze ? Math.floor(avail) : undefined,
      lengthAdjust: squeeze ? 'spacingAndGlyphs' : undefined,
    },
    esc(title),
  );
}

/** The root `<svg class="chart">` of a chart, stating its kind and how many marks it drew. */
export function svgRoot(
  id: string,
  title: string,
  kind: string,
  width: number,
  height: number,
  marks: number,
  body: string,
): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${esc(id)}" data-chart="${esc(kind)}" data-marks="${marks}" ` +
    `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${esc(id)}-title" ${FONT} font-size="11">` +
    `<title id="${esc(id)}-title">${esc(title)}</title>${body}</svg>`
  );
}
