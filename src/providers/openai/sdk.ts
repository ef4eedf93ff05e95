/**
 * Loads the `openai` package on first use, so importing `earshot/openai` never fails and a
 * missing SDK gives a MissingDependencyError that says what to install.
 * @module
 */
import type { OpenAI } from 'openai';
import { registerSecret } from '../../errors.js';
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
export interface OpenAIConnection {
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
export function createClient(sdk: OpenAISdk, c: OpenAIConnection): OpenAIClient {
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
export interface OpenAIClientOptions extends Omit<OpenAIConnection, 'apiKey'> {
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
