/** @module cli/files — file helpers with the manners the CLI needs (O_EXCL, clear errors). */

import { lstat, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CliError } from './errors.ts';

/**
 * Writes `data` to a file that must not exist yet (O_EXCL: an existing file, or a symlink planted
 * in its place, is never followed or overwritten).
 */
export async function writeNewFile(path: string, data: string | Uint8Array, mode: number, what: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', mode);
  } catch (error) {
    throw fileError(error, path, what);
  }
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Turns a node:fs error into a CliError saying what could not be done and why. */
export function fileError(error: unknown, path: string, what: string): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'EEXIST':
      return new CliError(`${what} ${path} already exists`, {
        hint: 'sealdrop never overwrites a file; choose another name or move the old file away first',
        cause: error,
      });
    case 'ENOENT':
      return new CliError(`${what} ${path} does not exist`, { hint: 'check the path', cause: error });
    case 'EACCES':
    case 'EPERM':
      return new CliError(`no permission to use ${what} ${path}`, { cause: error });
    case 'ENOTDIR':
      return new CliError(`${what} ${path}: a part of the path is not a folder`, { cause: error });
    case 'EISDIR':
      return new CliError(`${what} ${path} is a folder, not a file`, { cause: error });
    case 'ENOSPC':
      return new CliError(`the disk is full while writing ${what} ${path}`, { cause: error });
    default:
      return new CliError(`could not use ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Resolves a path from the command line against the io's working directory. */
export function resolvePath(cwd: string, path: string): string {
  return resolve(cwd, path);
}

/** Whether anything (a file, a folder, even a dangling symbolic link) stands at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
