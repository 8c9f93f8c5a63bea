/** @module cli/io — what a command may touch of the outside world, so tests can run it as a child process. */

import { closeSync, openSync, writeSync } from 'node:fs';
import { ReadStream as TtyReadStream } from 'node:tty';
import { CliError, terminalSafe } from './errors.ts';

/** The part of a writable stream the commands use. */
export interface CliWritable {
  write(chunk: string | Uint8Array): boolean;
  /** True when the stream is a terminal (progress bars are drawn only then). */
  isTTY?: boolean;
  columns?: number;
}

export interface ReadPassphraseOptions {
  /**
   * When the passphrase is typed at a terminal, ask a second time with this prompt and refuse a
   * mismatch (used when a new key is made). Ignored when it comes from SEALDROP_PASSPHRASE.
   */
  confirm?: string;
}

export interface CliIo {
  /** Results only (fingerprints, summary tables): what a script would capture. */
  stdout: CliWritable;
  /** Everything else: prompts, notes, progress, errors. */
  stderr: CliWritable;
  /** Input for commands that take `-` as a file name (`sealdrop reply … -`). */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  /** The directory relative paths on the command line are resolved against. */
  cwd: string;
  /**
   * The secret key passphrase: SEALDROP_PASSPHRASE when set, otherwise typed at the terminal
   * (/dev/tty, echo off — never stdin, which may carry data). Throws a CliError when neither exists.
   */
  readPassphrase(prompt: string, options?: ReadPassphraseOptions): Promise<string>;
}

export const PASSPHRASE_ENV = 'SEALDROP_PASSPHRASE';

/**
 * A stream whose text writes go through `terminalSafe`: the last line of defence, behind the
 * `printable` each command applies where it puts outside text into a line. Bytes pass unchanged
 * (no command writes any to a terminal today).
 */
export function guardWritable(stream: NodeJS.WriteStream): CliWritable {
  return {
    write: (chunk) => stream.write(typeof chunk === 'string' ? terminalSafe(chunk) : chunk),
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
  };
}

/** The real process's io. */
export function createNodeIo(): CliIo {
  const env = process.env;
  return {
    stdout: guardWritable(process.stdout),
    stderr: guardWritable(process.stderr),
    stdin: process.stdin,
    env,
    cwd: process.cwd(),
    async readPassphrase(prompt, options = {}) {
      const fromEnv = env[PASSPHRASE_ENV];
      if (fromEnv !== undefined) return fromEnv;
      const first = await readFromTerminal(prompt);
      if (options.confirm !== undefined) {
        const second = await readFromTerminal(options.confirm);
        if (second !== first) {
          throw new CliError('the passphrases do not match', { hint: 'run the command again and type the same passphrase twice' });
        }
      }
      return first;
    },
  };
}

/** Reads one line from the controlling terminal with echo off, as age and gpg do. */
async function readFromTerminal(prompt: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch (error) {
    throw new CliError('a passphrase is needed but there is no terminal to ask it on', {
      hint: `set ${PASSPHRASE_ENV} in the environment, or run the command in a terminal`,
      cause: error,
    });
  }
  const input = new TtyReadStream(fd);
  const echo = (text: string) => {
    // The prompt goes to the terminal itself so that redirected stderr does not swallow it.
    try {
      const out = openSync('/dev/tty', 'w');
      try {
        writeSync(out, text);
      } finally {
        closeSync(out);
      }
    } catch {
      process.stderr.write(text);
    }
  };
  // Echo off before the prompt shows, so nothing typed early appears on screen.
  input.setRawMode(true);
  echo(prompt);
  try {
    return await new Promise<string>((resolve, reject) => {
      let line = '';
      const onData = (data: Buffer) => {
        for (const ch of data.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            cleanup();
            resolve(line);
            return;
          }
          if (ch === '\u0003') {
            cleanup();
            reject(new CliError('interrupted'));
            return;
          }
          if (ch === '\u0004' && line === '') {
            cleanup();
            reject(new CliError('no passphrase was typed (end of input)'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') {
            line = Array.from(line).slice(0, -1).join('');
            continue;
          }
          if (ch === '\u0015') {
            line = '';
            continue;
          }
          line += ch;
        }
      };
      const onError = (error: Error) => {
        cleanup();
        reject(new CliError('could not read the passphrase from the terminal', { cause: error }));
      };
      const cleanup = () => {
        input.off('data', onData);
        input.off('error', onError);
      };
      input.on('data', onData);
      input.on('error', onError);
    });
  } finally {
    input.setRawMode(false);
    input.destroy();
    echo('\n');
  }
}
