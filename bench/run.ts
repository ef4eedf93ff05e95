/**
 * Runs every bench/*.bench.ts in turn. `npm run bench` (full) or `npm run bench -- --smoke`
 * (tiny counts, used by CI to prove the benchmarks still run).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { smokeFromArgv } from './harness.js';

const smoke = smokeFromArgv();
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const dir = import.meta.dirname;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
console.log(
  `# earshot benchmarks (${smoke ? 'smoke' : 'full'}) — node ${process.version}, ${new Date().toISOString()}`,
);
for (const f of files) {
  console.log(`\n## ${f}`);
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as {
    run?: (o: { smoke: boolean }) => Promise<unknown>;
  };
  if (typeof mod.run !== 'function') throw new Error(`${f} does not export run({ smoke })`);
  await mod.run({ smoke });
}
