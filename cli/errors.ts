/** @module cli/errors — the one error type the `sealdrop` command reports to its user. */

export interface CliErrorOptions {
  /** A short suggestion for the likely mistake, printed as `sealdrop: hint: …`. */
  hint?: string;
  /** Process exit code; 1 by default, 2 for usage mistakes. */
  exitCode?: number;
  cause?: unknown;
}

/**
 * An error meant for the person at the terminal: the message is printed as
 * `sealdrop: error: <message>` (no capital initial, no period), then the hint if any.
 * Anything thrown that is not a CliError is a bug and is reported as such by main.ts.
 */
export class CliError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Exit code for a command line that could not be understood. */
export const EXIT_USAGE = 2;

/** A CliError for a command line that could not be understood (exit code 2). */
export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, { hint: hint ?? 'run "sealdrop --help" for usage', exitCode: EXIT_USAGE });
}

/**
 * Text from outside (a server's error message, a name from a bundle) made safe for a terminal:
 * control characters (C0, DEL, C1) become \u escapes, so nobody can clear the screen, move the
 * cursor or forge a line such as "sealdrop: pulled 3 submissions".
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
