/**
 * The `@tracked` decorator applied by hand (both decorator protocols), in this module's own
 * instance of earshot: what it records into, after reset(), and what it refuses.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { PerformanceMonitor, performanceMonitor, tracked } from '../../src/perf/index.js';

const method = function format(this: unknown, id: string) {
  return `${(this as { p: string }).p}${id}`;
};

describe('@tracked applied by hand', () => {
  it('TC39 form: wraps the method, keeps its name and this, and records into the given monitor', () => {
    const m = new PerformanceMonitor();
    const wrapped = tracked(
      'fmt',
      undefined,
      m,
    )(method, {
      kind: 'method',
      name: 'format',
    } as ClassMethodDecoratorContext) as typeof method;
    expect(wrapped.name).toBe('format');
    expect(wrapped.call({ p: 'L-' }, '7')).toBe('L-7');
    expect(m.stats('fmt')?.count).toBe(1);
  });

  it('legacy form: replaces the descriptor value and records under the method name by default', () => {
    const m = new PerformanceMonitor();
    const descriptor: PropertyDescriptor = { value: method, writable: true, configurable: true };
    const out = tracked(undefined, undefined, m)({}, 'format', descriptor) as PropertyDescriptor;
    expect(out).toBe(descriptor);
    expect((out.value as typeof method).name).toBe('format');
    expect(Object.getOwnPropertyDescriptor(out.value, 'name')?.configurable).toBe(true);
    expect((out.value as typeof method).call({ p: '' }, 'x')).toBe('x');
    expect(m.stats('format')?.count).toBe(1);
  });

  it('without a monitor it records into the shared performanceMonitor', () => {
    const name = `tracked_default_${process.pid}_${Date.now()}`;
    const wrapped = tracked(name)(method, {
      kind: 'method',
      name: 'format',
    } as ClassMethodDecoratorContext) as typeof method;
    wrapped.call({ p: '' }, 'x');
    expect(performanceMonitor.stats(name)?.count).toBe(1);
  });

  it('after reset() the wrapper records into the new series, not the dropped one', () => {
    const m = new PerformanceMonitor();
    const wrapped = tracked(
      'op',
      undefined,
      m,
    )(method, {
      kind: 'method',
      name: 'format',
    } as ClassMethodDecoratorContext) as typeof method;
    wrapped.call({ p: '' }, 'a');
    m.reset();
    wrapped.call({ p: '' }, 'b');
    wrapped.call({ p: '' }, 'c');
    expect(m.stats('op')?.count).toBe(2);
  });

  it('refuses fields, accessors and properties, saying what it got', () => {
    const decorator = tracked('op', undefined, new PerformanceMonitor());
    expect(() => decorator(undefined as never, { kind: 'field', name: 'x' } as never)).toThrow(
      new InvalidArgumentError('@tracked decorates methods, not fields.'),
    );
    expect(() => decorator({}, 'x', { value: 42 } as never)).toThrow(
      new InvalidArgumentError('@tracked decorates methods (got a property or accessor).'),
    );
    expect(() => decorator({}, 'x', undefined as never)).toThrow(InvalidArgumentError);
  });
});
