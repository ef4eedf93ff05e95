/**
 * Helpers for tests that need Redis: the shared server (127.0.0.1:6379 or REDIS_URL) with a
 * loud skip on dev machines and a failure under CI=true, unique key prefixes, and private
 * `redis-server` processes (single or a 3-master cluster) on free ports for tests that kill,
 * freeze or reconfigure Redis. Never touch the shared server's process.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * Deadlines for tests that do not test deadlines: CI machines run many suites at once and a
 * 50 ms command deadline (the default) can expire on a healthy but starved Redis client.
 */
export const RELAXED = { commandTimeoutMs: 500, connectTimeoutMs: 3000 } as const;

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const run = promisify(execFile);

/** True if the shared Redis answers PING within 1 s. */
export function sharedRedisAvailable(): Promise<boolean> {
  return pingRedis(REDIS_URL, 1000);
}

/**
 * Resolves whether Redis-backed tests should run. Unreachable Redis: under `CI=true` this
 * throws (the suite fails); elsewhere it warns loudly and the caller skips.
 */
export async function requireRedis(what: string): Promise<boolean> {
  if (await sharedRedisAvailable()) return true;
  return skipOrFail(
    `Redis is not reachable at ${REDIS_URL}: ${what} cannot run. Start redis-server or set REDIS_URL.`,
  );
}

/** Under `CI=true` a missing dependency fails the suite; elsewhere it warns loudly, and the caller skips. */
function skipOrFail(message: string): false {
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: failing instead of skipping)`);
  console.warn(`\n${'!'.repeat(80)}\n!! SKIPPING: ${message}\n${'!'.repeat(80)}\n`);
  return false;
}

/** True if a `redis-server` binary can be started (for the kill/restart and cluster tests). */
export async function redisServerInstalled(): Promise<boolean> {
  try {
    await run(REDIS_SERVER_BIN, ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** Like {@link requireRedis} for tests that start their own `redis-server`. */
export async function requireRedisServerBinary(what: string): Promise<boolean> {
  if (await redisServerInstalled()) return true;
  return skipOrFail(`${REDIS_SERVER_BIN} is not installed: ${what} cannot run.`);
}

/** A key prefix no other test (or engineer) uses. */
export function uniquePrefix(label: string): string {
  return `earshot-test:${label}:${randomUUID().slice(0, 8)}:`;
}

/** Deletes every key under `prefix` on the shared server (SCAN + UNLINK). */
export async function cleanupPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(
        cursor,
        'MATCH',
        `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`,
        'COUNT',
        1000,
      );
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // best effort
  } finally {
    client.disconnect();
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port whose +10000 companion (the cluster bus port) is free too. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error('no free port found');
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** True if a Redis answers PING: one short-lived client that never retries. */
async function pingRedis(
  target: string | { port: number; host: string; password?: string; tls?: { ca: Buffer } },
  connectTimeout = 300,
): Promise<boolean> {
  const options = {
    lazyConnect: true,
    connectTimeout,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  };
  const client =
    typeof target === 'string' ? new Redis(target, options) : new Redis({ ...target, ...options });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function pingPort(port: number, password?: string): Promise<boolean> {
  return pingRedis({ port, host: '127.0.0.1', ...(password === undefined ? {} : { password }) });
}

/** A private redis-server process. */
export class PrivateRedis {
  private proc: ChildProcess | undefined;
  readonly url: string;

  private constructor(
    readonly port: number,
    private readonly args: string[],
    private readonly ping: (port: number) => Promise<boolean> = pingPort,
    scheme = 'redis',
  ) {
    this.url = `${scheme}://127.0.0.1:${port}`;
  }

  /**
   * Starts a TLS-only `redis-server` with a throwaway CA and server certificate (SAN
   * 127.0.0.1) made with openssl in `dir`. Returns the server and the CA to trust.
   */
  static async startTls(dir: string): Promise<{ server: PrivateRedis; ca: Buffer }> {
    const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
    await ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=earshot-test-ca',
    );
    await ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    );
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    await ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '1',
      '-extfile',
      'san.ext',
    );
    const ca = readFileSync(join(dir, 'ca.crt'));
    const port = await freePort();
    const args = [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--tls-cert-file',
      join(dir, 'server.crt'),
      '--tls-key-file',
      join(dir, 'server.key'),
      '--tls-ca-cert-file',
      join(dir, 'ca.crt'),
      '--tls-auth-clients',
      'no',
    ];
    const ping = (p: number) => pingRedis({ port: p, host: '127.0.0.1', tls: { ca } }, 500);
    const server = new PrivateRedis(port, args, ping, 'rediss');
    await server.launch();
    return { server, ca };
  }

  /** Starts `redis-server` on a free port (no persistence) and waits until it answers. */
  static async start(extraArgs: string[] = []): Promise<PrivateRedis> {
    const port = await freePort();
    const r = new PrivateRedis(port, [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      ...extraArgs,
    ]);
    await r.launch();
    return r;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** (Re)starts the process on the same port. */
  async launch(): Promise<void> {
    this.proc = spawn(REDIS_SERVER_BIN, this.args, { stdio: 'ignore' });
    await waitFor(() => this.ping(this.port), 10_000, `redis-server on port ${this.port}`);
  }

  /** SIGKILL, as a crash would; resolves once the process has exited. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p === undefined || p.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGKILL');
    await exited;
    this.proc = undefined;
  }

  /** Freezes the process (connections stay open, nothing answers): a hung Redis. */
  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }

  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.thaw();
    await this.kill();
  }
}

/** A private 3-master Redis Cluster (no replicas). */
export class PrivateCluster {
  private constructor(
    readonly nodes: PrivateRedis[],
    private readonly dir: string,
  ) {}

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  static async start(masters = 3): Promise<PrivateCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-cluster-'));
    const nodes: PrivateRedis[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        nodes.push(
          await PrivateRedis.start([
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${i}.conf`),
            '--cluster-node-timeout',
            '2000',
            '--dir',
            dir,
          ]),
        );
      }
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      for (const n of nodes) {
        await waitFor(
          async () => {
            const c = new Redis({
              port: n.port,
              host: '127.0.0.1',
              maxRetriesPerRequest: 0,
              retryStrategy: () => null,
            });
            c.on('error', () => undefined);
            try {
              const info = (await c.call('CLUSTER', 'INFO')) as string;
              return info.includes('cluster_state:ok');
            } finally {
              c.disconnect();
            }
          },
          15_000,
          'cluster_state:ok',
        );
      }
    } catch (err) {
      for (const n of nodes) await n.stop();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new PrivateCluster(nodes, dir);
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
