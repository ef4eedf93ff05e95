/**
 * API-key resolution shared by the provider adapters.
 * @module
 */
import { ConfigError, registerSecret } from '../../errors.js';

/**
 * The API key from options, else from `process.env[envName]`; registered as a secret so no
 * earshot error or report ever prints it. Throws ConfigError naming both places when absent.
 *
 * @example
 * ```ts
 * const key = resolveApiKey(options.apiKey, 'DEEPGRAM_API_KEY', 'Deepgram');
 * ```
 */
export function resolveApiKey(explicit: string | undefined, envName: string, provider: string): string {
  const key = explicit ?? (typeof process !== 'undefined' ? process.env[envName] : undefined);
  if (key === undefined || key.trim() === '') {
    // The message is printed as `apiKey: <message>`, and redaction treats a long word after
    // `apiKey:` as a key value: start with a short word so the provider's name survives.
    throw new ConfigError(
      [
        {
          path: 'apiKey',
          message: `no ${provider} API key: pass { apiKey } or set the ${envName} environment variable.`,
        },
      ],
      { source: `${provider} adapter` },
    );
  }
  registerSecret(key);
  return key;
}
