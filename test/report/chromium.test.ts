/**
 * The HTML report in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * it loads without console errors or network requests, every chart drew its marks, the table
 * shows the numbers of the JSON, and screenshots are taken from a real demo run (written to docs/
 * with EARSHOT_UPDATE_SCREENSHOTS=1).
 * Skips loudly without Chromium; fails under CI=true.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { parseSavedRun, type SavedRun } from '../../src/loadtest/index.js';
import { formatCount, formatMs, formatPercent, renderHtmlReport } from '../../src/report/index.js';
import { openFixture } from './fixtures.js';

const CANDIDATES = [process.env.EARSHOT_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
  (p): p is string => typeof p === 'string' && p.length > 0,
);
const chromiumPath = CANDIDATES.find((p) => existsSync(p));
const inCi = process.env.CI === 'true';
if (!chromiumPath && !inCi) {
  console.warn(
    '\n⚠️  SKIPPING the Chromium report tests: no Chromium found (looked at ' +
      `${CANDIDATES.join(', ')}). Install it with: apt-get install -y chromium\n`,
  );
}

// The screenshots in docs/ are refreshed with EARSHOT_UPDATE_SCREENSHOTS=1 npx vitest run
// test/report; an ordinary run writes them to a temporary folder, so `npm test` leaves the work
// tree clean.
const SHOT_DIR =
  process.env.EARSHOT_UPDATE_SCREENSHOTS === '1'
    ? join(import.meta.dirname, '..', '..', 'docs')
    : join(tmpdir(), `earshot-screenshots-${process.pid}`);
const SCREENSHOT = join(SHOT_DIR, 'report-screenshot.png');
const WATERFALL_SHOT = join(SHOT_DIR, 'report-waterfall.png');

interface PageCheck {
  problems: string[];
  /** Page wider than the viewport, chart text outside its chart or over other text. */
  layout: string[];
  charts: { id: string; declared: number; marks: number; drawn: number }[];
  table: { stage: string; field: string; value: string; text: string }[];
}

