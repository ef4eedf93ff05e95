/**
 * Terminal output: colour through `node:util` `styleText` (Node ≥ 20.12; plain text on older
 * Node), only when the stream is a TTY that wants colour (`NO_COLOR`, `FORCE_COLOR`,
 * `TERM=dumb` honoured by `tty.WriteStream.hasColors`). No escape sequences are written by hand.
 * @module
 */
import { clearLine, cursorTo } from 'node:readline';
import * as util from 'node:util';
import type { TextStyle } from '../report/text-report.js';

/** Where the CLI writes. Tests pass their own. */
export interface CliStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; hasColors?: (depth?: number) => boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; hasColors?: (depth?: number) => boolean };
  env: Readonly<Record<string, string | undefined>>;
}

type StyleFormat = 'red' | 'green' | 'yellow' | 'dim' | 'bold' | 'cyan';
type StyleTextFn = (format: StyleFormat, text: string, options?: { validateStream?: boolean }) => string;
// Typed loosely on purpose: absent on Node < 20.12, and its options argument is Node ≥ 22.13.
const styleText = (util as unknown as { styleText?: StyleTextFn }).styleText;

/** Whether to colour `stream`: a TTY with colours, unless NO_COLOR; FORCE_COLOR forces it. */
export function wantsColor(stream: CliStreams['stdout'], env: CliStreams['env']): boolean {
  if (!styleText) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (!stream.isTTY) return false;
  return typeof stream.hasColors === 'function' ? stream.hasColors() : env.TERM !== 'dumb';
}

/** A {@link TextStyle} for `stream`: colour when wanted, identity otherwise. */
export function styleFor(stream: CliStreams['stdout'], env: CliStreams['env']): TextStyle {
  if (!wantsColor(stream, env) || !styleText) return (_k, t) => t;
  const fmt: Record<Parameters<TextStyle>[0], StyleFormat | StyleFormat[]> = {
    pass: ['green', 'bold'],
    fail: ['red', 'bold'],
    warn: 'yellow',
    dim: 'dim',
    bold: 'bold',
  };
  const apply = styleText;
  // One format per call (arrays arrived later than styleText itself); validateStream: false
  // because we decided above, and Node ≥ 20.18 would otherwise re-check stdout, not our stream.
  return (kind, text) => {
    const f = fmt[kind];
    return (Array.isArray(f) ? f : [f]).reduce((t, one) => apply(one, t, { validateStream: false }), text);
  };
}

/**
 * Live progress on stderr: on a TTY one status line rewritten in place (via `readline`'s
 * cursor helpers), elsewhere a plain line every `plainEveryMs`.
 */
export class ProgressLine {
  readonly #stream: CliStreams['stderr'];
  readonly #tty: boolean;
  readonly #plainEveryMs: number;
  readonly #quiet: boolean;
  #lastPlain = Number.NEGATIVE_INFINITY;
  #shown = false;

  constructor(stream: CliStreams['stderr'], options: { quiet?: boolean; plainEveryMs?: number } = {}) {
    this.#stream = stream;
    this.#quiet = options.quiet ?? false;
    this.#tty = !this.#quiet && Boolean(stream.isTTY);
    this.#plainEveryMs = options.plainEveryMs ?? 5000;
  }

  /** Shows `text` as the current status. */
  update(text: string, elapsedMs: number): void {
    if (this.#quiet) return;
    if (this.#tty) {
      const s = this.#stream as unknown as NodeJS.WriteStream;
      cursorTo(s, 0);
      clearLine(s, 0);
      const cols = typeof s.columns === 'number' && s.columns > 10 ? s.columns - 1 : 200;
      s.write(text.length > cols ? text.slice(0, cols) : text);
      this.#shown = true;
      return;
    }
    if (elapsedMs - this.#lastPlain >= this.#plainEveryMs) {
      this.#lastPlain = elapsedMs;
      this.#stream.write(`${text}\n`);
    }
  }

  /** Prints a line above the status (or just a line, off a TTY); nothing when quiet. */
  log(text: string): void {
    if (this.#quiet) return;
    this.clear();
    this.#stream.write(`${text}\n`);
  }

  /** Removes the status line. */
  clear(): void {
    if (this.#tty && this.#shown) {
      const s = this.#stream as unknown as NodeJS.WriteStream;
      cursorTo(s, 0);
      clearLine(s, 0);
      this.#shown = false;
    }
  }
}
