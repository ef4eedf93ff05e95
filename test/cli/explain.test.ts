/** Issue 17 item 1: every missed target explains itself (stage, what it is made of, what fixes it). */
import { describe, expect, it } from 'vitest';
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

describe('missed targets explain themselves', () => {
  it('check: one "why" line per missed default target, naming what the stage is made of', async () => {
    const r = await runInProcess([
      'check',
      '--turns',
      '4',
      '--calls',
      '4',
      '--providers',
      'fake',
      '--profile',
      'instant',
      ...OPS.flatMap((op) => ['--target', `${op}=0.0001`]),
    ]);
    expect(r.code).toBe(1);
    const why = r.stdout.slice(r.stdout.indexOf('Why the targets were missed:'));
    expect(why.length).toBeGreaterThan(30);
    for (const op of OPS)
      expect(why).toMatch(new RegExp(`^ {2}- ${op} \\(P90 .* > .*\\): ${op} = .*Fix`, 'm'));
    expect(why).toContain('search = embedding + vector query: two calls');
  }, 120_000);

  it('with --json the explanation goes to stderr and stdout stays one JSON document', async () => {
    const r = await runInProcess([
      'check',
      '--turns',
      '2',
      '--calls',
      '2',
      '--providers',
      'fake',
      '--profile',
      'instant',
      '--target',
      'stt=0.0001',
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stderr).toMatch(/- stt \(P90 .*\): stt = /);
  }, 120_000);

  it('the instant profile has an instant fake company API (no miss by construction)', async () => {
    const r = await runInProcess([
      'check',
      '--turns',
      '2',
      '--calls',
      '2',
      '--providers',
      'fake',
      '--profile',
      'instant',
      '--json',
    ]);
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
});
