/**
 * `earshot fleet`: fleet-wide percentiles per operation, merged from the histograms every
 * instance publishes to Redis (`FleetPublisher` in `earshot/redis`).
 * @module
 */
import { InvalidArgumentError, UpstreamError } from '../../errors.js';
import { stripControl } from '../../internal/terminal.js';
import { formatMs } from '../../report/format.js';
import { bool, type CommandSpec, int, type ParsedValues, str } from '../args.js';
import type { CliContext } from '../common.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

export const fleetSpec: CommandSpec = {
  name: 'fleet',
  summary: 'fleet-wide P50–P99 per operation, merged from the histograms instances publish to Redis',
  usage: 'earshot fleet [--redis URL] [--windows N] [--window-ms MS] [--prefix P] [--json]',
  flags: {
    redis: {
      type: 'string',
      value: 'URL',
      description: 'Redis the fleet publishes to (default: $REDIS_URL)',
    },
    windows: { type: 'string', value: 'N', description: 'merge the last N windows (default 5)' },
    'window-ms': {
      type: 'string',
      value: 'MS',
      description: 'window length the publishers use (default 60000)',
    },
    prefix: {
      type: 'string',
      value: 'P',
      description: 'key prefix the publishers use (default earshot-fleet)',
    },
    json: { type: 'boolean', description: 'print the merged statistics as JSON' },
    help: { type: 'boolean', short: 'h', description: 'show this help' },
  },
  examples: [
    'REDIS_URL=redis://cache:6379 earshot fleet --windows 10',
    'earshot fleet --json | jq .operations',
  ],
};

export async function fleetCommand(ctx: CliContext, values: ParsedValues): Promise<ExitCode> {
  const url = str(values, 'redis') ?? ctx.streams.env.REDIS_URL;
  if (!url) throw new InvalidArgumentError('Which Redis? Pass --redis redis://host:6379 or set REDIS_URL.');
  if (!/^rediss?:\/\//.test(url))
    throw new InvalidArgumentError('--redis must start with redis:// or rediss://.');
  const windows = int(values, 'windows', { min: 1, max: 10_000 }) ?? 5;
  const windowMs = int(values, 'window-ms', { min: 1000, max: 86_400_000 }) ?? 60_000;
  const prefix = str(values, 'prefix');
  // ioredis is an optional peer: loaded only for this command.
  const { createRedisClient, FleetReader } = await import('../../redis/index.js');
  const redis = createRedisClient(url, { connectTimeoutMs: 2000 }, { commandTimeout: 5000 });
  // Connection errors surface through connect() below; without a listener ioredis prints them.
  redis.on('error', () => {});
  try {
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      throw new UpstreamError(
        `Redis at ${new URL(url).host} is not reachable: start it or fix --redis / REDIS_URL.`,
        { provider: 'redis', retryable: true },
        { cause: err },
      );
    }
    const cacheKeyPrefix = ctx.streams.env.EARSHOT_REDIS_KEY_PREFIX;
    const reader = new FleetReader(redis, {
      windowMs,
      ...(prefix ? { prefix } : {}),
      ...(cacheKeyPrefix ? { cacheKeyPrefix } : {}),
    });
    const stats = await reader.read({ windows });
    // Every blob read was invalid: nothing to show, and the data needs a look (exit 4, like a
    // run file that is not an earshot run).
    const allBad = stats.skipped.length > 0 && stats.instances.length === 0;
    if (bool(values, 'json')) {
      const { operations, ...rest } = stats;
      const ops = operations.map(({ histogram: _h, ...op }) => op);
      ctx.streams.stdout.write(`${JSON.stringify({ ...rest, operations: ops })}\n`);
      return allBad ? EXIT.badRunFile : EXIT.ok;
    }
    const out = ctx.streams.stdout;
    out.write(
      `fleet: ${stats.instances.length} instance(s), ${stats.windows.length} of ${windows} window(s) of ${windowMs / 1000} s with data\n\n`,
    );
    if (stats.skipped.length > 0) {
      const err = ctx.streams.stderr;
      err.write(`skipped ${stats.skipped.length} invalid blob(s) (left out of the merge):\n`);
      for (const s of stats.skipped.slice(0, 20)) {
        err.write(
          `  ${s.instance === undefined ? '(window key)' : stripControl(s.instance)}: ${stripControl(s.reason)}\n`,
        );
      }
      if (stats.skipped.length > 20) err.write(`  … and ${stats.skipped.length - 20} more\n`);
      if (allBad) {
        err.write('every blob in these windows was invalid: no fleet statistics to show\n');
        return EXIT.badRunFile;
      }
    }
    if (stats.operations.length === 0) {
      out.write(
        'no samples published in these windows (is a FleetPublisher running with this prefix and window?)\n',
      );
      return EXIT.ok;
    }
    const header = ['operation', 'count', 'errors', 'instances', 'p50', 'p90', 'p95', 'p99', 'max'];
    const rows = stats.operations.map((o) => [
      stripControl(o.name),
      String(o.count),
      String(o.errors),
      String(o.instances),
      formatMs(o.p50),
      formatMs(o.p90),
      formatMs(o.p95),
      formatMs(o.p99),
      formatMs(o.maxMs),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) =>
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    out.write(
      `${[line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n')}\n`,
    );
    out.write(
      'times in ms; percentiles of the merged histograms (never an average of per-instance percentiles)\n',
    );
    return EXIT.ok;
  } finally {
    redis.disconnect();
  }
}
