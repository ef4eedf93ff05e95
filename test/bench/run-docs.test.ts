import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

const PAGE = [
  '# Performance',
  '<!-- goals:start -->',
  '| id | what is compared | measured | goal | verdict |',
  '|---|---|---|---|---|',
  '| `cache.old` | old row | 9x | ≥ 5x | **met** |',
  '<!-- goals:end -->',
  '',
].join('\n');

const OUTPUT = (mode: 'full' | 'smoke') =>
  [
    '## cache.bench.ts (load average 1.00)',
    'some table',
    'GOAL cache.redis-hit-seq | Redis hit vs raw GET + JSON.parse | 1.19x | ≤ 1.10x | not met',
    `RUN cache | 2026-12-04T19:40:01Z | v20.20.2 | 1.00 | 2.00 | ${mode}`,
  ].join('\n');

describe('npm run bench -- --from (bench/run.ts)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function rebuild(mode: 'full' | 'smoke'): Promise<string> {
    dir = mkdtempSync(join(tmpdir(), 'earshot-bench-docs-'));
    const page = join(dir, 'performance.md');
    const out = join(dir, 'out.txt');
    writeFileSync(page, PAGE);
    writeFileSync(out, OUTPUT(mode));
    await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--from', out, '--docs', page], {
      cwd: ROOT,
      timeout: 60_000,
    });
    return readFileSync(page, 'utf8');
  }

  it('writes the goal rows of a full run into the page', async () => {
    const page = await rebuild('full');
    expect(page).not.toContain('`cache.old`');
    expect(page).toContain(
      '| `cache.redis-hit-seq` | Redis hit vs raw GET + JSON.parse | 1.19x | ≤ 1.10x | **not met** |',
    );
    expect(page).toContain('- `cache`: 2026-12-04T19:40:01Z, Node.js v20.20.2, load average 1.00');
  }, 90_000);

  it('leaves the page untouched for a smoke run', async () => {
    expect(await rebuild('smoke')).toBe(PAGE);
  }, 90_000);
});