describe.skipIf(!chromiumPath && !inCi)('the HTML report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let demoRun: SavedRun;
  let demoHtml: string;

  beforeAll(async () => {
    if (!chromiumPath)
      throw new Error(`CI=true but no Chromium at ${CANDIDATES.join(', ')}: install the chromium package.`);
    dir = await mkdtemp(join(tmpdir(), 'earshot-chromium-'));
    // A real demo run through the CLI code (in-process, so no extra node startup).
    const sink = new PassThrough();
    sink.resume();
    const code = await runCli(
      ['demo', '--turns', '24', '--quiet', '--out', 'run.json', '--html', 'report.html'],
      {
        streams: { stdout: sink, stderr: sink, env: {} },
        signal: new AbortController().signal,
        cwd: dir,
        version: '0.0.0-test',
      },
    );
    expect(code).toBe(0);
    demoRun = parseSavedRun(JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')));
    demoHtml = join(dir, 'report.html');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function check(file: string, screenshot?: string, waterfallShot?: string): Promise<PageCheck> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 }, deviceScaleFactor: 1 });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:'))
        problems.push(`network request: ${r.url()}`);
    });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((svg) => {
        const marks = Array.from(svg.querySelectorAll('.mark')) as SVGGraphicsElement[];
        const drawn = marks.filter((m) => {
          const b = m.getBBox();
          const r = m.getBoundingClientRect();
          return (b.width > 0 || b.height > 0) && r.width + r.height > 0;
        }).length;
        return { id: svg.id, declared: Number(svg.getAttribute('data-marks')), marks: marks.length, drawn };
      }),
    );
    const table = await page.$$eval('#stage-table td[data-field]', (tds) =>
      tds.map((td) => ({
        stage: td.getAttribute('data-stage') ?? '',
        field: td.getAttribute('data-field') ?? '',
        value: td.getAttribute('data-value') ?? '',
        text: (td.textContent ?? '').trim(),
      })),
    );
    const layout = await page.evaluate(() => {
      const out: string[] = [];
      const doc = document.documentElement;
      if (doc.scrollWidth > doc.clientWidth)
        out.push(`page ${doc.scrollWidth} px wide in ${doc.clientWidth}`);
      for (const svg of Array.from(document.querySelectorAll('svg.chart')) as SVGSVGElement[]) {
        const vb = svg.viewBox.baseVal;
        const s = svg.getBoundingClientRect();
        const k = vb.width / s.width;
        const texts = Array.from(svg.querySelectorAll('text')).map((t) => {
          const r = t.getBoundingClientRect(); // after rotation, in page px → chart units
          return {
            text: t.textContent ?? '',
            x: (r.left - s.left) * k,
            y: (r.top - s.top) * k,
            w: r.width * k,
            h: r.height * k,
          };
        });
        for (const t of texts) {
          if (t.x < -1 || t.x + t.w > vb.width + 1 || t.y < -1 || t.y + t.h > vb.height + 1)
            out.push(`${svg.id}: "${t.text}" clipped`);
        }
        for (let i = 0; i < texts.length; i++) {
          for (let j = i + 1; j < texts.length; j++) {
            const a = texts[i]!;
            const b = texts[j]!;
            const ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
            const oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
            if (ox > 1 && oy > 2) out.push(`${svg.id}: "${a.text}" over "${b.text}"`);
          }
        }
      }
      return out;
    });
    if (screenshot)
      await page.screenshot({ path: screenshot, clip: { x: 0, y: 0, width: 1100, height: 1400 } });
    if (waterfallShot) await page.locator('.card:has(#waterfall-p90)').screenshot({ path: waterfallShot });
    await page.close();
    return { problems, layout, charts, table };
  }

  it('loads the demo report without console errors or network requests', async () => {
    const r = await check(demoHtml, SCREENSHOT, WATERFALL_SHOT);
    expect(r.problems).toEqual([]);
  });

  it('fits the page width and draws no chart text clipped or over other text', async () => {
    const demo = await check(demoHtml);
    expect(demo.layout).toEqual([]);
    const file = join(dir, 'open-layout.html');
    await writeFile(file, renderHtmlReport(await openFixture()));
    expect((await check(file)).layout).toEqual([]);
  });

  it('draws every mark of every chart of the demo report', async () => {
    const { charts } = await check(demoHtml);
    // per-stage distributions + latency and throughput over time + two waterfalls + cache
    expect(charts.length).toBe(demoRun.stages.length + 2 + 2 + 1);
    for (const c of charts) {
      expect(c.declared, `chart ${c.id}`).toBeGreaterThan(0);
      expect(c.marks, `chart ${c.id}`).toBe(c.declared);
      expect(c.drawn, `chart ${c.id}`).toBe(c.declared);
    }
  });

  it('shows in the table exactly the numbers of the run JSON', async () => {
    const { table } = await check(demoHtml);
    const byStage = new Map(demoRun.stages.map((s) => [s.name, s]));
    const seen = new Set<string>();
    for (const cell of table) {
      const s = byStage.get(cell.stage);
      expect(s, `row ${cell.stage}`).toBeDefined();
      seen.add(cell.stage);
      if (cell.field === 'name') expect(cell.text).toBe(s!.name);
      else if (cell.field === 'count') {
        expect(Number(cell.value)).toBe(s!.count);
        expect(cell.text).toBe(formatCount(s!.count));
      } else if (cell.field === 'errors') {
        // Issue 18: the error count and the stage's error rate, side by side.
        expect(Number(cell.value)).toBe(s!.errors);
        expect(cell.text).toBe(
          `${formatCount(s!.errors)} (${formatPercent(s!.count ? s!.errors / s!.count : 0)})`,
        );
      } else if (cell.field === 'okActualMs') {
        if (s!.target?.actualMs != null) expect(Number(cell.value)).toBe(s!.target.actualMs);
        else expect(cell.text).toBe('–');
      } else if (cell.field === 'targetMs') {
        expect(Number(cell.value)).toBe(s!.target!.targetMs);
      } else if (cell.field === 'status') {
        expect(cell.text.split(' ')[0]).toBe(
          s!.target
            ? s!.target.status === 'pass'
              ? 'PASS'
              : s!.target.status === 'fail'
                ? 'FAIL'
                : 'NO'
            : '–',
        );
      } else {
        const key = cell.field as 'p50' | 'p90' | 'p95' | 'p99' | 'maxMs' | 'meanMs';
        expect(Number(cell.value), `${cell.stage} ${key}`).toBe(s![key]);
        expect(cell.text).toBe(formatMs(s![key]));
      }
    }
    expect([...seen].sort()).toEqual([...byStage.keys()].sort());
  });

  it('renders an open-model report (arrivals, coordinated omission) the same way', async () => {
    const file = join(dir, 'open.html');
    await writeFile(file, renderHtmlReport(await openFixture()));
    const r = await check(file);
    expect(r.problems).toEqual([]);
    expect(r.charts.some((c) => c.id === 'co-chart')).toBe(true);
    for (const c of r.charts) expect(c.drawn, `chart ${c.id}`).toBe(c.declared);
  });

  it('wrote small screenshots for the docs', async () => {
    for (const file of [SCREENSHOT, WATERFALL_SHOT]) {
      const s = await stat(file);
      expect(s.size).toBeGreaterThan(10_000);
      expect(s.size).toBeLessThan(400_000);
    }
  });
});
