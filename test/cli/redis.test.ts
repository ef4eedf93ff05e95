import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseSavedRun } from '../../src/loadtest/index.js';
import { cli, tempDir } from './helpers.js';

const REDIS = { host: '127.0.0.1', port: 6379 };

async function redisUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(REDIS);
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.write('PING\r\n');
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}

const up = await redisUp();
const inCi = process.env.CI === 'true';
if (!up && !inCi) console.warn('\n⚠️  SKIPPING the CLI Redis test: no Redis answers on 127.0.0.1:6379.\n');

describe.skipIf(!up && !inCi)('earshot demo with REDIS_URL', () => {
  it('runs on the Redis tier and says so', async () => {
    expect(up, 'CI=true requires Redis on 127.0.0.1:6379').toBe(true);
    const dir = await tempDir();
    const r = await cli(['demo', '--turns', '6', '--providers', 'fake', '--profile', 'instant', '--json'], {
      cwd: dir,
      env: {
        REDIS_URL: `redis://${REDIS.host}:${REDIS.port}`,
        EARSHOT_REDIS_KEY_PREFIX: `earshot-cli-test-${process.pid}:`,
      },
    });
    expect(r.code).toBe(0);
    const run = parseSavedRun(JSON.parse(r.stdout));
    expect(run.config.cache).toBe(`memory + Redis (${REDIS.host}:${REDIS.port})`);
    expect(run.summary.turns).toBe(6);
  }, 60_000);
});
