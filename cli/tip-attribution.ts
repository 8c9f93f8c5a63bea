/**
 * @module cli/tip-attribution — which source wrote each decrypted tip, as far as the offline
 * machine can prove it (PROTOCOL.md, "Signed tips"; OPERATIONS.md, "Pinned source keys").
 *
 * A tip is the holder's of a key only when it is signed by that key: the signer must be the
 * bundle's key for the tip's handle, and the envelope must name that same key. Then, and only
 * then, handle → key is pinned (cli/key-pins.ts), provided the key is pinned under no other handle
 * (one source, one key, one handle). An unsigned tip (an older page, or a streamed tip) is kept
 * and said to be only the server's word; it never pins. A signature that fails, or is by another
 * key, is an error: the tip is kept, marked QUARANTINE.txt, and pins nothing. A valid tip by a key
 * other than its handle's pin makes the handle disputed: `sealdrop reply --to` then refuses it.
 *
 * API: `bundleSourceKeys(bundle)`; `attributeTips(keys, outcomes, inbox, io)` → the number of
 * errors and the KEY cell of each outcome for decrypt's summary.
 */

import { join } from 'node:path';
import type { Bundle } from './bundle.ts';
import { formatFingerprint } from '../protocol/fingerprint.ts';
import { parseManifest } from '../protocol/envelope.ts';
import { readFile } from 'node:fs/promises';
import { CliError, printable } from './errors.ts';
import { writeNewFile } from './files.ts';
import type { TipAttribution } from './inbox.ts';
import type { CliIo } from './io.ts';
import { checkKeyNotElsewhere, claimKeyForHandle, KeyHandleConflictError, KeyPinConflictError, pinSourceKey, readKeyIndex, readKeyPin, recordKeyDispute, recordSignatureSeen } from './key-pins.ts';
import { readSourcePublicKey, type SourcePublicKey } from './source-key.ts';
import type { SubmissionOutcome } from './submission.ts';
import { readTipSignature, type TipSignature } from './tip-signature.ts';

export const QUARANTINE_FILE = 'QUARANTINE.txt';

/** The first three groups of a fingerprint, as the summary's KEY column shows it. */
export function shortFingerprint(fingerprint: string): string {
  return formatFingerprint(fingerprint).split(' ').slice(0, 3).join(' ');
}

/** Every usable source key of the bundle, by handle (a refused key is the CliError saying why). */
export async function bundleSourceKeys(bundle: Bundle): Promise<Map<string, SourcePublicKey | CliError>> {
  const keys = new Map<string, SourcePublicKey | CliError>();
  for (const { handle } of bundle.sources) {
    keys.set(handle, await readSourcePublicKey(bundle, handle).catch((error: unknown) => {
      if (error instanceof CliError) return error;
      throw error;
    }));
  }
  return keys;
}

export const usableKeys = (keys: Map<string, SourcePublicKey | CliError>): SourcePublicKey[] =>
  [...keys.values()].filter((k): k is SourcePublicKey => !(k instanceof CliError));

type Decrypted = Exclude<SubmissionOutcome, { status: 'failed' }>;

