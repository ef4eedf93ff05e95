import { InvalidArgumentError } from '../errors.js';
import { type CacheManager, createCacheManager } from './cache-manager.js';
import type { GetOrSetOptions } from './call-options.js';
import { stableKey } from './stable-key.js';

/** Options of {@link cached}. */
export interface CachedOptions extends Omit<GetOrSetOptions, 'signal' | 'forceRefresh'> {
  /**
   * Builds the key from the method's arguments (`this` is the instance). Default:
   * `stableKey('<Class>.<method>', args)`.
   */
  key?: (...args: never[]) => string;
  /** The cache to use (or a function returning it). Default: {@link getDefaultCacheManager}. */
  cache?: CacheManager | (() => CacheManager);
}

/** A decorator usable both as a TC39 method decorator and a legacy (`experimentalDecorators`) one. */
export type CachedDecorator = {
  // TC39 (TypeScript ≥ 5.0 default).
  <This, Args extends unknown[], R>(
    value: (this: This, ...args: Args) => Promise<R>,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
  ): (this: This, ...args: Args) => Promise<R>;
  // Legacy experimentalDecorators.
  <T extends (...args: never[]) => Promise<unknown>>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> | undefined;
};

let defaultCache: CacheManager | undefined;

/**
 * The cache used by `@cached` when no `cache` option is given: created on first use as a
 * memory-only cache recording into the shared `performanceMonitor`. Replace it with
 * {@link setDefaultCacheManager} (e.g. with a Redis-backed one) at startup.
 */
export function getDefaultCacheManager(): CacheManager {
  defaultCache ??= createCacheManager();
  return defaultCache;
}

/** Replaces the cache used by `@cached` without a `cache` option. */
export function setDefaultCacheManager(cache: CacheManager): void {
  defaultCache = cache;
}

function ownerName(self: unknown): string {
  if (typeof self === 'function') return self.name || 'anonymous';
  if (typeof self === 'object' && self !== null)
    return (self as { constructor?: { name?: string } }).constructor?.name || 'Object';
  return 'anonymous';
}

/**
 * Method decorator caching an async method's results with `getOrSet` (single-flight, grace,
 * fail-safe included). Works under TC39 decorators and legacy `experimentalDecorators`. The
 * default key is `<Class>.<method>(args…)` (deep-equal arguments share an entry, across
 * instances); pass `key` to pick what identifies a call.
 *
 * @example
 * ```ts
 * class CompanyApi {
 *   @cached('company_api:load', { key: (id: string) => id })
 *   async getLoad(id: string) { return fetchLoad(id); }
 * }
 * ```
 */
export function cached(namespace: string, options: CachedOptions = {}): CachedDecorator {
  const { key, cache, ...rest } = options;
  const resolve = typeof cache === 'function' ? cache : () => cache ?? getDefaultCacheManager();
  const make = (original: (...args: unknown[]) => Promise<unknown>, methodName: string) => {
    const wrapped = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      let k: string;
      try {
        k =
          key === undefined
            ? stableKey(`${ownerName(this)}.${methodName}`, args)
            : (key as (...a: unknown[]) => string).apply(this, args);
      } catch (err) {
        return Promise.reject(err);
      }
      return resolve().getOrSet(k, namespace, () => original.apply(this, args), rest);
    };
    Object.defineProperty(wrapped, 'name', { value: methodName, configurable: true });
    return wrapped;
  };
  const decorator = (a: unknown, b: unknown, c?: unknown): unknown => {
    if (typeof b === 'object' && b !== null && 'kind' in b) {
      const ctx = b as ClassMethodDecoratorContext;
      if (ctx.kind !== 'method')
        throw new InvalidArgumentError(`@cached decorates methods, not ${ctx.kind}s.`);
      return make(a as (...args: unknown[]) => Promise<unknown>, String(ctx.name));
    }
    const descriptor = c as PropertyDescriptor | undefined;
    if (!descriptor || typeof descriptor.value !== 'function') {
      throw new InvalidArgumentError('@cached decorates methods (got a property or accessor).');
    }
    descriptor.value = make(descriptor.value as (...args: unknown[]) => Promise<unknown>, String(b));
    return descriptor;
  };
  return decorator as CachedDecorator;
}
