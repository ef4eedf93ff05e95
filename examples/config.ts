/**
 * Configuration: defaults, overrides, environment variables and redaction.
 * Run: npx tsx --tsconfig examples/tsconfig.json examples/config.ts
 */
import { ConfigError, defineConfig, loadConfigFromEnv } from 'earshot';

const config = defineConfig({
  targets: { operations: { llm: 250 } },
  cache: { namespaces: { faq: { ttlSeconds: 120, graceSeconds: 30 } } },
});
console.log(
  'LLM target',
  config.targets.operations.llm,
  'ms; STT default',
  config.targets.operations.stt,
  'ms',
);

// Secrets are usable by code but never printed.
const fromEnv = loadConfigFromEnv({ OPENAI_API_KEY: 'sk-example-not-a-real-key', EARSHOT_TARGET_E2E: '450' });
console.log(JSON.stringify(fromEnv.providers)); // {"deepgram":{},"openai":{"apiKey":"[REDACTED]"},...}

try {
  defineConfig({ targets: { percentile: 101 }, cache: { namespaces: { faq: { ttlSeconds: 0 } } } });
} catch (err) {
  if (err instanceof ConfigError) console.log(err.message); // lists every bad path
}

// Unknown keys are errors too, with a suggestion (a JSON config file is not type-checked).
const fromFile: unknown = JSON.parse('{"cache":{"namespace":{"faq":{"ttlSeconds":60}}}}');
try {
  defineConfig(fromFile as Parameters<typeof defineConfig>[0]);
} catch (err) {
  if (err instanceof ConfigError) console.log(err.message); // cache.namespace: unknown key; did you mean "namespaces"?
}
