/**
 * Loading of optional peer dependencies (the provider SDKs, `ws`): a missing package becomes a
 * MissingDependencyError that names the `npm install` to run.
 * @module
 */
import { MissingDependencyError } from '../../errors.js';

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Loads an optional peer dependency, turning "module not found" into a MissingDependencyError
 * that names the `npm install` to run. Other load errors are rethrown untouched.
 *
 * @example
 * ```ts
 * const sdk = await importOptional('@deepgram/sdk', 'DeepgramSpeechToText', () => import('@deepgram/sdk'));
 * ```
 */
async function importOptional<T>(
  packageName: string,
  feature: string,
  importer: () => Promise<T>,
): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    if (isModuleNotFound(err)) throw new MissingDependencyError(packageName, feature, { cause: err });
    throw err;
  }
}

/**
 * A loader of one optional package that imports it once and shares the result; a failure is
 * forgotten, so a later call tries again. A call given `override` runs that importer instead,
 * uncached (for tests of the missing-package path).
 *
 * @example
 * ```ts
 * const load = optionalPeerLoader('openai', () => import('openai'));
 * const sdk = await load('OpenAILanguageModel');
 * ```
 */
export function optionalPeerLoader<T>(
  packageName: string,
  importer: () => Promise<T>,
): (feature: string, override?: () => Promise<T>) => Promise<T> {
  let cached: Promise<T> | undefined;
  return (feature, override) => {
    if (override) return importOptional(packageName, feature, override);
    cached ??= importOptional(packageName, feature, importer).catch((err: unknown) => {
      cached = undefined;
      throw err;
    });
    return cached;
  };
}
