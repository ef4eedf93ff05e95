import { performanceMonitor } from './default.js';
import type { Labels } from './labels.js';
import type { PerformanceMonitor } from './monitor.js';
import { type TrackedDecorator, trackedWith } from './tracked-decorator.js';

/**
 * Method decorator recording every call into a monitor (default: the shared
 * `performanceMonitor`). Works on sync and async methods, keeps `this`, and works under TC39
 * decorators and legacy `experimentalDecorators` alike.
 *
 * @example
 * ```ts
 * class CompanyApi {
 *   @tracked(OP.companyApi, { method: 'getLoad' })
 *   async getLoad(id: string) { return fetchLoad(id); }
 * }
 * ```
 */
export function tracked(name?: string, labels?: Labels, monitor?: PerformanceMonitor): TrackedDecorator {
  return trackedWith(monitor ?? (() => performanceMonitor), name, labels);
}
