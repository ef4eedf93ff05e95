import type { CacheErrorInfo } from './options.js';
import type { SingleFlight } from './single-flight.js';
import type { NamespaceState } from './stats.js';
import type { InvalidationBus, InvalidationMessage } from './tier.js';
import type { TierStack } from './tier-stack.js';

/** @internal What {@link Invalidation} needs from its manager. */
interface InvalidationDeps {
  readonly instanceId: string;
  readonly tiers: TierStack;
  readonly flights: SingleFlight;
  /**
   * The state of a namespace this instance already knows, or `undefined`. Never creates one:
   * a namespace this instance never used has nothing in its L1 and no load in flight, so a
   * message naming it needs no work (and a flood of made-up names allocates nothing).
   */
  known(namespace: string): NamespaceState | undefined;
  /** Every namespace this instance knows (to drop their L1 copies after a reconnect). */
  all(): Iterable<NamespaceState>;
  report(error: unknown, info: CacheErrorInfo): void;
}

/**
 * @internal Cross-instance invalidation of L1 copies: publishes what this instance changed,
 * applies what others changed (drop the L1 copy, supersede a running load, wake lock waiters),
 * and drops every L1 copy after the bus reconnects (messages sent meanwhile are lost).
 */
export class Invalidation {
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly bus: InvalidationBus | undefined,
    private readonly tierName: string,
    private readonly deps: InvalidationDeps,
  ) {}

  /** Subscribes to the bus (no-op without one); a failure is reported, not thrown. */
  async subscribe(): Promise<void> {
    if (this.bus === undefined) return;
    try {
      this.unsubscribe = await this.bus.subscribe({
        onMessage: (m) => this.receive(m),
        onReconnect: () => this.resync(),
      });
    } catch (err) {
      this.deps.report(err, { operation: 'subscribe', tier: this.tierName });
    }
  }

  async close(): Promise<void> {
    if (this.unsubscribe !== undefined)
      await this.unsubscribe().catch((err: unknown) => this.deps.report(err, { operation: 'subscribe' }));
  }

  /** Tells other instances that `keys` (or, without keys, the whole namespace) changed. */
  publish(ns: NamespaceState, keys: string[] | undefined): void {
    const bus = this.bus;
    if (bus === undefined) return;
    const message: InvalidationMessage =
      keys === undefined
        ? { source: this.deps.instanceId, namespace: ns.name }
        : { source: this.deps.instanceId, namespace: ns.name, keys };
    bus
      .publish(message)
      .catch((err: unknown) =>
        this.deps.report(err, { operation: 'publish', namespace: ns.name, tier: this.tierName }),
      );
  }

  /** Applies a message from another instance. */
  receive(m: InvalidationMessage): void {
    if (m.source === this.deps.instanceId || typeof m.namespace !== 'string') return;
    const ns = this.deps.known(m.namespace);
    if (ns === undefined) return;
    const { tiers, flights } = this.deps;
    tiers.epoch++;
    if (m.keys === undefined) {
      flights.supersedeNamespace(ns.prefix);
      tiers.dropLocalNamespace(ns);
      flights.wakeNamespace(ns.prefix);
      return;
    }
    for (const key of m.keys) {
      if (typeof key !== 'string') continue;
      const id = ns.prefix + key;
      flights.supersede(id);
      tiers.dropLocal(ns, id);
      flights.wake(id);
    }
  }

  /** The bus came back: we cannot know what was published while we were away, so drop every local copy. */
  resync(): void {
    this.deps.tiers.epoch++;
    this.deps.flights.supersedeNamespace(undefined);
    this.deps.tiers.dropAllLocal(this.deps.all());
  }
}
