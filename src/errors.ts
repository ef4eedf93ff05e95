/**
 * Every error earshot throws is an {@link EarshotError} with a stable `code`, so callers can
 * branch on `err.code` (or `instanceof`) without parsing messages.
 *
 * Secrets never reach a message: values registered with {@link registerSecret} (API keys,
 * Redis passwords — earshot registers the ones it loads) are replaced by `[REDACTED]` in the
 * message, `toString()` and `toJSON()` of every EarshotError, and URL credentials are masked.
 *
 * @example
 * ```ts
 * try { await cache.set('k', value, 'unknown-ns'); }
 * catch (err) { if (err instanceof EarshotError && err.code === 'EARSHOT_CACHE_NAMESPACE_UNKNOWN') ... }
 * ```
 * @module
 */

/** Placeholder that replaces a secret wherever earshot prints text. */
export const REDACTED = '[REDACTED]';

const secrets = new Set<string>();
// Secrets shorter than this are not registered: scrubbing "a" or "1234" would mangle text.
const MIN_SECRET_LENGTH = 6;

/**
 * Registers a secret so that earshot scrubs it from every error message, report and log line.
 * earshot calls this for every API key and password it loads; call it for your own secrets
 * that might end up in an error (for example a token in a custom fetch).
 */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

/** Forgets a secret registered with {@link registerSecret} (for tests and key rotation). */
export function unregisterSecret(value: string): void {
  secrets.delete(value);
}

// user:password@ in URLs of any scheme (redis://, rediss://, https://...).
// The scheme is bounded (RFC schemes are short): unbounded, every position of a long run of
// letters restarted a scan to its end, and redact() was quadratic (40 000 letters: 2.3 s).
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]{0,31}:\/\/)([^\s/@:]*):([^\s/@]*)@/gi;
// Bearer/Token/key headers or query strings that leak into messages from fetch libraries.
const AUTH_LIKE =
  /\b(authorization|api[-_]?key|xi-api-key|token|password)(["']?\s*[:=]\s*["']?)(bearer\s+|token\s+)?[^\s"',;&]{8,}/gi;

/**
 * Returns `text` with every registered secret, URL credential and auth-header-like value
 * replaced by `[REDACTED]`. Safe to call on any string; cheap when nothing matches.
 */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  out = out.replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
  out = out.replace(
    AUTH_LIKE,
    (_m, name: string, sep: string, scheme: string | undefined) => `${name}${sep}${scheme ?? ''}${REDACTED}`,
  );
  return out;
}

/**
 * The first `maxChars` characters of `text`, redacted *before* the cut: cutting first can leave
 * half a key (or a URL cut before its `@`) that {@link redact} no longer recognizes. Only a
 * bounded prefix is scanned, so a megabyte of server text costs no more than its start.
 *
 * @example
 * ```ts
 * const detail = redactedPrefix(serverMessage, 200);
 * ```
 */
export function redactedPrefix(text: string, maxChars: number): string {
  // Any secret or credential that straddles the cut lies within this margin.
  return redact(text.slice(0, maxChars + 4096)).slice(0, maxChars);
}

/** Options every {@link EarshotError} accepts. */
export interface EarshotErrorOptions {
  /** The underlying error, kept for debugging (its message is not copied into ours). */
  cause?: unknown;
}

/** Stable error codes. Branch on these, not on messages. */
export type EarshotErrorCode =
  | 'EARSHOT_CONFIG_INVALID'
  | 'EARSHOT_INVALID_ARGUMENT'
  | 'EARSHOT_TARGET_MISSED'
  | 'EARSHOT_CARDINALITY_EXCEEDED'
  | 'EARSHOT_TIMEOUT'
  | 'EARSHOT_ABORTED'
  | 'EARSHOT_MISSING_DEPENDENCY'
  | 'EARSHOT_CACHE_KEY_INVALID'
  | 'EARSHOT_CACHE_NAMESPACE_UNKNOWN'
  | 'EARSHOT_CACHE_TTL_INVALID'
  | 'EARSHOT_CACHE_VALUE_TOO_LARGE'
  | 'EARSHOT_CACHE_SERIALIZATION'
  | 'EARSHOT_CACHE_LOADER_FAILED'
  | 'EARSHOT_CACHE_UNAVAILABLE'
  | 'EARSHOT_NOT_FOUND'
  | 'EARSHOT_REQUEST_REJECTED'
  | 'EARSHOT_UPSTREAM_FAILED'
  | 'EARSHOT_RESPONSE_INVALID'
  | 'EARSHOT_PROVIDER_FAILED'
  | 'EARSHOT_TOOL_FAILED'
  | 'EARSHOT_PIPELINE_FAILED';

