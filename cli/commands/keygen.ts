/** @module cli/commands/keygen — `sealdrop keygen [--v6] -o NAME`: make the newsroom key pair. */

import { unlink } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { booleanOption, parseCommandArgs, requireOption } from '../args.ts';
import { CliError } from '../errors.ts';
import { fileError, pathExists, resolvePath, writeNewFile } from '../files.ts';
import type { CliIo } from '../io.ts';

/** A generic user id: the key is the newsroom's, not a person's, and GnuPG needs one to import it. */
export const NEWSROOM_USER_ID = { name: 'Sealdrop newsroom' };

/**
 * The shortest passphrase keygen accepts, in characters. The secret key file is locked with
 * OpenPGP's iterated and salted S2K (SHA-256 over 16 MiB per guess, OpenPGP.js's default, which
 * GnuPG 2.2 reads): whoever copies the file can guess offline without any rate limit, so the
 * passphrase carries the key's strength. 12 characters with 6 different ones rule out a word, a
 * name or a date typed alone; the hint asks for what does hold up, several random words.
 */
export const MIN_PASSPHRASE_CHARACTERS = 12;
export const MIN_PASSPHRASE_DISTINCT = 6;

/**
 * Hash algorithms GnuPG 2.2 (Debian 12) knows. OpenPGP.js also lists SHA3-512 and SHA3-256 (ids 14
 * and 12) in a new key's preferences, and `gpg --import` then warns "contains preferences for
 * unavailable algorithms" and tells the editor to run `updpref`: the key says only these instead.
 */
const GNUPG_HASHES = [openpgp.enums.hash.sha512, openpgp.enums.hash.sha256, openpgp.enums.hash.sha384, openpgp.enums.hash.sha224];
const SALT_NOTATION = 'salt@notations.openpgpjs.org';

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
  checkPassphrase(passphrase);

  const { privateKey: unlocked } = await openpgp.generateKey(
    v6
      ? { type: 'curve25519', userIDs: [NEWSROOM_USER_ID], format: 'object', config: { v6Keys: true } }
      : { type: 'ecc', curve: 'curve25519Legacy', userIDs: [NEWSROOM_USER_ID], format: 'object' },
  );
  await keepGnupgHashPreferences(unlocked);
  const publicKey = unlocked.toPublic().armor();
  const privateKey = (await openpgp.encryptKey({ privateKey: unlocked, passphrase })).armor();

  await writeNewFile(secretPath, privateKey, 0o600, 'secret key file');
  try {
    await writeNewFile(publicPath, publicKey, 0o644, 'public key file');
  } catch (error) {
    // Never leave half a pair behind: the secret we just made is useless without its public half.
    await unlink(secretPath).catch(() => undefined);
    throw error;
  }

  // The form the source's page shows above its send button, and `gpg --fingerprint` prints (gpg
  // adds one more space after the fifth group): what the newsroom publishes.
  io.stdout.write(`${formatFingerprint(unlocked.getFingerprint())}\n`);
  io.stderr.write(
    `sealdrop: wrote ${publicPath} (give this one to the server: NEWSROOM_KEY_FILE)\n` +
      `sealdrop: wrote ${secretPath} (secret, mode 0600)\n` +
      'sealdrop: keep the secret key and its passphrase on the offline machine only; make an offline backup of both\n' +
      (v6
        ? 'sealdrop: warning: this is a v6 (RFC 9580) key: GnuPG 2.2 (Debian 12) and sqop cannot import it or decrypt to it; only sealdrop can (leave out --v6 for a key gpg reads)\n'
        : `sealdrop: the fingerprint above is what the source's page shows; "gpg --show-keys --fingerprint ${publicPath}" shows the same groups\n`),
  );
}

/** Refuses a passphrase too short or too repetitive to protect a copied key file. */
export function checkPassphrase(passphrase: string): void {
  const characters = Array.from(passphrase);
  const hint = 'use four or more random words (dice and a word list), e.g. "velvet otter canyon ribbon"; write it down and keep it with the offline machine';
  if (characters.length === 0) {
    throw new CliError('refusing to make a secret key without a passphrase', {
      hint: `the secret key must be locked even on the offline machine; ${hint}`,
    });
  }
  if (characters.length < MIN_PASSPHRASE_CHARACTERS) {
    throw new CliError(`refusing a passphrase of ${characters.length} characters: it must have at least ${MIN_PASSPHRASE_CHARACTERS}`, {
      hint: `whoever copies the secret key file can try short passphrases offline, fast; ${hint}`,
    });
  }
  if (new Set(characters).size < MIN_PASSPHRASE_DISTINCT) {
    throw new CliError(`refusing a passphrase of only ${new Set(characters).size} different characters: it must have at least ${MIN_PASSPHRASE_DISTINCT}`, {
      hint: `repeated characters are guessed first; ${hint}`,
    });
  }
}

/**
 * Rewrites the key's self-signatures (user id certifications, and a v6 key's direct-key signature,
 * which carry the preferences) to name only hashes GnuPG 2.2 has, and signs them again.
 */
async function keepGnupgHashPreferences(key: openpgp.PrivateKey): Promise<void> {
  const config = { ...openpgp.config };
  // the typings of openpgp 6 leave out what this needs (salt, the config argument, directSignatures)
  type Resignable = openpgp.SignaturePacket & {
    salt: Uint8Array | null;
    sign(key: unknown, data: object, date: Date | undefined, detached: boolean, config: object): Promise<void>;
  };
  const fix = async (signature: Resignable, data: object) => {
    if (signature.preferredHashAlgorithms === null) return;
    signature.preferredHashAlgorithms = signature.preferredHashAlgorithms.filter((id) => GNUPG_HASHES.includes(id));
    // OpenPGP.js refuses to sign again over its own salt notation (v4) and a v6 salt is fresh per signature
    signature.rawNotations = signature.rawNotations.filter((notation) => notation.name !== SALT_NOTATION);
    if (signature.version === 6) signature.salt = null;
    await signature.sign(key.keyPacket, data, signature.created ?? undefined, false, config);
  };
  for (const user of key.users) {
    for (const signature of user.selfCertifications) await fix(signature as Resignable, { userID: user.userID, key: key.keyPacket });
  }
  for (const signature of (key as unknown as { directSignatures: Resignable[] }).directSignatures) await fix(signature, { key: key.keyPacket });
}
