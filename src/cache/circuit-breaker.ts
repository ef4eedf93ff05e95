import { InvalidArgumentError } from '../errors.js';

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default 3. */
  failureThreshold?: number;
  /** How long the circuit stays open before one probe call is let through, in ms. Default 500. */
  openMs?: number;
  /** Each failed probe doubles the open time, up to this, in ms. Default 5000. */
  maxOpenMs?: number;
  /** Monotonic clock in ms (tests). Default `performance.now`. */
  now?: () => number;
}

/** `closed`: calls go through. `open`: calls are refused. `half-open`: one probe call is in flight. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * A small circuit breaker: after `failureThreshold` consecutive failures it refuses calls for
 * `openMs`, then lets exactly one probe through; a successful probe closes it, a failed one
 * reopens it for twice as long (capped at `maxOpenMs`). `reset()` closes it at once (the Redis
 * tier calls it when the client reports it reconnected, so the first call after Redis comes
 * back is not refused).
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 500 });
 * if (!breaker.allow()) return undefined; // skip the backend
 * try { const v = await call(); breaker.success(); return v; } catch (e) { breaker.failure(); throw e; }
 * ```
 */
export class CircuitBreaker {
  private readonly threshold: number;
  private readonly baseOpenMs: number;
  private readonly maxOpenMs: number;
  private readonly now: () => number;
  private failures = 0;
  private currentOpenMs: number;
  private openUntil = 0;
  private _state: CircuitState = 'closed';
  private _opened = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    this.threshold = options.failureThreshold ?? 3;
    this.baseOpenMs = options.openMs ?? 500;
    this.maxOpenMs = Math.max(options.maxOpenMs ?? 5000, this.baseOpenMs);
    this.now = options.now ?? (() => performance.now());
    if (!Number.isInteger(this.threshold) || this.threshold < 1) {
      throw new InvalidArgumentError(`failureThreshold must be a positive integer, got ${this.threshold}.`);
    }
    if (!(this.baseOpenMs > 0)) throw new InvalidArgumentError(`openMs must be > 0, got ${this.baseOpenMs}.`);
    this.currentOpenMs = this.baseOpenMs;
  }

  /** The current state. */
  get state(): CircuitState {
    return this._state;
  }

  /** How many times the circuit opened since creation. */
  get timesOpened(): number {
    return this._opened;
  }

  /** True if a call may go through now (in `open` state, true once the open time passed: that call is the probe). */
  allow(): boolean {
    if (this._state === 'closed') return true;
    if (this._state === 'half-open') return false;
    if (this.now() < this.openUntil) return false;
    this._state = 'half-open';
    return true;
  }

  /** Reports a successful call. */
  success(): void {
    this.failures = 0;
    if (this._state !== 'closed') {
      this._state = 'closed';
      this.currentOpenMs = this.baseOpenMs;
    }
  }

  /** Reports a failed call. */
  failure(): void {
    if (this._state === 'half-open') {
      this.currentOpenMs = Math.min(this.currentOpenMs * 2, this.maxOpenMs);
      this.open();
      return;
    }
    this.failures++;
    if (this._state === 'closed' && this.failures >= this.threshold) this.open();
  }

  /** Closes the circuit at once (e.g. the connection was re-established). */
  reset(): void {
    this.failures = 0;
    this._state = 'closed';
    this.currentOpenMs = this.baseOpenMs;
  }

  /** Opens the circuit at once (e.g. the connection was lost). */
  trip(): void {
    if (this._state !== 'open') this.open();
  }

  private open(): void {
    this._state = 'open';
    this._opened++;
    this.openUntil = this.now() + this.currentOpenMs;
  }
}
