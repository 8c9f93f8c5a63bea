/** @module test/ops/process — run real programs from the operations tests. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a program to its end; never rejects on a non-zero exit (the test asserts on `code`). */
export function runProgram(
  command: string,
  args: string[],
  options: SpawnOptions & { input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const input = options.input;
    const child = spawn(command, args, { ...options, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (input !== undefined) {
      // A program may exit without reading its input: that is its answer, not a test error.
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
  });
}

/** A long-running child whose output is collected, with a way to wait for a line to appear. */
export interface Watched {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp, what: string, limitMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function watchProgram(command: string, args: string[], options: SpawnOptions = {}): Watched {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (d: string) => {
    output += d;
    for (const l of listeners) l();
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr!.setEncoding('utf8').on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const l of listeners) l();
    });
  });
  // Keep an unhandled rejection (spawn error) from hiding the real failure in waitFor.
  exited.catch(() => {});

  const waitFor = (pattern: RegExp, what: string, limitMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = output.match(pattern);
        if (match) return done(() => resolve(match));
        if (child.exitCode !== null || child.signalCode !== null) {
          done(() => reject(new Error(`the program exited before ${what}; its output:\n${output}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no ${what} within ${limitMs} ms; output so far:\n${output}`))),
        limitMs,
      );
      const done = (f: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        f();
      };
      listeners.add(check);
      child.on('error', (e) => done(() => reject(e)));
      check();
    });

  return { child, output: () => output, waitFor, exited };
}
