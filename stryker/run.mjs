// @ts-check
/**
 * `npm run mutation -- <area>` runs StrykerJS on one area (stryker/<area>.config.mjs);
 * `npm run mutation` runs every area, one after another (never in parallel: each is CPU-heavy).
 * Set STRYKER_CONCURRENCY to change the number of test-runner processes (default 2).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const areas = readdirSync(here)
  .filter((f) => f.endsWith('.config.mjs') && !f.startsWith('vitest.'))
  .map((f) => f.slice(0, -'.config.mjs'.length))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((a) => !areas.includes(a));
if (unknown.length > 0) {
  console.error(`Unknown mutation area(s): ${unknown.join(', ')}. Known: ${areas.join(', ')}.`);
  process.exit(2);
}
let status = 0;
for (const area of wanted.length > 0 ? wanted : areas) {
  console.log(`\n# mutation testing: ${area}`);
  const r = spawnSync('npx', ['stryker', 'run', join('stryker', `${area}.config.mjs`)], {
    stdio: 'inherit',
    cwd: join(here, '..'),
  });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
