/**
 * Reading and judging company-API answers: bodies read under a byte cap, JSON checked
 * against the zod schema (ResponseValidationError naming the bad fields), and the server's
 * own error message picked out of an error body, redacted.
 * @module
 */
import type { z } from 'zod';
import { type ConfigIssue, ResponseValidationError, redactedPrefix } from '../errors.js';
import { stripControl } from '../internal/terminal.js';
import { COMPANY_API_PROVIDER } from './contract.js';
import { apiErrorBodySchema } from './schemas.js';

/** @internal thrown by {@link readCapped} when a body is over the cap. */
export class BodyTooLarge extends Error {}

/** @internal the body as text, or BodyTooLarge once it passes `maxBytes` (declared or read). */
export async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new BodyTooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function zodIssuesToFields(error: z.ZodError, max = 10): ConfigIssue[] {
  const fields = error.issues
    .slice(0, max)
    .map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  if (error.issues.length > max) fields.push({ path: '', message: `and ${error.issues.length - max} more` });
  return fields;
}

/** @internal the body of a 2xx answer parsed as JSON and validated by `schema`. */
export function parseResponse<T>(
  method: string,
  body: string,
  schema: z.ZodType<T>,
  status: number,
  requestId: string | undefined,
): T {
  const details = {
    provider: COMPANY_API_PROVIDER,
    status,
    retryable: false,
    ...(requestId ? { requestId } : {}),
  };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ResponseValidationError(
      `The company API answered ${method} with a body that is not JSON`,
      [{ path: '', message: `not valid JSON (${body.length} characters)` }],
      details,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ResponseValidationError(
      `The company API answered ${method} with a body that does not match its schema`,
      zodIssuesToFields(parsed.error),
      details,
    );
  }
  return parsed.data;
}

/**
 * @internal the server's `code: message` from an error body (redacted, control characters such as
 * ESC and BEL replaced, so a hostile server cannot drive the terminal that prints the error).
 */
export function errorMessageOf(body: string): string | undefined {
  try {
    const parsed = apiErrorBodySchema.safeParse(JSON.parse(body));
    if (parsed.success)
      return stripControl(redactedPrefix(`${parsed.data.error.code}: ${parsed.data.error.message}`, 200));
  } catch {
    // not JSON: the status says enough
  }
  return undefined;
}
