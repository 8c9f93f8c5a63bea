/** @module cli/identities — newsroom secret key files given with -i: read, recognise, unlock. */

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import * as openpgp from 'openpgp';
import { CliError, printable } from './errors.ts';
import { fileError, resolvePath } from './files.ts';
import { PASSPHRASE_ENV, type CliIo } from './io.ts';

export interface Identity {
  path: string;
  fingerprint: string;
  /** Every key id (primary and subkeys, 16 lower-case hex) a PKESK packet may name for this key. */
  keyIds: Set<string>;
  key: openpgp.PrivateKey;
}

/** Reads a secret key file (armored or binary) without unlocking it. */
export async function readSecretKeyFile(cwd: string, path: string): Promise<{ path: string; key: openpgp.PrivateKey }> {
  const fullPath = resolvePath(cwd, path);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(fullPath);
  } catch (error) {
    throw fileError(error, fullPath, 'secret key file');
  }
  const text = looksArmored(bytes) ? new TextDecoder().decode(bytes) : undefined;
  if (text !== undefined && text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    throw new CliError(`${path} is a public key, not a secret key`, {
      hint: 'use the secret half: NAME.sec.asc, written by "sealdrop keygen" next to NAME.pub.asc',
    });
  }
  try {
    const key = text !== undefined
      ? await openpgp.readPrivateKey({ armoredKey: text })
      : await openpgp.readPrivateKey({ binaryKey: bytes });
    return { path: fullPath, key };
  } catch (error) {
    throw new CliError(`${path} is not an OpenPGP secret key`, {
      hint: 'give the newsroom secret key file with -i (NAME.sec.asc, or a key exported with "gpg --export-secret-keys")',
      cause: error,
    });
  }
}

/** Reads and unlocks every -i key, asking a passphrase for each locked one. */
export async function loadIdentities(paths: string[], io: CliIo): Promise<Identity[]> {
  const identities: Identity[] = [];
  const known: string[] = []; // passphrases that unlocked an earlier key: old and new keys often share one
  for (const path of paths) {
    const { path: fullPath, key } = await readSecretKeyFile(io.cwd, path);
    const unlocked = (await tryKnownPassphrases(key, known)) ?? (await unlockKey(key, path, io, known));
    const identity: Identity = {
      path: fullPath,
      fingerprint: unlocked.getFingerprint(),
      keyIds: new Set(unlocked.getKeyIDs().map((id) => id.toHex())),
      key: unlocked,
    };
    if (identities.some((known) => known.fingerprint === identity.fingerprint)) continue;
    identities.push(identity);
  }
  return identities;
}

async function tryKnownPassphrases(key: openpgp.PrivateKey, known: string[]): Promise<openpgp.PrivateKey | undefined> {
  if (key.isDecrypted()) return undefined;
  for (const passphrase of known) {
    try {
      return await openpgp.decryptKey({ privateKey: key, passphrase });
    } catch {
      // not this one
    }
  }
  return undefined;
}

async function unlockKey(key: openpgp.PrivateKey, path: string, io: CliIo, known: string[]): Promise<openpgp.PrivateKey> {
  if (key.isDecrypted()) {
    io.stderr.write(`sealdrop: warning: ${printable(path)} is not protected by a passphrase\n`);
    return key;
  }
  const passphrase = await io.readPassphrase(`passphrase for ${basename(path)}: `);
  try {
    const unlocked = await openpgp.decryptKey({ privateKey: key, passphrase });
    known.push(passphrase);
    return unlocked;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/passphrase/i.test(message)) {
      throw new CliError(`wrong passphrase for the secret key ${path}`, {
        hint: io.env[PASSPHRASE_ENV] !== undefined
          ? `${PASSPHRASE_ENV} does not hold this key's passphrase; correct it, or unset it to be asked`
          : 'type it again; check the keyboard layout and caps lock',
        cause: error,
      });
    }
    throw new CliError(`could not unlock the secret key ${path}: ${message}`, { cause: error });
  }
}

function looksArmored(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 200)).trimStart();
  return head.startsWith('-----BEGIN PGP');
}
