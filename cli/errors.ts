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
 * Characters that must never reach a terminal from outside text: every C0 control (including tab,
 * newline and carriage return, which would let a name start a forged line such as
 * "sealdrop: decrypted 3 submissions"), DEL, every C1 control (U+0080–U+009F: a UTF-8 terminal
 * reads U+009B as CSI and U+009D as OSC, as it reads ESC [ and ESC ]), the Unicode line and
 * paragraph separators, and the bidirectional controls (Bidi_Control: U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069), which reorder what follows them on the line.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Text from outside (a server's message, a name or a refusal reason from a bundle or an envelope, a
 * file name on disk) made safe for a terminal: each character above becomes a visible `\uXXXX`
 * escape, so nobody can clear the screen, move the cursor, set the title, write the clipboard
 * (OSC 52), reorder a line or forge one. The one escaping function of the CLI: every line it prints
 * that holds outside text goes through it, and `createNodeIo` applies it again to everything written
 * (`terminalSafe`), so a path the audit missed still cannot reach the terminal raw. Idempotent: its
 * output holds none of these characters.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The CLI's own output made safe as a whole: `printable` on everything except the line breaks the
 * CLI writes itself and the progress bar's "return to the start of the line and clear it"
 * (`\r ESC [ 2K`, cli/progress.ts). Outside text must already have been through `printable`, which
 * turned its own newlines into `\u000a`.
 */
export function terminalSafe(text: string): string {
  return text
    .split(/(\n|\r\u001b\[2K)/)
    .map((part, i) => (i % 2 === 1 ? part : printable(part)))
    .join('');
}
