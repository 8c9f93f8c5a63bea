/** @module server/instance — the per-install salt and secret, made once on first start. */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { toBase64Url } from '../protocol/encoding.ts';
import { type Clock, dayOf } from './clock.ts';
import type { Db } from './db/open.ts';
import { instance } from './db/schema.ts';

export interface Instance {
  /** public, served with the page: salts the codename's key derivation (16 random bytes, base64url) */
  instanceSalt: string;
  /** 32 bytes, never leaves the server: signs proof-of-work challenges */
  serverSecret: Uint8Array;
}

/**
 * Reads the instance row, making it first if the database has none. Race-safe: several processes
 * starting at once all insert with ON CONFLICT DO NOTHING, then all read the one row that won.
 */
export async function loadInstance(db: Db, clock: Clock): Promise<Instance> {
  await db
    .insert(instance)
    .values({
      id: 1,
      instanceSalt: toBase64Url(randomBytes(16)),
      serverSecret: new Uint8Array(randomBytes(32)),
      createdDay: dayOf(clock()),
    })
    .onConflictDoNothing({ target: instance.id });
  const [row] = await db.select().from(instance).where(eq(instance.id, 1));
  if (!row) throw new Error('the instance row is missing right after it was made');
  return { instanceSalt: row.instanceSalt, serverSecret: row.serverSecret };
}
