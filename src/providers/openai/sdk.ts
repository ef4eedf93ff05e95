/**
 * Loads the `openai` package on first use, so importing `earshot/openai` never fails and a
 * missing SDK gives a MissingDependencyError that says what to install.
 * @module
 */
import type { OpenAI } from 'openai';
import { importOptional } from './support.js';

/** The `openai` module. */
export type OpenAISdk = typeof import('openai');

/** An OpenAI client instance (what `new OpenAI(...)` returns). */
export type OpenAIClient = OpenAI;

let cached: Promise<OpenAISdk> | undefined;

/**
 * Imports `openai` (once). `importer` replaces the import, for tests of the missing-package
 * path; leave it out otherwise.
 */
export function loadOpenAISdk(feature: string, importer?: () => Promise<OpenAISdk>): Promise<OpenAISdk> {
  if (importer) return importOptional('openai', feature, importer);
  cached ??= importOptional('openai', feature, () => import('openai')).catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
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
