import { existsSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

// One entry per public subpath (see ARCHITECTURE.md). Provider SDKs, ioredis, ws and
// @opentelemetry/api stay external: they are optional peers the host app installs.
const candidates: Record<string, string> = {
  index: 'src/index.ts',
  redis: 'src/redis/index.ts',
  tier: 'src/cache/tier-kit/index.ts',
  deepgram: 'src/providers/deepgram/index.ts',
  openai: 'src/providers/openai/index.ts',
  elevenlabs: 'src/providers/elevenlabs/index.ts',
  pinecone: 'src/providers/pinecone/index.ts',
  exporters: 'src/exporters/index.ts',
  testing: 'src/testing/index.ts',
  loadtest: 'src/loadtest/index.ts',
  report: 'src/report/index.ts',
};
const entry = Object.fromEntries(Object.entries(candidates).filter(([, file]) => existsSync(file)));

const shared = {
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: true,
  treeshake: true,
  external: [
    'ioredis',
    'openai',
    '@deepgram/sdk',
    '@elevenlabs/elevenlabs-js',
    '@pinecone-database/pinecone',
    'ws',
    '@opentelemetry/api',
    'playwright-core',
  ],
} satisfies Options;

// The library entries ship as ESM and CJS with types; the CLI (`bin`) is ESM only: no
// `dist/cli.cjs` nobody runs. `npm run build` empties dist/ first (the two builds run side
// by side, so neither may clean). Source maps are built but left out of the package (`files`).
export default defineConfig([
  { ...shared, entry, format: ['esm', 'cjs'], dts: true, clean: false },
  { ...shared, entry: { cli: 'src/cli/main.ts' }, format: ['esm'], dts: false, clean: false },
]);
