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
    const message = error instanceof Error ? error.message : String(error);
    throw usageError(`${command}: ${lowerFirst(message.replace(/\.$/, ''))}`, `run "sealdrop --help" for the options of ${command}`);
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

function lowerFirst(text: string): string {
  return text.length > 0 ? text[0]!.toLowerCase() + text.slice(1) : text;
}
