/**
 * @module editor bearer-token authentication (RFC 6750 §2.1 header only).
 *
 * The presented token is hashed (SHA-256) and the stored row is found by that hash; the hashes are
 * then compared with `timingSafeEqual`, and revoked tokens are refused: audited as `auth_revoked`
 * under the token's name, where a token nobody was given is `auth_failed` under "-" (the answer,
 * 401 after the same delay, is the same for both). A valid token always goes
 * through: the gate below only ever holds back failures, so a flood of guesses cannot lock the
 * editors out.
 *
 * Every failure answers 401 only after a fixed delay, and at most `maxFailing` failures may be
 * waiting at once across the whole listener — never counted per address (the server knows no
 * addresses). A failure beyond that is answered 429 at once, with no audit row. Its place is
 * claimed in the same synchronous step that checks the count, after the token lookup and before
 * any other await, so simultaneous failures cannot all pass the check before any of them counts.
 *
 * What the delay buys: while fewer than `maxFailing` fail at once, no wrong token is answered
 * sooner than `failureDelayMs`, and the failures cost at most `maxFailing` waiting requests and
 * `maxAuditedFailuresPerDay` audit rows. What it cannot buy once valid tokens pass during a flood:
 * a guess beyond the cap learns at once that it was wrong (429 where a valid token gets 200), so a
 * flood can test guesses as fast as the listener looks tokens up. Against 256 random bits that is
 * no help (2^-200 after a century at a million guesses a second); what the gate guards against is
 * editors locked out, and a flood filling memory and the audit table.
 */
import { and, count, eq, inArray } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../db/open.ts';
import { audit, editorTokens } from '../db/schema.ts';
import { hashToken, isWellFormedToken, tokenHashesEqual } from './token.ts';

export interface EditorAuthOptions {
  db: Db;
  /** today's UTC day, 'YYYY-MM-DD', for the audit row of a failure */
  today: () => string;
  /** how long every failed attempt waits before its 401 (default 1000 ms) */
  failureDelayMs?: number;
  /** how many failed attempts may be waiting at once before further failures get 429 (default 8) */
  maxFailing?: number;
  /**
   * at most this many `auth_failed` and `auth_revoked` audit rows per day (default 1000): a flood of guesses must not
   * fill the database; the request log still shows every 401
   */
  maxAuditedFailuresPerDay?: number;
}

/** `desks`: the desks the token sees (server/desks.ts), null for every desk. */
export type EditorEnv = { Variables: { editor: string; desks: string[] | null } };

const BEARER = /^Bearer (\S+)$/;

export const editorAuth = (options: EditorAuthOptions): MiddlewareHandler<EditorEnv> => {
  const { db, today, failureDelayMs = 1000, maxFailing = 8, maxAuditedFailuresPerDay = 1000 } = options;
  let failing = 0;
  return async function editorAuth(c, next) {
    const presented = BEARER.exec(c.req.header('authorization') ?? '')?.[1];
    // whose revoked token was tried, if it was one: the audit tells it from a guess
    let revokedOf: string | undefined;
    if (presented !== undefined && isWellFormedToken(presented)) {
      const hash = hashToken(presented);
      const [row] = await db
        .select({ name: editorTokens.name, tokenHash: editorTokens.tokenHash, revokedDay: editorTokens.revokedDay, desks: editorTokens.desks })
        .from(editorTokens)
        .where(eq(editorTokens.tokenHash, hash));
      if (row && tokenHashesEqual(row.tokenHash, hash) && row.revokedDay === null) {
        c.set('editor', row.name);
        c.set('desks', row.desks ?? null);
        return next();
      }
      if (row && tokenHashesEqual(row.tokenHash, hash)) revokedOf = row.name;
    }
    // a failure: the check and the claim with no await between them (the cap cannot leak)
    if (failing >= maxFailing) {
      c.header('Retry-After', String(Math.max(1, Math.ceil(failureDelayMs / 1000))));
      return c.json({ error: 'busy', message: 'Too many failed logins are being handled; try again shortly.' }, 429);
    }
    failing++;
    try {
      const day = today();
      const [logged] = await db
        .select({ n: count() })
        .from(audit)
        .where(and(inArray(audit.action, ['auth_failed', 'auth_revoked']), eq(audit.day, day)));
      if ((logged?.n ?? 0) < maxAuditedFailuresPerDay) {
        await db.insert(audit).values(
          revokedOf === undefined
            ? { editor: '-', action: 'auth_failed', target: null, day }
            : { editor: revokedOf, action: 'auth_revoked', target: null, day },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, failureDelayMs));
    } finally {
      failing--;
    }
    c.header('WWW-Authenticate', 'Bearer realm="sealdrop-editor"');
    return c.json({ error: 'unauthorized', message: 'A valid, unrevoked editor token is needed.' }, 401);
  };
};