/**
 * Base class of every error earshot throws. `code` is stable across versions; `message` says
 * what went wrong and what to do, with secrets redacted.
 */
export class EarshotError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: EarshotErrorCode;

  constructor(code: EarshotErrorCode, message: string, options: EarshotErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${redact(this.message)}`;
  }

  /** A JSON-safe view (name, code, message and the subclass's public fields), secrets redacted. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: redact(this.message) };
    for (const [k, v] of Object.entries(this)) {
      if (k === 'code' || k === 'cause') continue;
      out[k] = typeof v === 'string' ? redact(v) : v;
    }
    return out;
  }

  /**
   * `console.log(err)` / `util.inspect(err)`: Node's usual rendering, scrubbed. It prints the
   * `cause` chain, and a provider SDK's error there often quotes the server's answer ("Incorrect
   * API key provided: sk-…") or the request URL with its credentials.
   */
  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: Record<string, unknown>,
    inspect: (value: unknown, options: Record<string, unknown>) => string,
  ): string {
    return redact(inspect(this, { ...options, customInspect: false }));
  }
}

/** One invalid field of a configuration object. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `targets.stt` or `cache.namespaces.llm.ttlSeconds`. */
  path: string;
  /** Why the value was rejected. Never contains the value of a secret field. */
  message: string;
}

/** Invalid configuration. `issues` lists every bad path, not just the first. */
export class ConfigError extends EarshotError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options: EarshotErrorOptions & { source?: string } = {}) {
    const where = options.source ? ` (${options.source})` : '';
    const list = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n');
    super(
      'EARSHOT_CONFIG_INVALID',
      `Invalid earshot configuration${where}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${list}`,
      options,
    );
    this.issues = issues.map((i) => ({ path: i.path, message: redact(i.message) }));
  }
}

/** A function or method was called with an argument it cannot accept. */
export class InvalidArgumentError extends EarshotError {
  constructor(message: string, options: EarshotErrorOptions = {}) {
    super('EARSHOT_INVALID_ARGUMENT', message, options);
  }
}

/** The result of checking one latency target (see `PerformanceMonitor.checkTargets`). */
export interface TargetFailure {
  operation: string;
  percentile: number;
  targetMs: number;
  actualMs: number | null;
  count: number;
  /** Failed calls (outcome `error`/`timeout`), when the check counted them. */
  errors?: number;
  /** `errors / count`. */
  errorRate?: number;
  /** The error-rate gate applied. */
  maxErrorRate?: number;
  /** Why a `fail`: the latency, the error rate, or both. */
  failedOn?: 'latency' | 'errors' | 'latency+errors';
  status: 'fail' | 'no-data';
}

function describeTargetFailure(f: TargetFailure): string {
  if (f.status === 'no-data')
    return `  - ${f.operation}: no data (target P${f.percentile} ≤ ${f.targetMs} ms)`;
  const parts: string[] = [];
  if (f.failedOn !== 'errors') {
    parts.push(
      f.actualMs === null
        ? `no successful call (target P${f.percentile} ≤ ${f.targetMs} ms)`
        : `P${f.percentile} ${f.actualMs.toFixed(1)} ms > target ${f.targetMs} ms`,
    );
  }
  if (f.failedOn === 'errors' || f.failedOn === 'latency+errors') {
    parts.push(
      `error rate ${((f.errorRate ?? 0) * 100).toFixed(1)}% > ${((f.maxErrorRate ?? 0) * 100).toFixed(1)}% (${f.errors ?? 0} failed)`,
    );
  }
  return `  - ${f.operation}: ${parts.join('; ')} (${f.count} samples)`;
}

/** One or more latency targets were missed (or had no data), thrown by `assertTargets`. */
export class TargetError extends EarshotError {
  readonly failures: readonly TargetFailure[];

  constructor(failures: readonly TargetFailure[], options: EarshotErrorOptions = {}) {
    const lines = failures.map(describeTargetFailure);
    super(
      'EARSHOT_TARGET_MISSED',
      `${failures.length} latency target(s) missed:\n${lines.join('\n')}`,
      options,
    );
    this.failures = failures;
  }
}

/** The monitor refused to create another labelled series (see `maxSeries`). */
export class CardinalityError extends EarshotError {
  constructor(message: string, options: EarshotErrorOptions = {}) {
    super('EARSHOT_CARDINALITY_EXCEEDED', message, options);
  }
}

/** An operation did not finish within its deadline. */
export class TimeoutError extends EarshotError {
  /** The deadline that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, options: EarshotErrorOptions = {}) {
    super('EARSHOT_TIMEOUT', message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** An operation was cancelled through its AbortSignal (for example barge-in). */
export class AbortedError extends EarshotError {
  constructor(message = 'The operation was aborted.', options: EarshotErrorOptions = {}) {
    super('EARSHOT_ABORTED', message, options);
  }
}

/** An optional peer dependency is not installed. The message names the `npm install` to run. */
export class MissingDependencyError extends EarshotError {
  readonly packageName: string;
  constructor(packageName: string, feature: string, options: EarshotErrorOptions = {}) {
    super(
      'EARSHOT_MISSING_DEPENDENCY',
      `${feature} needs the optional package "${packageName}". Install it with: npm install ${packageName}`,
      options,
    );
    this.packageName = packageName;
  }
}

/** Codes a {@link CacheError} can carry. */
export type CacheErrorCode = Extract<EarshotErrorCode, `EARSHOT_CACHE_${string}`>;

/** A cache call was given bad input (key, namespace, TTL, value) or its loader failed. */
export class CacheError extends EarshotError {
  constructor(code: CacheErrorCode, message: string, options: EarshotErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Fields shared by errors that come from a remote service. */
export interface RemoteErrorDetails {
  /** The service: `company_api`, `openai`, `deepgram`, `elevenlabs`, `pinecone`, ... */
  provider: string;
  /** HTTP status, when there was a response. */
  status?: number;
  /** Whether retrying the same request may succeed (timeouts, 429, 5xx, resets). */
  retryable: boolean;
  /** The provider's request id, when it sent one: quote it to their support. */
  requestId?: string;
}

abstract class RemoteError extends EarshotError {
  readonly provider: string;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly requestId: string | undefined;

  constructor(
    code: EarshotErrorCode,
    message: string,
    details: RemoteErrorDetails,
    options: EarshotErrorOptions = {},
  ) {
    super(code, message, options);
    this.provider = details.provider;
    this.status = details.status;
    this.retryable = details.retryable;
    this.requestId = details.requestId;
  }
}

/** The remote resource does not exist (HTTP 404). */
export class NotFoundError extends RemoteError {
  constructor(
    message: string,
    details: Omit<RemoteErrorDetails, 'retryable'>,
    options: EarshotErrorOptions = {},
  ) {
    super(
      'EARSHOT_NOT_FOUND',
      message,
      { ...details, status: details.status ?? 404, retryable: false },
      options,
    );
  }
}

/** The remote service rejected the request (a 4xx other than 404): fix the request, do not retry. */
export class RequestRejectedError extends RemoteError {
  constructor(message: string, details: RemoteErrorDetails, options: EarshotErrorOptions = {}) {
    super('EARSHOT_REQUEST_REJECTED', message, details, options);
  }
}

/** The remote service failed (5xx, timeout, reset) after every allowed retry. */
export class UpstreamError extends RemoteError {
  constructor(message: string, details: RemoteErrorDetails, options: EarshotErrorOptions = {}) {
    super('EARSHOT_UPSTREAM_FAILED', message, details, options);
  }
}

/** The remote service answered with a body that does not match its schema. */
export class ResponseValidationError extends RemoteError {
  /** The fields that failed validation, as dotted paths with the reason. */
  readonly fields: readonly ConfigIssue[];
  constructor(
    message: string,
    fields: readonly ConfigIssue[],
    details: RemoteErrorDetails,
    options: EarshotErrorOptions = {},
  ) {
    const list = fields.map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ');
    super('EARSHOT_RESPONSE_INVALID', `${message} (${list})`, details, options);
    this.fields = fields;
  }
}

/** A provider SDK call (Deepgram, OpenAI, ElevenLabs, Pinecone) failed. */
export class ProviderError extends RemoteError {
  constructor(message: string, details: RemoteErrorDetails, options: EarshotErrorOptions = {}) {
    super('EARSHOT_PROVIDER_FAILED', message, details, options);
  }
}

/** A tool called by the language model failed. */
export class ToolError extends EarshotError {
  readonly tool: string;
  constructor(tool: string, message: string, options: EarshotErrorOptions = {}) {
    super('EARSHOT_TOOL_FAILED', message, options);
    this.tool = tool;
  }
}

/** A pipeline turn failed in a way no stage error explains. */
export class PipelineError extends EarshotError {
  constructor(message: string, options: EarshotErrorOptions = {}) {
    super('EARSHOT_PIPELINE_FAILED', message, options);
  }
}

/** True if `err` is an {@link EarshotError} (optionally with the given code). */
export function isEarshotError(err: unknown, code?: EarshotErrorCode): err is EarshotError {
  return err instanceof EarshotError && (code === undefined || err.code === code);
}
