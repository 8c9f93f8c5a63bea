/**
 * @module cli/tip-signature — who signed a tip (PROTOCOL.md, "Signed tips"): the signature inside
 * the encryption, checked against the source keys of the bundle, and its record beside the
 * decrypted tip (`signature.json`, written by sealdrop, never by the sender: the envelope only
 * ever writes manifest.json, message.txt and files/).
 *
 * API: `checkTipSignature(signatures, keys)` → TipSignature, once the stream has been read to its
 * end; `writeTipSignature(dir, handle, submission, s)`, `readTipSignature(dir)`.
 *
 * File: `{"version":1,"handle":"…","submission":"<id>","status":"signed","fingerprint":"<hex>","publicKey":"<armored>","digest":"<sha-256 hex of the signature packet>"}`,
 * or `"status":"unsigned"`, or `"status":"bad","keyId":"<hex>","why":"…"`.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { KeyID, Signature } from 'openpgp';
import { writeNewFile } from './files.ts';
import type { SourcePublicKey } from './source-key.ts';

/** One entry of OpenPGP.js's `decrypt(…).signatures` (its type is not exported). */
export type VerificationResult = { keyID: KeyID; verified: Promise<unknown>; signature: Promise<Signature> };

export const TIP_SIGNATURE_FILE = 'signature.json';

export type TipSignature =
  /** no signature: an older page, or a streamed tip (> 64 MiB); its source is only the server's word */
  | { status: 'unsigned' }
  /** decrypted by a sealdrop that did not check signatures (no signature.json) */
  | { status: 'unchecked' }
  /**
   * signed by the primary key `fingerprint`, one of the bundle's source keys, and verified;
   * `digest`, the SHA-256 (hex) of the signature packet, tells a replayed tip (absent in older records)
   */
  | { status: 'signed'; fingerprint: string; publicKey: string; digest?: string }
  /** a signature that does not verify, or by a key the bundle does not hold */
  | { status: 'bad'; keyId: string; why: string };

/**
 * The one signature a tip may carry, checked once the plaintext was read to its end (OpenPGP.js
 * settles `verified` then). The signer must be the primary key of one of `keys` (a source key has
 * no signing subkey); which handle's key it must be is decided by the caller (cli/tip-attribution).
 */
export async function checkTipSignature(signatures: VerificationResult[], keys: SourcePublicKey[]): Promise<TipSignature> {
  // settled here, whatever the outcome, so no rejection goes unhandled
  const settled = await Promise.all(signatures.map((s) => s.verified.then(() => undefined, (error: unknown) => error)));
  if (signatures.length === 0) return { status: 'unsigned' };
  const keyId = signatures[0]!.keyID.toHex();
  if (signatures.length > 1) return { status: 'bad', keyId, why: `it carries ${signatures.length} signatures, a Sealdrop page makes one` };
  const signer = keys.find((k) => k.key.getKeyID().toHex() === keyId);
  if (!signer) return { status: 'bad', keyId, why: `it is signed by the key id ${keyId.toUpperCase()}, which is no source key of this bundle` };
  const error = settled[0];
  if (error !== undefined) {
    return { status: 'bad', keyId, why: `its signature by ${signer.handle}'s key does not verify (${error instanceof Error ? error.message : String(error)})` };
  }
  const packet = (await signatures[0]!.signature).write();
  if (!(packet instanceof Uint8Array)) throw new TypeError('expected the signature packet as bytes');
  return { status: 'signed', fingerprint: signer.fingerprint, publicKey: signer.armored, digest: createHash('sha256').update(packet).digest('hex') };
}

export async function writeTipSignature(dir: string, handle: string, submission: string, signature: TipSignature): Promise<void> {
  await writeNewFile(join(dir, TIP_SIGNATURE_FILE), JSON.stringify({ version: 1, handle, submission, ...signature }) + '\n', 0o600, 'tip signature record');
}

/**
 * The record `writeTipSignature` left in a decrypted tip's folder; 'unchecked' when there is none (or it is unreadable).
 * `submission`: the id the record was written for, whatever else it holds (absent in records from before the id was
 * kept): a folder of OUT_DIR is named by the first 8 characters of the id only, and a server could hand a forged tip
 * an id sharing them.
 */
export async function readTipSignature(dir: string): Promise<TipSignature & { handle?: string; submission?: string }> {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(await readFile(join(dir, TIP_SIGNATURE_FILE), 'utf8')) as Record<string, unknown>;
  } catch {
    return { status: 'unchecked' };
  }
  if (j === null || typeof j !== 'object') return { status: 'unchecked' };
  const id = typeof j.submission === 'string' ? { submission: j.submission } : {};
  if (j.version !== 1 || typeof j.handle !== 'string') return { status: 'unchecked', ...id };
  const handle = j.handle;
  if (j.status === 'unsigned') return { status: 'unsigned', handle, ...id };
  if (j.status === 'signed' && typeof j.fingerprint === 'string' && typeof j.publicKey === 'string') {
    return { status: 'signed', fingerprint: j.fingerprint, publicKey: j.publicKey, ...(typeof j.digest === 'string' && /^[0-9a-f]{64}$/.test(j.digest) ? { digest: j.digest } : {}), handle, ...id };
  }
  if (j.status === 'bad' && typeof j.keyId === 'string' && typeof j.why === 'string') return { status: 'bad', keyId: j.keyId, why: j.why, handle, ...id };
  return { status: 'unchecked', ...id };
}
