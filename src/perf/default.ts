import { PerformanceMonitor } from './monitor.js';

/**
 * The shared monitor for apps that want one. earshot's modules record here unless you pass
 * a `monitor` option. Use `new PerformanceMonitor()` for isolated ones (tests, multi-tenant).
 */
export const performanceMonitor: PerformanceMonitor = new PerformanceMonitor();
