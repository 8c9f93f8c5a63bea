/** @module cli/commands/keygen — `sealdrop keygen [--v6] -o NAME`: make the newsroom key pair. */

import { unlink } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { booleanOption, parseCommandArgs, requireOption } from '../args.ts';
import { CliError } from '../errors.ts';
import { fileError, pathExists, resolvePath, writeNewFile } from '../files.ts';
import type { CliIo } from '../io.ts';

/** A generic user id: the key is the newsroom's, not a person's, and GnuPG needs one to import it. */
export const NEWSROOM_USER_ID = { name: 'Sealdrop newsroom' };

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'keygen',
    args,
    { output: { type: 'string', short: 'o' }, v6: { type: 'boolean' } },
    { min: 0, max: 0, name: 'nothing' },
  );
  const name = requireOption('keygen', parsed, 'output', 'name the key pair: sealdrop keygen -o newsroom');
  const v6 = booleanOption(parsed, 'v6');
  const base = resolvePath(io.cwd, name);
  const publicPath = `${base}.pub.asc`;
  const secretPath = `${base}.sec.asc`;

  // Refuse early, before asking for a passphrase, if either file is already there.
  for (const [path, what] of [[publicPath, 'public key file'], [secretPath, 'secret key file']] as const) {
    if (await pathExists(path)) throw fileError(Object.assign(new Error('exists'), { code: 'EEXIST' }), path, what);
  }

  const passphrase = await io.readPassphrase('passphrase for the new secret key: ', {
    confirm: 'the same passphrase again: ',
  });
  if (passphrase.length === 0) {
    throw new CliError('refusing to make a secret key without a passphrase', {
      hint: 'the secret key must be locked even on the offline machine; choose a long passphrase',
    });
  }

  const { publicKey, privateKey } = await openpgp.generateKey(
    v6
      ? { type: 'curve25519', userIDs: [NEWSROOM_USER_ID], passphrase, format: 'armored', config: { v6Keys: true } }
      : { type: 'ecc', curve: 'curve25519Legacy', userIDs: [NEWSROOM_USER_ID], passphrase, format: 'armored' },
  );
  const key = await openpgp.readKey({ armoredKey: publicKey });

  await writeNewFile(secretPath, privateKey, 0o600, 'secret key file');
  try {
    await writeNewFile(publicPath, publicKey, 0o644, 'public key file');
  } catch (error) {
    // Never leave half a pair behind: the secret we just made is useless without its public half.
    await unlink(secretPath).catch(() => undefined);
    throw error;
  }

  io.stdout.write(`${key.getFingerprint()}\n`);
  io.stderr.write(
    `sealdrop: wrote ${publicPath} (give this one to the server: NEWSROOM_KEY_FILE)\n` +
      `sealdrop: wrote ${secretPath} (secret, mode 0600)\n` +
      'sealdrop: keep the secret key and its passphrase on the offline machine only; make an offline backup of both\n',
  );
}

