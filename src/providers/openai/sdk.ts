/**
 * Loads the `openai` package on first use, so importing `earshot/openai` never fails and a
 * missing SDK gives a MissingDependencyError that says what to install.
 * @module
 */
import type { OpenAI } from 'openai';
import { MissingDependencyError, registerSecret } from '../../errors.js';
import { raceAbort, throwIfAborted } from '../../internal/abort.js';
import type { StageCallOptions } from '../../pipeline/contracts.js';
import { lazyAsync, optionalPeerLoader, resolveApiKey } from '../shared/index.js';

/** The `openai` module. */
export type OpenAISdk = typeof import('openai');

/** An OpenAI client instance (what `new OpenAI(...)` returns). */
export type OpenAIClient = OpenAI;

const load = optionalPeerLoader<OpenAISdk>('openai', () => import('openai'));

/**
 * Imports `openai` (once). `importer` replaces the import, for tests of the missing-package
 * path; leave it out otherwise.
 */
export function loadOpenAISdk(feature: string, importer?: () => Promise<OpenAISdk>): Promise<OpenAISdk> {
  return load(feature, importer);
}

/** Connection settings shared by the language model and the embedder. */
interface OpenAIConnection {
  apiKey: string;
  baseURL?: string | undefined;
  organization?: string | undefined;
  project?: string | undefined;
  timeoutMs: number;
  maxRetries: number;
  logLevel?: 'off' | 'error' | 'warn' | 'info' | 'debug' | undefined;
  defaultHeaders?: Record<string, string> | undefined;
}

/** Builds a client from the loaded SDK. */
function createClient(sdk: OpenAISdk, c: OpenAIConnection): OpenAIClient {
  const Ctor = sdk.OpenAI ?? sdk.default;
  return new Ctor({
    apiKey: c.apiKey,
    ...(c.baseURL === undefined ? {} : { baseURL: c.baseURL }),
    ...(c.organization === undefined ? {} : { organization: c.organization }),
    ...(c.project === undefined ? {} : { project: c.project }),
    ...(c.logLevel === undefined ? {} : { logLevel: c.logLevel }),
    ...(c.defaultHeaders === undefined ? {} : { defaultHeaders: c.defaultHeaders }),
    timeout: c.timeoutMs,
    maxRetries: c.maxRetries,
  });
}

/** The connection options the language model and the embedder share, once parsed. */
interface OpenAIClientOptions extends Omit<OpenAIConnection, 'apiKey'> {
  apiKey?: string | undefined;
  /** An existing client: used as is (its key is still registered as a secret). */
  client?: OpenAIClient | undefined;
}

/**
 * Resolves the API key now (ConfigError naming `OPENAI_API_KEY` when absent) and returns a
 * getter of the client: the one given in `options.client`, or one built on first use from the
 * SDK loaded then (a failed load is retried on the next call).
 */
export function openAIClientSource(
  options: OpenAIClientOptions,
  feature: string,
): () => Promise<OpenAIClient> {
  const given = options.client;
  if (given) {
    registerSecret((given as { apiKey?: string }).apiKey);
    return () => Promise.resolve(given);
  }
  const apiKey = resolveApiKey(options.apiKey, 'OPENAI_API_KEY', 'OpenAI');
  return lazyAsync(() =>
    loadOpenAISdk(feature).then((sdk) =>
      createClient(sdk, {
        apiKey,
        baseURL: options.baseURL,
        organization: options.organization,
        project: options.project,
        defaultHeaders: options.defaultHeaders,
        logLevel: options.logLevel,
        timeoutMs: options.timeoutMs,
        maxRetries: options.maxRetries,
      }),
    ),
  );
}

/** A connection used within this many ms is still warm: prewarm then sends nothing. */
const WARM_FOR_MS = 2_000;

/**
 * Keeps the connection to OpenAI warm for one adapter: {@link OpenAIWarmth.prewarm} sends the
 * cheapest request there is (`GET /models`) unless a call used the connection in the last
 * {@link WARM_FOR_MS}, so DNS, TCP and TLS are paid before the turn needs the model.
 *
 * The SDK sends its requests through Node's `fetch`, whose pool keeps connections alive per
 * origin: the request's socket stays open for the next call.
 */
export class OpenAIWarmth {
  #lastUsedAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | undefined;
  #closed = false;

  /** Notes that a call just used the connection. */
  used(): void {
    this.#lastUsedAt = performance.now();
    this.#closed = false;
  }

  /** Whether {@link close} was called and no call has run since. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Opens the connection now. Never rejects for a provider fault (the next call connects as
   * usual); rejects with AbortedError when `options.signal` aborts.
   */
  async prewarm(
    getClient: () => Promise<OpenAIClient>,
    timeoutMs: number,
    options: StageCallOptions = {},
  ): Promise<void> {
    const what = 'OpenAI prewarm';
    throwIfAborted(options.signal, what);
    if (performance.now() - this.#lastUsedAt < WARM_FOR_MS) return;
    this.#inFlight ??= (async () => {
      try {
        const client = await getClient();
        await client.models.list({ timeout: timeoutMs, maxRetries: 0 });
        // The pool takes the socket back a tick after the body ends: a call made in the same
        // tick would open a second connection.
        await releaseTick();
        this.used();
      } catch (err) {
        // A missing SDK is a setup error the caller must see; a provider fault only leaves
        // the connection cold.
        if (err instanceof MissingDependencyError) throw err;
      } finally {
        this.#inFlight = undefined;
      }
    })();
    await raceAbort(this.#inFlight, options.signal, what);
  }

  /** Forgets the warm state; the SDK's pooled sockets close on their own once idle. */
  close(): Promise<void> {
    this.#lastUsedAt = Number.NEGATIVE_INFINITY;
    this.#closed = true;
    return Promise.resolve();
  }
}

/** Resolves once the fetch pool has taken back the socket of a response just read. */
export function releaseTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
