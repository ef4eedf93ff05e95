/**
 * Issue 15.4: `load --url --timeout` never fired on Node 20 because the timeout signal inside
 * `AbortSignal.any` was garbage-collected. The request runs in a child started with
 * `--expose-gc` that collects every 20 ms; the deadline must still fire, before the response
 * headers and in the middle of a stalled body.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./fixtures/http-timeout-gc.ts', import.meta.url));

function runChild(
  stall: 'headers' | 'body',
): Promise<{ ended: string; code?: string; message?: string; afterMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD], {
      env: { ...process.env, STALL: stall },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    // Without a working deadline the child never ends: kill it and fail with what it said.
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (code !== 0)
        return reject(new Error(`child ended ${code ?? signal} (deadline never fired?): ${err}`));
      resolve(JSON.parse(out.trim()));
    });
  });
}

describe('HTTP target deadline under forced GC (15.4)', () => {
  it.each(['headers', 'body'] as const)(
    'fires when the endpoint stalls before the %s',
    async (stall) => {
      const r = await runChild(stall);
      expect(r.ended).toBe('rejected');
      expect(r.code).toBe('EARSHOT_UPSTREAM_FAILED');
      expect(r.message).toContain('did not answer within 300 ms');
      expect(r.afterMs).toBeGreaterThanOrEqual(290);
    },
    90_000,
  );
});
