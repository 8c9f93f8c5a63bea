/**
 * @module server/desks — the instance's desks, each with its own public key (issue 13, "Desks").
 *
 * A source picks a desk; its tip must be encrypted to that desk's key and to no other desk's;
 * editor tokens may be scoped to desks (server/editor/auth.ts). Without desks configured, the one
 * newsroom key (NEWSROOM_KEY_FILE) is the one desk, `newsroom`: what every row stored before
 * desks existed belongs to (migrations/0013_desks.sql).
 */
import type { PublicKey } from 'openpgp';
import { loadNewsroomKey, NewsroomKeyError, type NewsroomKey } from './newsroom-key.ts';

/** How the instance file names a desk (server/instance-file.ts parses it; this module loads it). */
export type DeskSpec = { id: string; keyFile: string; fingerprint?: string };
export type Desk = { id: string; key: NewsroomKey };

/** The desk of an install without desks, and of every row stored before desks existed. */
export const DEFAULT_DESK_ID = 'newsroom';
export const DESK_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const isDeskId = (text: unknown): text is string => typeof text === 'string' && DESK_ID.test(text);

/** The desks cannot be used: the server must not start. */
export class DeskError extends Error {
  override name = 'DeskError';
}

/** A fingerprint as a newsroom publishes it (groups, any case) reduced to lower-case hex. */
const normalFingerprint = (text: string) => text.replace(/\s+/g, '').toLowerCase();

/**
 * The desks, in the order given: each key file loaded and checked as NEWSROOM_KEY_FILE is (public
 * key only, usable), its fingerprint compared with the published one when given. Without specs,
 * the one desk `newsroom` of `newsroomKeyFile`. Two desks with one id, or one key, are refused: a
 * tip to one would be readable at the other.
 */
export async function loadDesks(specs: DeskSpec[] | undefined, newsroomKeyFile: string, now: Date): Promise<Desk[]> {
  if (specs === undefined || specs.length === 0) {
    return [{ id: DEFAULT_DESK_ID, key: await loadNewsroomKey(newsroomKeyFile, now) }];
  }
  const desks: Desk[] = [];
  for (const spec of specs) {
    if (!isDeskId(spec.id)) {
      throw new DeskError(`expected a desk id of 1-32 lower-case letters, digits and hyphens (not first), got ${JSON.stringify(spec.id)}`);
    }
    if (desks.some((desk) => desk.id === spec.id)) throw new DeskError(`desk ${spec.id} is defined twice`);
    let key: NewsroomKey;
    try {
      key = await loadNewsroomKey(spec.keyFile, now);
    } catch (error) {
      if (error instanceof NewsroomKeyError) throw new DeskError(`desk ${spec.id}: ${error.message}`, { cause: error });
      throw error;
    }
    if (spec.fingerprint !== undefined && normalFingerprint(spec.fingerprint) !== key.fingerprint) {
      throw new DeskError(
        `desk ${spec.id}: the key in ${spec.keyFile} has the fingerprint ${key.fingerprint}, not the published ${spec.fingerprint}`,
      );
    }
    const twin = desks.find((desk) => desk.key.fingerprint === key.fingerprint);
    if (twin) throw new DeskError(`desks ${twin.id} and ${spec.id} have the same key (${key.fingerprint}): each desk needs its own`);
    // a (sub)key in two certificates would make a tip to one desk readable at the other, or (as a
    // tip may name no other desk's key id: anyKeyIds) refuse every tip to it
    const ids = anyKeyIds(key.key);
    const sharing = desks.find((desk) => anyKeyIds(desk.key.key).some((id) => ids.includes(id)));
    if (sharing) {
      const shared = anyKeyIds(sharing.key.key).filter((id) => ids.includes(id));
      throw new DeskError(`desks ${sharing.id} and ${spec.id} share the (sub)key ${shared.join(', ')}: each desk needs its own`);
    }
    desks.push({ id: spec.id, key });
  }
  return desks;
}

/** The one desk of an install configured with a single newsroom key (what tests and old callers pass). */
export const singleDesk = (key: NewsroomKey): Desk[] => [{ id: DEFAULT_DESK_ID, key }];

/** Desk `id`, or undefined. */
export const findDesk = (desks: readonly Desk[], id: string): Desk | undefined => desks.find((desk) => desk.id === id);

/**
 * Every key id of a desk's certificate, valid or not: the primary and each subkey, expired and
 * revoked ones too. A message may be addressed to the chosen desk only through a key valid now
 * (encryptionKeyIds), but it must not be addressed to another desk through any key at all: its
 * offline machine still holds an expired subkey's secret, and OpenPGP.js and GnuPG decrypt with it.
 */
export const anyKeyIds = (key: Pick<PublicKey, 'getKeyIDs'>): string[] => key.getKeyIDs().map((id) => id.toHex());
