/**
 * The method decorator behind `monitor.tracked` and the free `tracked`: one TC39/legacy
 * decorator shape, and the per-method cache of the ok/error series pair it records into.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { type Labels, validateOperationName } from './labels.js';
import type { Series } from './series.js';

/** @internal the ok and error series of one (operation, static labels). */
export interface SeriesPair {
  ok: Series;
  error: Series;
}

/** @internal what a decorated method needs of a monitor (a `PerformanceMonitor`). */
interface PairInvoker {
  /** Bumped by `reset()`: a cached pair is resolved again when it changes. */
  readonly generation: number;
  pairFor(name: string, labels?: Labels): SeriesPair;
  invoke(pair: SeriesPair, fn: (...args: never[]) => unknown, self: unknown, args: unknown[]): unknown;
}

/** A decorator usable both as a TC39 method decorator and a legacy (`experimentalDecorators`) one. */
export type TrackedDecorator = {
  // TC39 (TypeScript ≥ 5.0 default).
  <This, Args extends unknown[], R>(
    value: (this: This, ...args: Args) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
  ): (this: This, ...args: Args) => R;
  // Legacy experimentalDecorators.
  <T>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> | undefined;
};

/** @internal shared by `monitor.tracked` and the free `tracked`. */
export function trackedWith(
  monitor: PairInvoker | (() => PairInvoker),
  name?: string,
  labels?: Labels,
): TrackedDecorator {
  const getMonitor = typeof monitor === 'function' ? monitor : () => monitor;
  const make = (original: (...args: never[]) => unknown, methodName: string) => {
    const op = name ?? methodName;
    validateOperationName(op);
    let pair: SeriesPair | undefined;
    let pairOf: PairInvoker | undefined;
    let generation = -1;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const m = getMonitor();
      if (pairOf !== m || generation !== m.generation) {
        pair = m.pairFor(op, labels);
        pairOf = m;
        generation = m.generation;
      }
      return m.invoke(pair!, original, this, args);
    };
    Object.defineProperty(wrapped, 'name', { value: methodName, configurable: true });
    return wrapped;
  };
  const decorator = (a: unknown, b: unknown, c?: unknown): unknown => {
    if (typeof b === 'object' && b !== null && 'kind' in b) {
      const ctx = b as ClassMethodDecoratorContext;
      if (ctx.kind !== 'method') {
        throw new InvalidArgumentError(`@tracked decorates methods, not ${ctx.kind}s.`);
      }
      return make(a as (...args: never[]) => unknown, String(ctx.name));
    }
    const descriptor = c as PropertyDescriptor | undefined;
    if (!descriptor || typeof descriptor.value !== 'function') {
      throw new InvalidArgumentError('@tracked decorates methods (got a property or accessor).');
    }
    descriptor.value = make(descriptor.value as (...args: never[]) => unknown, String(b));
    return descriptor;
  };
  return decorator as TrackedDecorator;
}
