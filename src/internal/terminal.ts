/**
 * Text from outside (Redis, run files, server bodies) printed to a terminal must not drive the
 * terminal: an ESC starts a control sequence (colours, cursor moves, OSC 8 links, window
 * titles), CR/LF forge table rows, BEL rings. One helper strips them everywhere the CLI prints
 * foreign text.
 * @internal
 * @module
 */

// C0 controls (including ESC, CR, LF, TAB, BEL), DEL, C1 controls (0x80–0x9f: CSI and OSC have
// one-byte forms), and the Unicode line / paragraph separators and bidi overrides that reorder
// what a reader sees.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Replaces every control character of `text` with `replacement` (default `'?'`, so the reader
 * sees that something was there), leaving printable text, including non-ASCII, unchanged.
 *
 * @example
 * ```ts
 * stripControl('e2e\u001b[31m\r\nforged'); // 'e2e?[31m??forged'
 * ```
 */
export function stripControl(text: string, replacement = '?'): string {
  return text.replace(CONTROL, replacement);
}