export async function attributeTips(
  keys: Map<string, SourcePublicKey | CliError>,
  outcomes: SubmissionOutcome[],
  inbox: () => string,
  io: CliIo,
): Promise<{ problems: number; keyCells: Map<SubmissionOutcome, string>; attributions: Map<SubmissionOutcome, TipAttribution> }> {
  const warn = (line: string) => io.stderr.write(`sealdrop: warning: ${printable(line)}\n`);
  const error = (line: string, hint: string) => io.stderr.write(`sealdrop: error: ${printable(line)}\nsealdrop: hint: ${printable(hint)}\n`);
  const keyCells = new Map<SubmissionOutcome, string>();
  const attributions = new Map<SubmissionOutcome, TipAttribution>();
  let problems = 0;
  const handleOf = (fingerprint: string) => [...keys].find(([, k]) => !(k instanceof CliError) && k.fingerprint === fingerprint)?.[0];

  /** An error that keeps the tip but marks it: it is not the source's, whatever it says. */
  const quarantine = async (o: Decrypted, cell: string, line: string, hint: string) => {
    problems++;
    keyCells.set(o, cell);
    attributions.set(o, { status: 'quarantined' });
    error(line, hint);
    await writeNewFile(join(o.path, QUARANTINE_FILE), `${line}\n\nsealdrop decrypt kept this tip for the record; it is not shown to be from ${o.submission.handle}: read it as the server's words, not the source's, and do not answer it.\n`, 0o600, 'quarantine note')
      .catch(() => undefined); // there already (a repeated decrypt)
  };

  for (const o of outcomes) {
    if (o.status === 'failed') continue;
    const { handle } = o.submission;
    const id8 = o.submission.id.slice(0, 8);
    const signature: TipSignature = o.status === 'ok' ? o.signature : await readTipSignature(o.path);
    const named = o.status === 'ok' ? o.sourceKeyFingerprint : await fingerprintOfDecrypted(o.path);

    if (signature.status === 'unsigned' || signature.status === 'unchecked') {
      keyCells.set(o, 'unsigned');
      if (signature.status === 'unsigned') attributions.set(o, { status: 'unsigned' });
      warn(
        `${handle}: submission ${id8} is ${signature.status === 'unsigned' ? 'unsigned (an older page, or a tip over 64 MiB)' : 'from a decrypt that did not check signatures'}: which source sent it is only the server's word; it pins no key` +
          (named ? ` (it names ${formatFingerprint(named)}, which anyone holding the public key can write)` : ''),
      );
      continue;
    }
    if (signature.status === 'bad') {
      await quarantine(o, 'BAD SIGNATURE', `${handle}: submission ${id8} is not signed by the source key it claims: ${signature.why}`,
        `kept in quarantine (${QUARANTINE_FILE} in its folder): the server, or someone who can write to it, may have made it; nothing was pinned`);
      continue;
    }
    const signer = signature.fingerprint;
    const key = keys.get(handle);
    // A tip decrypted before keeps what it was found to be then: a later bundle giving its handle
    // another key (or none) says something about the server, not about the tip.
    if (o.status === 'skipped' && (!key || key instanceof CliError || key.fingerprint !== signer)) {
      problems++;
      keyCells.set(o, `${shortFingerprint(signer)} !`);
      error(
        `${handle}: submission ${id8}, decrypted before and signed by ${formatFingerprint(signer)}, comes back with ${key && !(key instanceof CliError) ? `the key ${formatFingerprint(key.fingerprint)}` : 'no usable key'} for ${handle}`,
        'the server changed the key it gives for this handle: do not reply with this bundle; the tip and what the inbox recorded of it are left as they were',
      );
      continue;
    }
    if (!key || key instanceof CliError || key.fingerprint !== signer) {
      const owner = handleOf(signer);
      await quarantine(o, `${shortFingerprint(signer)} !`,
        `${handle}: submission ${id8} is signed by the key ${formatFingerprint(signer)}${owner ? ` of ${owner}` : ''}, not by the key the bundle holds for ${handle}` +
          (key && !(key instanceof CliError) ? ` (${formatFingerprint(key.fingerprint)})` : ''),
        `kept in quarantine (${QUARANTINE_FILE}): the server filed it under ${handle}; nothing was pinned`);
      continue;
    }
    if (named !== signer) {
      await quarantine(o, `${shortFingerprint(signer)} !`,
        `${handle}: submission ${id8} is signed by ${formatFingerprint(signer)} but its envelope names ${named ? formatFingerprint(named) : 'no key'}: a Sealdrop page signs with the key it names`,
        `kept in quarantine (${QUARANTINE_FILE}); nothing was pinned`);
      continue;
    }
    keyCells.set(o, shortFingerprint(signer));
    const attribution = await pinSigned(inbox(), handle, key, o.path, id8);
    // the same signature packet as an earlier tip: the server filed that tip again (any day it chose)
    const first = signature.digest === undefined ? o.submission.id : await recordSignatureSeen(inbox(), signer, signature.digest, o.submission.id);
    if (first !== o.submission.id && attribution.status === 'signed') {
      attribution.replayOf = first;
      keyCells.set(o, `${shortFingerprint(signer)} REPLAY`);
      warn(`${handle}: submission ${id8} is a REPLAY of tip ${first}: the same signature, filed again by the server under a day it chose; counted once, read the first`);
    }
    attributions.set(o, attribution);
    if (attribution.status !== 'signed') {
      problems++;
      keyCells.set(o, `${shortFingerprint(signer)} !`);
    }
  }
  return { problems, keyCells, attributions };

  /** Pins handle → key for a verified tip; what it is (the error said, unless 'signed') when the handle or the key is another's. */
  async function pinSigned(inboxDir: string, handle: string, key: SourcePublicKey, tip: string, id8: string): Promise<TipAttribution> {
    const dispute = async (pinned: string): Promise<TipAttribution> => {
      await recordKeyDispute(inboxDir, { handle, fingerprint: key.fingerprint, publicKey: key.armored, tip });
      const first = await readKeyIndex(inboxDir, pinned).catch(() => undefined);
      error(
        `${handle}: submission ${id8} is signed by ${formatFingerprint(key.fingerprint)}, but ${handle} is pinned to ${formatFingerprint(pinned)}${first?.tip ? ` (by ${first.tip})` : ''}: two keys signed tips under one handle`,
        `each tip was written by the holder of the key that signed it, and the handle is the server's word: the server may have put one source's handle on another's tips. "sealdrop reply --to ${handle}" now refuses; answer a tip with "sealdrop reply --tip ${tip}"`,
      );
      return { status: 'disputed', fingerprint: key.fingerprint };
    };
    try {
      // The key's index first: a key pinned under another handle is that source's, whatever this
      // handle is pinned to; never a dispute of this handle, which would make it answerable here.
      await checkKeyNotElsewhere(inboxDir, key.fingerprint, handle);
      const pin = await readKeyPin(inboxDir, handle);
      if (pin && pin.fingerprint !== key.fingerprint) return dispute(pin.fingerprint);
      await claimKeyForHandle(inboxDir, key.fingerprint, handle, tip);
      if ((await pinSourceKey(inboxDir, handle, key)) === 'pinned') {
        io.stderr.write(`sealdrop: pinned the key of ${printable(handle)}: ${formatFingerprint(key.fingerprint)} (its tip ${printable(id8)} is signed by it)\n`);
      }
      return { status: 'signed', fingerprint: key.fingerprint };
    } catch (e) {
      if (e instanceof KeyPinConflictError) return dispute(e.pinned);
      if (!(e instanceof KeyHandleConflictError)) throw e;
      error(`${handle}: submission ${id8} is signed by ${formatFingerprint(key.fingerprint)}: this key is ${e.pinnedHandle}'s${e.pinnedTip ? ` (pinned by ${e.pinnedTip})` : ''}: the server filed one source's tip under a second handle, ${handle}`, e.hint!);
      return { status: 'other-handle', fingerprint: key.fingerprint, handle: e.pinnedHandle };
    }
  }
}

/** The fingerprint a submission decrypted in an earlier run names, from its manifest.json. */
async function fingerprintOfDecrypted(path: string): Promise<string | undefined> {
  try {
    return parseManifest(await readFile(join(path, 'manifest.json'))).sourceKeyFingerprint;
  } catch {
    return undefined;
  }
}
