/**
 * Exit codes of the `earshot` CLI (documented in docs/cli.md). Stable: scripts and CI gates
 * branch on them.
 * @module
 */
export const EXIT = {
  /** The run finished and every target was met. */
  ok: 0,
  /** A target was missed, the error rate was too high, or no turn completed: the CI gate failed. */
  targetsMissed: 1,
  /** Bad command line: unknown command or flag, bad value, unknown preset. Nothing ran. */
  usage: 2,
  /** The target could not be reached (`--url` refused the connection, Redis or a provider unreachable). */
  unreachable: 3,
  /** `earshot report`: the run file is missing, not JSON, or not an earshot run. */
  badRunFile: 4,
  /** A bug or an unexpected failure; the message says what happened. */
  internal: 70,
  /** Interrupted with Ctrl-C (SIGINT) or SIGTERM; partial results were saved and reported. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
