/** Issue 17 item 1: every missed target explains itself (stage, what it is made of, what fixes it). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { explainMisses } from '../../src/cli/explain.js';
import { parseSavedRun } from '../../src/loadtest/index.js';
import { runInProcess } from './in-process.js';

const OPS = [
  'stt',
  'llm_ttft',
  'tts_ttfb',
  'company_api',
  'search',
  'time_to_first_audio',
  'cache_read',
  'cache_write',
];

/** `check` on the fake stages with the instant profile: `turns` turns, `calls` component calls. */
function quickCheck(turns: number, calls: number, ...extra: string[]): string[] {
  return [
    'check',
    '--turns',
    String(turns),
    '--calls',
    String(calls),
    '--providers',
    'fake',
    '--profile',
    'instant',
    ...extra,
  ];
}

describe('missed targets explain themselves', () => {
  it('check: one "why" line per missed default target, naming what the stage is made of', async () => {
    const r = await runInProcess(quickCheck(4, 4, ...OPS.flatMap((op) => ['--target', `${op}=0.0001`])));
    expect(r.code).toBe(1);
    const why = r.stdout.slice(r.stdout.indexOf('Why the targets were missed:'));
    expect(why.length).toBeGreaterThan(30);
    for (const op of OPS)
      expect(why).toMatch(new RegExp(`^ {2}- ${op} \\(P90 .* > .*\\): ${op} = .*Fix`, 'm'));
    expect(why).toContain('search = embedding + vector query: two calls');
  }, 120_000);

  it('with --json the explanation goes to stderr and stdout stays one JSON document', async () => {
    const r = await runInProcess(quickCheck(2, 2, '--target', 'stt=0.0001', '--json'));
    expect(r.code).toBe(1);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stderr).toMatch(/- stt \(P90 .*\): stt = /);
  }, 120_000);

  it('the instant profile has an instant fake company API (no miss by construction)', async () => {
    const r = await runInProcess(quickCheck(2, 2, '--json'));
    const run = parseSavedRun(JSON.parse(r.stdout));
    expect(run.config.target?.description).toContain('fake company API (no latency)');
    const before = await runInProcess([
      'check',
      '--turns',
      '1',
      '--calls',
      '1',
      '--providers',
      'fake',
      '--json',
    ]);
    expect(parseSavedRun(JSON.parse(before.stdout)).config.target?.description).toContain('P90 100 ms');
  }, 120_000);

  it('load explains its misses too, like demo and check (docs/cli.md)', async () => {
    const r = await runInProcess([
      'load',
      '--providers',
      'fake',
      '--profile',
      'instant',
      '--users',
      '2',
      '--spawn-rate',
      '2',
      '--iterations',
      '4',
      '--target',
      'stt=0.0001',
    ]);
    expect(r.code).toBe(1);
    const why = r.stdout.slice(r.stdout.indexOf('Why the targets were missed:'));
    expect(why).toMatch(/^ {2}- stt \(P90 .* > .*\): stt = .*"instant" profile.*Fix/m);
  }, 120_000);

  it('load --url explains a miss of the whole request, naming the endpoint', async () => {
    const server: Server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await runInProcess([
        'load',
        '--url',
        `http://127.0.0.1:${port}/turn`,
        '--users',
        '1',
        '--spawn-rate',
        '1',
        '--iterations',
        '3',
        '--target',
        'http=0.0001',
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('Why the targets were missed:');
      expect(r.stdout).toMatch(
        new RegExp(
          `- http \\(P90 .*\\): http = the whole request to GET http://127\\.0\\.0\\.1:${port}/turn`,
        ),
      );
      expect(r.stdout).not.toContain('a user-set target on "http"');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 120_000);

  it('with --no-cache the company-API fix is to turn the cache on, not to run longer', async () => {
    const r = await runInProcess(quickCheck(2, 2, '--no-cache', '--target', 'company_api=0.0001'));
    expect(r.code).toBe(1);
    const line = r.stdout.split('\n').find((l) => l.startsWith('  - company_api ('));
    expect(line).toContain('the cache is off (--no-cache)');
    expect(line).toContain('turn the cache on');
    expect(line).not.toContain('run longer');
  }, 120_000);

  it('a slow first audio names the stages whose calls failed (a timeout is not in their P90)', async () => {
    const r = await runInProcess(quickCheck(2, 1, '--json'));
    const run = parseSavedRun(JSON.parse(r.stdout));
    const ttfa = run.stages.find((s) => s.name === 'time_to_first_audio')!;
    ttfa.target = { percentile: 90, targetMs: 500, actualMs: 10_900, status: 'fail' };
    const clean = explainMisses(run, { cache: true }).join('\n');
    expect(clean).toContain('time_to_first_audio (P90 10900 ms');
    expect(clean).not.toContain('Failed calls');
    const tts = run.stages.find((s) => s.name === 'tts')!;
    tts.errors = 3;
    const why = explainMisses(run, { cache: true }).join('\n');
    expect(why).toContain(
      `Failed calls (their wait counts in the turn, not in the stage's P90): tts 3 of ${tts.count}`,
    );
  }, 120_000);
});
