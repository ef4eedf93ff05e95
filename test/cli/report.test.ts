import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SavedRun, writeRunFile } from '../../src/loadtest/index.js';
import { closedFixture } from '../report/fixtures.js';
import { cli, tempDir } from './helpers.js';

let dir: string;
let failing: SavedRun;
beforeAll(async () => {
  dir = await tempDir();
  failing = await closedFixture();
  await writeRunFile(join(dir, 'failing.json'), failing);
  await writeRunFile(join(dir, 'passing.json'), {
    ...failing,
    verdict: { ...failing.verdict, pass: true, failures: [] },
  });
});

describe('earshot report', { timeout: 120_000 }, () => {
  it('exits 4 (bad run file), not 70, for a startedAt that is not a date (15.20)', async () => {
    await writeFile(join(dir, 'bad-date.json'), JSON.stringify({ ...failing, startedAt: 'not a date' }));
    const r = await cli(['report', 'bad-date.json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('startedAt');
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('renders a saved run next to it and prints the summary', async () => {
    const r = await cli(['report', 'passing.json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`HTML report written to ${join(dir, 'passing.html')}`);
    const html = await readFile(join(dir, 'passing.html'), 'utf8');
    expect(html).toContain('fixture: closed model');
  });

  it('writes the HTML where --html says', async () => {
    const r = await cli(['report', 'failing.json', '--html', 'out/r.html', '--quiet'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(await readFile(join(dir, 'out', 'r.html'), 'utf8')).toContain('TARGETS MISSED');
  });

  it('--check exits 1 for a run that missed its targets', async () => {
    expect((await cli(['report', 'failing.json', '--check', '--quiet'], { cwd: dir })).code).toBe(1);
    expect((await cli(['report', 'passing.json', '--check', '--quiet'], { cwd: dir })).code).toBe(0);
  });

  it('--json prints the validated run', async () => {
    const r = await cli(['report', 'failing.json', '--json'], { cwd: dir });
    expect(JSON.parse(r.stdout)).toEqual(failing);
  });

  it('colours only when asked: FORCE_COLOR colours a pipe, NO_COLOR wins over nothing', async () => {
    const forced = await cli(['report', 'failing.json', '--html', 'c.html'], {
      cwd: dir,
      env: { FORCE_COLOR: '1' },
    });
    expect(forced.stdout).toContain('\u001b[');
    const plain = await cli(['report', 'failing.json', '--html', 'c.html'], {
      cwd: dir,
      env: { NO_COLOR: '1' },
    });
    expect(plain.stdout).not.toContain('\u001b');
  });
});
