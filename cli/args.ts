/** @module cli/args — command-line parsing shared by the commands (node:util parseArgs, strict). */

import { parseArgs } from 'node:util';
import { usageError } from './errors.ts';

export type OptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/**
 * Parses `args` for `command` with strict rules: unknown options and missing option values are
 * usage errors (exit code 2) naming the option, never silently ignored.
 */
export function parseCommandArgs(
  command: string,
  args: string[],
  options: OptionSpec,
  positionals: { min: number; max: number; name: string },
): ParsedArgs {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true }) as ParsedArgs;
  } catch (error) {
    throw parseArgsError(command, error, options);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) {
    throw usageError(`${command}: missing ${positionals.name}`, `run "sealdrop --help" for the usage of ${command}`);
  }
  if (count > positionals.max) {
    const extra = parsed.positionals.slice(positionals.max).map((p) => JSON.stringify(p)).join(' ');
    throw usageError(`${command}: unexpected argument ${extra}`, `run "sealdrop --help" for the usage of ${command}`);
  }
  return parsed;
}

/** The single string value of an option, or undefined. */
export function stringOption(parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a repeatable string option. */
export function stringOptions(parsed: ParsedArgs, name: string): string[] {
  const value = parsed.values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

export function booleanOption(parsed: ParsedArgs, name: string): boolean {
  return parsed.values[name] === true;
}

/** An option that must be given, or a usage error naming it. */
export function requireOption(command: string, parsed: ParsedArgs, name: string, hint: string): string {
  const value = stringOption(parsed, name);
  if (value === undefined || value === '') throw usageError(`${command}: missing --${name}`, hint);
  return value;
}

/** The options of a command as its user types them: `-o/--output VALUE, --v6`. */
export function describeOptions(options: OptionSpec): string {
  return Object.entries(options)
    .map(([name, spec]) => `${spec.short ? `-${spec.short}/` : ''}--${name}${spec.type === 'string' ? ' VALUE' : ''}`)
    .join(', ');
}

/**
 * node:util parseArgs's own error text ("Unknown option '--x'. To specify a positional argument
 * starting with a '-', place it at the end…") in the CLI's voice: what was wrong, then the options
 * the command does take.
 */
function parseArgsError(command: string, error: unknown, options: OptionSpec): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const known = Object.keys(options).length > 0
    ? `${command} takes ${describeOptions(options)}; run "sealdrop --help"`
    : `${command} takes no option; run "sealdrop --help"`;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return usageError(`unknown option ${quoted}`, known);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '-o, --output <value>' argument missing" or "Option '--v6' does not take an argument"
    const name = quoted.replace(/ <value>$/, '').replace(', ', '/');
    if (/argument missing/.test(message)) return usageError(`option ${name} of ${command} needs a value`, known);
    if (/does not take an argument/.test(message)) return usageError(`option ${name} of ${command} takes no value`, known);
  }
  return usageError(`${command}: ${message.replace(/\.$/, '').replace(/^./, (c) => c.toLowerCase())}`, known);
}
