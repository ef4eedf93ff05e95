import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, UpstreamError } from '../../src/errors.js';
import { errorKind, httpScenario, probeUrl, runClosedModel } from '../../src/loadtest/index.js';

let server: Server;
let base: string;
const timeline = {
  turnId: 't1',
  timeToFirstAudioMs: 120,
  spans: [{ id: 0, name: 'stt', startMs: 0, endMs: 50, cached: false, outcome: 'ok' }],
  criticalPath: [{ name: 'stt', startMs: 0, endMs: 50, durationMs: 50, spanId: 0 }],
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (req.url === '/fail') {
        res.writeHead(503).end('busy');
      } else if (req.url === '/turn') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ reply: 'ok', echo: body, timeline }));
      } else if (req.url === '/slow') {
        setTimeout(() => res.writeHead(200).end('late'), 2000);
      } else {
        res
          .writeHead(200, { 'content-type': 'text/plain' })
          .end(`${req.method} ${req.headers['x-test'] ?? ''}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('httpScenario', () => {
  it('times each request to the first byte and to the end of the body', async () => {
    const r = await runClosedModel({
      users: 2,
      iterations: 10,
      scenarios: [httpScenario({ url: `${base}/ok`, headers: { 'x-test': 'yes' } })],
    });
    expect(r.errors).toBe(0);
    expect(r.monitor.stats('http')?.count).toBe(10);
    expect(r.monitor.stats('http_ttfb')?.count).toBe(10);
    expect(r.monitor.stats('http', { labels: { status: 200 } })?.count).toBe(10);
  });

  it('turns a non-2xx answer into an UpstreamError counted by status', async () => {
    const r = await runClosedModel({
      users: 1,
      iterations: 4,
      scenarios: [httpScenario({ url: `${base}/fail` })],
    });
    expect(r.errors).toBe(4);
    expect(r.errorKinds).toEqual([
      {
        kind: 'EARSHOT_UPSTREAM_FAILED http 503',
        count: 4,
        message: expect.stringContaining('answered HTTP 503'),
      },
    ]);
  });

  it('uses a timeline in a JSON answer as the waterfall', async () => {
    const r = await runClosedModel({
      users: 1,
      iterations: 3,
      scenarios: [
        httpScenario({
          url: `${base}/turn`,
          method: 'POST',
          body: '{"text":"hi"}',
          headers: { 'content-type': 'application/json' },
        }),
      ],
    });
    expect(r.turns.typical).toMatchObject({ turnId: 't1', timeToFirstAudioMs: 120 });
  });

  it('fails a request past its deadline with a timeout message', async () => {
    const r = await runClosedModel({
      users: 1,
      iterations: 1,
      scenarios: [httpScenario({ url: `${base}/slow`, timeoutMs: 100 })],
    });
    expect(r.errorKinds[0]?.message).toMatch(/did not answer within 100 ms/);
  });

  it('reports a refused connection as an upstream error with the code', async () => {
    const port = await closedPort();
    const r = await runClosedModel({
      users: 1,
      iterations: 2,
      scenarios: [httpScenario({ url: `http://127.0.0.1:${port}/` })],
    });
    expect(r.errors).toBe(2);
    expect(r.errorKinds[0]?.message).toMatch(/ECONNREFUSED/);
  });

  it('rejects a URL that is not http(s)', () => {
    expect(() => httpScenario({ url: 'ftp://example.com' })).toThrow(InvalidArgumentError);
  });
});

describe('probeUrl', () => {
  it('resolves when something listens at the URL', async () => {
    await expect(probeUrl(`${base}/anything`)).resolves.toBeUndefined();
  });

  it('says the URL cannot be reached when nothing listens', async () => {
    const port = await closedPort();
    const err = await probeUrl(`http://127.0.0.1:${port}/api`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toMatch(
      /Cannot reach http:\/\/127\.0\.0\.1:\d+\/api \(connection refused\)/,
    );
  });

  it('rejects a malformed URL as a usage problem', async () => {
    await expect(probeUrl('not a url')).rejects.toThrow(InvalidArgumentError);
  });

  it('never prints credentials of the URL', async () => {
    const port = await closedPort();
    const err = (await probeUrl(`http://user:hunter2secret@127.0.0.1:${port}/x?token=abc`).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).not.toContain('hunter2secret');
    expect(err.message).not.toContain('token=abc');
  });
});

describe('errorKind', () => {
  it('names errors by earshot code, Node code, timeout or name', () => {
    expect(errorKind(new UpstreamError('x', { provider: 'openai', status: 429, retryable: true }))).toBe(
      'EARSHOT_UPSTREAM_FAILED openai 429',
    );
    expect(errorKind(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(
      errorKind(
        new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) }),
      ),
    ).toBe('ENOTFOUND');
    expect(errorKind(new DOMException('t', 'TimeoutError'))).toBe('timeout');
    expect(errorKind(new RangeError('r'))).toBe('RangeError');
    expect(errorKind('str')).toBe('string');
  });
});
