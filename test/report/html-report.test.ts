import { beforeAll, describe, expect, it } from 'vitest';
import type { SavedRun } from '../../src/loadtest/index.js';
import { formatMs, formatStageTable, formatTextReport, renderHtmlReport } from '../../src/report/index.js';
import { closedFixture, openFixture } from './fixtures.js';

let closed: SavedRun;
let open: SavedRun;
beforeAll(async () => {
  [closed, open] = await Promise.all([closedFixture(), openFixture()]);
});

describe('renderHtmlReport', () => {
  it('is one self-contained file: no scripts, no external URLs, a CSP that forbids fetching', () => {
    const html = renderHtmlReport(closed);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*"(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('puts every stage of the run in the table with its JSON figures', () => {
    const html = renderHtmlReport(closed);
    for (const s of closed.stages) {
      for (const field of ['p50', 'p90', 'p95', 'p99'] as const) {
        expect(html).toContain(
          `data-stage="${s.name}" data-field="${field}" data-value="${s[field]}">${formatMs(s[field])}<`,
        );
      }
    }
  });

  it('marks missed targets and the overall verdict', () => {
    const html = renderHtmlReport(closed);
    expect(closed.verdict.pass).toBe(false); // 5 % errors > 1 %
    expect(html).toContain('TARGETS MISSED');
    expect(html).toMatch(/<li class="fail">error rate 5\.0 % &gt; 1\.0 %<\/li>/);
  });

  it('draws a distribution chart per stage, the over-time charts and both waterfalls', () => {
    const html = renderHtmlReport(closed);
    expect((html.match(/data-chart="percentile"/g) ?? []).length).toBe(closed.stages.length);
    expect(html).toContain('id="latency-over-time"');
    expect(html).toContain('id="throughput-over-time"');
    expect(html).toContain('id="waterfall-typical"');
    expect(html).toContain('id="waterfall-p90"');
    expect(html).toContain('What the first audio waited on:');
    expect(html).toContain('id="cache-chart"');
    expect(html).toContain('id="errors-chart"');
    expect(html).toContain('EARSHOT_UPSTREAM_FAILED elevenlabs 503');
  });

  it('shows the arrivals and the coordinated-omission chart of an open-model run', () => {
    const html = renderHtmlReport(open);
    expect(html).toContain('id="arrivals-table"');
    expect(html).toContain('id="co-chart"');
    expect(html).toContain('No errors.');
    expect(html).toContain('No cache reads were recorded');
  });

  it('says when the results are partial', () => {
    const html = renderHtmlReport({ ...closed, status: 'interrupted', stopReason: 'interrupted (SIGINT)' });
    expect(html).toMatch(
      /id="status-banner">Interrupted \(interrupted \(SIGINT\)\) after [\d.]+ s: these are partial results\./,
    );
  });

  it('escapes text that comes from the run', () => {
    const html = renderHtmlReport({ ...closed, title: '<img src=x onerror=alert(1)>' });
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});

describe('text report', () => {
  it('prints the stage table with targets and PASS/FAIL', () => {
    const table = formatStageTable(closed);
    expect(table.split('\n')[0]).toMatch(
      /^stage\s+count\s+errors \(rate\)\s+p50\s+p90\s+p95\s+p99\s+max\s+target P90\s+ok p90\s+status$/,
    );
    expect(table).toMatch(/^stt .* ≤ 100\s+[\d.,]+\s+(PASS|FAIL)$/m);
  });

  it('ends with the verdict, the cache hit rate and the errors by kind', () => {
    const text = formatTextReport(closed);
    expect(text).toMatch(/cache hit rate 76\.6 % \(company_api:load 76 %, llm 77 %\)/);
    expect(text).toContain('error ×4 EARSHOT_UPSTREAM_FAILED elevenlabs 503: TTS answered 503');
    expect(text).toMatch(/Targets missed: .*error rate 5\.0 %/);
  });

  it('reports arrivals of an open-model run', () => {
    expect(formatTextReport(open)).toMatch(
      /arrivals: 60 scheduled, 60 sent, \d+ late \(> 10\.0 ms\), 0 dropped/,
    );
  });
});
