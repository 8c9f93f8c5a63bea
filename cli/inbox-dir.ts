/**
 * @module cli/inbox-dir — where the offline machine keeps what `sealdrop decrypt` has read: the
 * local inbox (issue 14) and the source keys pinned by their envelopes (issue 10). One folder,
 * chosen in this order: `--inbox DIR`, then SEALDROP_INBOX, then `~/sealdrop-inbox`.
 */

import { join } from 'node:path';
import { usageError } from './errors.ts';
import { resolvePath } from './files.ts';
import type { CliIo } from './io.ts';

export const INBOX_ENV = 'SEALDROP_INBOX';
export const DEFAULT_INBOX_NAME = 'sealdrop-inbox';

/** The inbox folder for this run (not created here); `option` is the value of `--inbox`, if given. */
export function resolveInboxDir(option: string | undefined, io: CliIo): string {
  if (option !== undefined && option !== '') return resolvePath(io.cwd, option);
  const fromEnv = io.env[INBOX_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return resolvePath(io.cwd, fromEnv);
  const home = io.env.HOME;
  if (home === undefined || home === '') {
    throw usageError('no inbox folder: HOME is not set', `give --inbox DIR or set ${INBOX_ENV}`);
  }
  return join(home, DEFAULT_INBOX_NAME);
}
