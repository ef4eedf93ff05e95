import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSavedRun, readRunFile } from '../../src/loadtest/index.js';
import { cli, startCli, tempDir } from './helpers.js';

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/broken') res.writeHead(500).end('oops');
    else setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), 5);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

// Serial on purpose: each test is a CLI subprocess (tsx start-up, fake servers); five at once
// timed out on a shared 2-core machine with a load average of 30+. Timeouts are sized for that.
const T = 240_000;

describe.sequential('earshot runs', () => {
  it(
    'demo runs a session through the pipeline, prints the run as JSON, and writes the run and the report',
    async () => {
      const dir = await tempDir();
      const r = await cli(['demo', '--turns', '8', '--no-compare', '--json'], { cwd: dir });
      expect(r.code).toBe(0);
      const run = parseSavedRun(JSON.parse(r.stdout));
      expect(run.kind).toBe('demo');
      expect(run.summary.turns).toBe(8);
      for (const stage of ['stt', 'llm_ttft', 'tts_ttfb', 'time_to_first_audio', 'e2e']) {
        expect(run.stages.map((s) => s.name)).toContain(stage);
      }
      // warmed by 4 turns of the same mix first: the measured turns find answers in the cache
      const total = run.cache!.total;
      expect(total.hits).toBeGreaterThan(0);
      // the rate is what the counts say (hits and stale serves over every read), not just "a number"
      expect(total.hitRate).toBeCloseTo(
        (total.hits + total.stale) / (total.hits + total.misses + total.stale),
        12,
      );
      expect(r.stderr).toContain('cache: embedded memory tier (lru-cache)');
      expect(run.turns.typical?.spans.length).toBeGreaterThan(0);
      expect(existsSync(join(dir, 'earshot-run.json'))).toBe(true);
      expect(await readFile(join(dir, 'earshot-report.html'), 'utf8')).toContain('<svg');
      expect(r.stderr).toContain('earshot demo: 8 voice turns from 8 callers');
    },
    T,
  );

  it(
    'demo runs on the in-process fakes by default, or on the real adapters against the fake servers',
    async () => {
      const dir = await tempDir();
      const servers = parseSavedRun(
        JSON.parse(
          (
            await cli(
              [
                'demo',
                '--turns',
                '3',
                '--no-compare',
                '--providers',
                'servers',
                '--profile',
                'instant',
                '--json',
              ],
              {
                cwd: dir,
              },
            )
          ).stdout,
        ),
      );
      expect(servers.config.providers).toContain("adapters on their SDKs, against earshot's fake servers");
      const fake = parseSavedRun(
        JSON.parse(
          (
            await cli(['demo', '--turns', '3', '--no-compare', '--profile', 'instant', '--json'], {
              cwd: dir,
            })
          ).stdout,
        ),
      );
      expect(fake.config.providers).toContain(
        'earshot fakes, latency profile "instant" (no network, no keys)',
      );
      expect(fake.summary.turns).toBe(3);
    },
    T,
  );

  it(
    'demo prints the per-stage table with the targets check and the cache hit rate',
    async () => {
      const dir = await tempDir();
      const r = await cli(
        ['demo', '--turns', '6', '--no-compare', '--providers', 'fake', '--profile', 'instant', '--quiet'],
        {
          cwd: dir,
        },
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /^stage\s+count\s+errors \(rate\)\s+p50\s+p90\s+p95\s+p99\s+max\s+target P90\s+ok p90\s+status$/m,
      );
      expect(r.stdout).toMatch(/^time_to_first_audio\s.*≤ 500\s+[\d.]+\s+(PASS|FAIL)$/m);
      expect(r.stdout).toMatch(/^cache hit rate \d+\.\d %/m);
      expect(r.stdout).toContain(`HTML report written to ${join(dir, 'earshot-report.html')}`);
      // not a TTY, no colour asked: plain text only
      expect(r.stdout).not.toContain('\u001b');
    },
    T,
  );

  it(
    'demo --check exits 1 when a target is missed',
    async () => {
      const dir = await tempDir();
      const r = await cli(
        [
          'demo',
          '--turns',
          '4',
          '--providers',
          'fake',
          '--profile',
          'instant',
          '--quiet',
          '--check',
          '--target',
          'scenario=0.001',
        ],
        { cwd: dir },
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^scenario\s.*≤ 0\.001\s+[\d.]+\s+FAIL$/m);
    },
    T,
  );

  it(
    'check exits 0 when every target is met and 1 with a table of what missed',
    async () => {
      const dir = await tempDir();
      // Every default target made unmissable, so a busy machine cannot flip the verdict.
      const ops = [
        'stt',
        'llm_ttft',
        'tts_ttfb',
        'company_api',
        'search',
        'time_to_first_audio',
        'cache_read',
        'cache_write',
      ];
      const generous = [...ops.flatMap((op) => ['--target', `${op}=100000`]), '--providers', 'fake'];
      const ok = await cli(['check', '--turns', '3', '--calls', '3', '--profile', 'instant', ...generous], {
        cwd: dir,
      });
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^cache_write\s.*PASS$/m);
      expect(ok.stdout).toContain('Targets met.');
      // the phases are reported apart: 3 component calls, then 3 turns (not "turns 6")
      expect(ok.stdout).toMatch(/^turns 3 · /m);
      expect(ok.stdout).toMatch(/^phase 1: 3 component calls .* 0 errors$/m);
      expect(ok.stdout).toMatch(/^phase 2: 3 turns one after another .* 0 errors$/m);
      expect(ok.stdout).not.toContain('Why the targets were missed');
      const missed = await cli(
        [
          'check',
          '--turns',
          '3',
          '--calls',
          '3',
          '--profile',
          'instant',
          ...generous,
          '--target',
          'scenario=0.001',
        ],
        { cwd: dir },
      );
      expect(missed.code).toBe(1);
      expect(missed.stdout).toMatch(
        /Targets missed: scenario: P90 [\d.]+ ms \(successful calls\) > target 0\.001 ms/,
      );
      expect(missed.stdout).toMatch(
        /^Why the targets were missed:\n {2}- scenario \(P90 .* > 0\.001 ms\): /m,
      );
    },
    T,
  );

  it(
    'load --url drives an HTTP endpoint with the closed model',
    async () => {
      const dir = await tempDir();
      const r = await cli(
        [
          'load',
          '--url',
          `${base}/turn`,
          '--users',
          '3',
          '--spawn-rate',
          '10',
          '--iterations',
          '12',
          '--target',
          'http=100000',
          '--json',
        ],
        { cwd: dir },
      );
      expect(r.code).toBe(0);
      const run = parseSavedRun(JSON.parse(r.stdout));
      expect(run.config).toMatchObject({
        model: 'closed',
        users: 3,
        spawnRate: 10,
        target: { kind: 'http' },
      });
      expect(run.stages.find((s) => s.name === 'http')?.target).toMatchObject({
        targetMs: 100000,
        status: 'pass',
      });
      expect(run.summary.turns).toBe(12);
      expect(run.stages.find((s) => s.name === 'http')?.count).toBe(12);
      expect((await readRunFile(join(dir, 'earshot-run.json'))).summary.turns).toBe(run.summary.turns);
    },
    T,
  );

  it(
    'load exits 1 when the endpoint fails, with the errors by kind',
    async () => {
      const dir = await tempDir();
      const r = await cli(
        [
          'load',
          '--url',
          `${base}/broken`,
          '--users',
          '2',
          '--iterations',
          '6',
          '--quiet',
          '--target',
          'http=100000',
        ],
        {
          cwd: dir,
        },
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('error ×6 EARSHOT_UPSTREAM_FAILED http 500');
      expect(r.stdout).toMatch(/^Targets missed: .*error rate 100\.0 % > 1\.0 %$/m);
      // a stage whose calls all failed never passes its latency target (issue 18)
      expect(r.stdout).toContain('http: no successful call to measure P90 on');
    },
    T,
  );

  it(
    'load --rate runs the open model and reports the arrivals',
    async () => {
      const dir = await tempDir();
      const r = await cli(
        [
          'load',
          '--rate',
          '20/s',
          '--iterations',
          '10',
          '--providers',
          'fake',
          '--profile',
          'instant',
          '--json',
        ],
        {
          cwd: dir,
        },
      );
      expect(r.code === 0 || r.code === 1).toBe(true);
      const run = parseSavedRun(JSON.parse(r.stdout));
      expect(run.config.model).toBe('open');
      expect(run.arrivals).toMatchObject({ targetRatePerSec: 20, scheduled: 10, sent: 10, dropped: 0 });
      expect(run.stages.map((s) => s.name)).toContain('scenario_from_intended');
    },
    T,
  );

  it(
    'Ctrl-C stops a load test, saves and reports the partial results, and exits 130',
    async () => {
      const dir = await tempDir();
      let sent = false;
      const { done } = startCli(
        [
          'load',
          '--preset',
          'light',
          '--run-time',
          '60s',
          '--providers',
          'fake',
          '--profile',
          'instant',
          '--html',
          'report.html',
        ],
        {
          cwd: dir,
          onStderr: (text, child) => {
            // the first progress line means turns are running
            if (!sent && /\[\s*\d+\.\ds\] users/.test(text)) {
              sent = true;
              child.kill('SIGINT');
            }
          },
        },
      );
      const r = await done;
      expect(sent).toBe(true);
      expect(r.code).toBe(130);
      expect(r.stderr).toContain('SIGINT received, stopping; partial results will be saved');
      expect(r.stderr).toContain('Interrupted: partial results saved.');
      const run = await readRunFile(join(dir, 'earshot-run.json'));
      expect(run.status).toBe('interrupted');
      expect(run.stopReason).toBe('interrupted (SIGINT)');
      expect(run.durationMs).toBeLessThan(30_000);
      expect(await readFile(join(dir, 'report.html'), 'utf8')).toContain('these are partial results');
    },
    T,
  );
});
