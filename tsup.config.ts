import { existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

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
  cli: 'src/cli/main.ts',
};
const entry = Object.fromEntries(Object.entries(candidates).filter(([, file]) => existsSync(file)));

export default defineConfig({
  entry,
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
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
});
