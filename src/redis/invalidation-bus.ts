import type { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../cache/deadline.js';
import { safeJsonParse } from '../cache/serializer.js';
import type { InvalidationBus, InvalidationHandlers, InvalidationMessage } from '../cache/tier.js';

type Run = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/** Settings of {@link RedisInvalidationBus}. */
export interface RedisInvalidationBusSettings {
  /** Runs a command behind the tier's deadline and breaker. */
  run: Run;
  /** How long `subscribe` waits for the first subscription, in ms. */
  connectTimeoutMs: number;
  /** Whether the publishing client is earshot's (then the subscriber copies its safe settings). */
  owned: boolean;
}

function parseMessage(text: string): InvalidationMessage | undefined {
  let m: unknown;
  try {
    m = safeJsonParse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const { source, namespace, keys } = m as Record<string, unknown>;
  if (typeof source !== 'string' || typeof namespace !== 'string') return undefined;
  if (keys === undefined) return { source, namespace };
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) return undefined;
  return { source, namespace, keys };
}

/**
 * Cross-instance L1 invalidation over Redis pub/sub: messages carry the namespace and keys
 * (never values). Subscribes on a dedicated connection (a `duplicate()` of the tier's client,
 * with an offline queue so the subscription survives restarts); after that connection comes
 * back from a drop, `onReconnect` tells the manager to drop its L1, since messages published
 * meanwhile are lost. Works on Redis Cluster (classic PUBLISH reaches every node).
 */
export class RedisInvalidationBus implements InvalidationBus {
  private subscriber: Redis | Cluster | undefined;
  private live = false;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly channel: string,
    private readonly settings: RedisInvalidationBusSettings,
  ) {}

  get connected(): boolean {
    return this.live;
  }

  publish(message: InvalidationMessage): Promise<void> {
    const text = JSON.stringify(message);
    return this.settings.run('PUBLISH', () => this.client.publish(this.channel, text)).then(() => undefined);
  }

  async subscribe(handlers: InvalidationHandlers): Promise<() => Promise<void>> {
    const overrides = {
      enableOfflineQueue: true,
      lazyConnect: false,
      maxRetriesPerRequest: null,
      connectionName: 'earshot-bus',
    };
    const sub =
      (this.client as { isCluster?: boolean }).isCluster === true
        ? (this.client as Cluster).duplicate(undefined, { enableOfflineQueue: true, lazyConnect: false })
        : (this.client as Redis).duplicate(overrides);
    this.subscriber = sub;
    let subscribedOnce = false;
    sub.on('error', () => {
      // Reported through the tier's client; the subscriber reconnects on its own.
    });
    sub.on('close', () => {
      this.live = false;
    });
    sub.on('ready', () => {
      // Any (re)connection after the first subscription may have missed messages.
      if (subscribedOnce) {
        // ioredis resubscribes on its own (autoResubscribe) before commands flow again.
        this.live = true;
        handlers.onReconnect();
      }
    });
    sub.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      const m = parseMessage(text);
      if (m !== undefined) handlers.onMessage(m);
    });
    const subscribing = sub.subscribe(this.channel).then(() => {
      this.live = true;
    });
    try {
      // With Redis down there is nothing to wait for: the SUBSCRIBE is queued for when it is back.
      if (this.client.status !== 'ready') throw new Error('not connected');
      await withDeadline(subscribing, this.settings.connectTimeoutMs, 'Redis SUBSCRIBE');
    } catch {
      // Redis is down: the queued SUBSCRIBE goes out when it comes back (and that counts as a reconnect).
      subscribing.catch(() => undefined);
    } finally {
      subscribedOnce = true;
    }
    return async () => {
      this.live = false;
      sub.disconnect();
      if (this.subscriber === sub) this.subscriber = undefined;
    };
  }

  /** Drops the subscription connection. */
  async close(): Promise<void> {
    this.live = false;
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
