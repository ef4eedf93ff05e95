/**
 * Issue 17.22: every in-flight turn listens on the run-wide signal; at ≥ 11 concurrent turns
 * Node printed `MaxListenersExceededWarning`. No warning at 50 concurrent turns, in both
 * models and through the HTTP target, and no listener left behind.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpScenario, runClosedModel, runOpenModel, type Scenario } from '../../src/loadtest/index.js';

const warnings: Error[] = [];
const onWarning = (w: Error): void => {
  warnings.push(w);
};
beforeAll(() => {
  process.on('warning', onWarning);
});
afterAll(() => {
  process.off('warning', onWarning);
});
afterEach(() => {
  warnings.length = 0;
});

/** Waits `ms` while listening on the run signal, the way a pipeline turn or `fetch` does. */
function listening(ms: number, inFlight: { now: number; max: number }): Scenario {
  return {
    name: 'listening',
    run: ({ signal }) =>
      new Promise<void>((resolve) => {
        inFlight.now++;
        inFlight.max = Math.max(inFlight.max, inFlight.now);
        const done = (): void => {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          inFlight.now--;
          resolve();
        };
        // Three listeners per turn, as a turn with several stages adds.
        for (const _ of [1, 2, 3]) signal.addEventListener('abort', () => {}, { once: true });
        signal.addEventListener('abort', done, { once: true });
        const t = setTimeout(done, ms);
      }),
  };
}

/** Warnings are emitted on the next tick: let them arrive before looking. */
const settle = () => new Promise((r) => setTimeout(r, 50));
const maxListenerWarnings = () => warnings.filter((w) => w.name === 'MaxListenersExceededWarning');

describe('no MaxListenersExceededWarning at 50 concurrent turns (17.22)', () => {
  it('closed model, 50 users', async () => {
    const inFlight = { now: 0, max: 0 };
    const r = await runClosedModel({
      users: 50,
      spawnRate: 100_000,
      iterations: 150,
      scenarios: [listening(200, inFlight)],
    });
    await settle();
    expect(r.completed).toBe(150);
    expect(inFlight.max).toBeGreaterThanOrEqual(11);
    expect(maxListenerWarnings()).toEqual([]);
  }, 60_000);

  it('open model, 50 turns in flight', async () => {
    const inFlight = { now: 0, max: 0 };
    const r = await runOpenModel({
      ratePerSec: 500,
      iterations: 100,
      scenarios: [listening(300, inFlight)],
    });
    await settle();
    expect(r.completed).toBe(100);
    expect(inFlight.max).toBeGreaterThanOrEqual(11);
    expect(maxListenerWarnings()).toEqual([]);
  }, 60_000);

  describe('through the HTTP target', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      server = createServer((_req, res) => {
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), 200);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('50 users against a slow endpoint', async () => {
      const r = await runClosedModel({
        users: 50,
        spawnRate: 100_000,
        iterations: 100,
        scenarios: [httpScenario({ url, timeoutMs: 30_000 })],
      });
      await settle();
      expect(r.errors).toBe(0);
      expect(r.completed).toBe(100);
      expect(maxListenerWarnings()).toEqual([]);
    }, 60_000);
  });
});
