/**
 * @module the editor API (docs/INTERNALS.md "HTTP — editor listener"): its own Hono app on its own
 * listener, every route behind an editor token, every action written to the audit table.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { readKey, unarmor } from 'openpgp';
import { z } from 'zod';
import {
  checkReplySignature, encryptionKeyIds, inspectMessage, MAX_REPLY_BYTES, MAX_REPLY_SIGNATURE_BYTES, OpenPgpCheckError,
} from '../../protocol/index.ts';
import { dayOf, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/open.ts';
import { audit, replies, sources, submissions } from '../db/schema.ts';
import type { NewsroomKey } from '../newsroom-key.ts';
import { handleErrors, handleNotFound } from '../policies/errors.ts';
import { jsonBody, validJson } from '../policies/json-body.ts';
import { requestLog, type LogLine } from '../policies/request-log.ts';
import { securityHeaders } from '../policies/security-headers.ts';
import { refuse } from '../source/errors.ts';
import { editorAuth, type EditorEnv } from './auth.ts';
import {
  BundleSelectionError, bundleParts, planBundle, readCiphertext, sourceInDesks, toReadableStream, type BundleSelection,
} from './ciphertext.ts';
import { anyKeyIds, DEFAULT_DESK_ID } from '../desks.ts';
import { EDITOR_STATUSES, HANDLE, isHandle, listSubmissions, parseListQuery, setSpam, UUID } from './triage.ts';

/** A desk as the editor API needs it: replies of the desk are encrypted to its key as well, and signed by it. */
export type EditorDesk = { id: string; key: Pick<NewsroomKey, 'key' | 'encryptionKeyIds'> };

/** The desks (server/desks.ts), or the one newsroom key of an install without desks (the desk `newsroom`). */
export type EditorAppDeps = EditorParts &
  ({ desks: EditorDesk[]; newsroomKey?: undefined } | { newsroomKey: EditorDesk['key']; desks?: undefined });

interface EditorParts {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'logRequests'>;
  /** request-log lines (method, route pattern, status) and error notes; never an address or token */
  log: LogLine;
  /** Failed-login pacing; the defaults (1 s, 8 waiting at once) suit production, tests shorten the delay. */
  auth?: { failureDelayMs?: number; maxFailing?: number; maxAuditedFailuresPerDay?: number };
}

/** At most this many submissions, and this many extra source keys, in one chosen bundle. */
export const MAX_BUNDLE_SUBMISSIONS = 1000;
export const MAX_BUNDLE_SOURCES = 100;

const unique = (list: string[]) => new Set(list).size === list.length;
const bundleSelection = z
  .strictObject({
    submissions: z.array(z.string().regex(UUID)).max(MAX_BUNDLE_SUBMISSIONS).refine(unique, 'duplicate id'),
    sources: z.array(z.string().max(64).regex(HANDLE)).max(MAX_BUNDLE_SOURCES).refine(unique, 'duplicate handle'),
  })
  .refine((s) => s.submissions.length + s.sources.length > 0, 'an empty selection');

/** Replies checked at once by one process (the route's gate). */
export const MAX_REPLY_CHECKS = 4;
const base64Chars = (bytes: number) => 4 * Math.ceil(bytes / 3);
const base64 = (maxBytes: number) => z.string().max(base64Chars(maxBytes)).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
/** `POST /editor/v1/sources/:handle/replies`: the file `sealdrop reply` (or gpg) wrote, and its detached signature. */
const replyBody = z.strictObject({
  message: base64(MAX_REPLY_BYTES + 1),
  signature: base64(MAX_REPLY_SIGNATURE_BYTES + 1).optional(),
  /** the desk that writes (server/desks.ts); may be left out when the token sees one desk whose key the reply is addressed to */
  desk: z.string().max(64).optional(),
});
const REPLY_BODY_BYTES = base64Chars(MAX_REPLY_BYTES + 1) + base64Chars(MAX_REPLY_SIGNATURE_BYTES + 1) + 128;
const UNSIGNED_MESSAGE =
  'A reply needs the newsroom key\'s detached signature over its bytes: send JSON { message, signature } (sealdrop reply writes both; with gpg: gpg --detach-sign REPLY.pgp).';
const SIGNATURE_REFUSALS: Record<string, string> = {
  bad_signature_format: 'The signature is not one detached binary-document OpenPGP signature',
  wrong_signer: 'The signature is not by the newsroom key',
  bad_signature: 'The signature does not match the reply (altered, or made over other bytes)',
};

/** The bytes of canonical base64 (length a multiple of 4, the form Buffer writes), or undefined. */
function fromCanonicalBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}

// Only the error's class reaches the log: a driver's message can hold ids or query parameters.
const errorName = (error: unknown) => (error instanceof Error ? error.name : typeof error);

function notFound(what: string): never {
  return refuse(404, 'not_found', `No such ${what}.`);
}

export function createEditorApp(deps: EditorAppDeps): Hono<EditorEnv> {
  const { db, clock, log } = deps;
  const desks: EditorDesk[] = deps.desks ?? [{ id: DEFAULT_DESK_ID, key: deps.newsroomKey }];
  if (desks.length === 0) throw new TypeError('expected at least one desk, got none');
  /** the condition that keeps a scoped token's queries to its desks (undefined: every desk) */
  const inDesks = (c: Context<EditorEnv>) => {
    const scope = c.get('desks');
    return scope === null ? undefined : inArray(submissions.desk, scope);
  };
  /** the source `handle`, when it exists and is within the token's desks (sourceInDesks) */
  const visibleSource = async (c: Context<EditorEnv>, handle: string) => {
    if (!isHandle(handle)) return undefined;
    const [row] = await db
      .select({ id: sources.id, publicKey: sources.publicKey })
      .from(sources)
      .where(and(eq(sources.handle, handle), sourceInDesks(c.get('desks'))));
    return row;
  };
  const today = () => dayOf(clock());
  const record = (c: Context<EditorEnv>, action: string, target: string | null) =>
    db.insert(audit).values({ editor: c.get('editor'), action, target, day: today() });

  const app = new Hono<EditorEnv>();

  app.onError(handleErrors(log));
  app.notFound(handleNotFound);
  app.use(securityHeaders());
  if (deps.config.logRequests) app.use(requestLog(log));
  app.use('/editor/v1/*', editorAuth({ db, today, ...deps.auth }));

  app.get('/editor/v1/submissions', async (c) => {
    const filter = parseListQuery(c.req.queries());
    const page = await listSubmissions(db, filter, c.get('desks'));
    await record(c, 'list', filter.status);
    return c.json(page);
  });

  app.get('/editor/v1/submissions/:id/ciphertext', async (c) => {
    const id = c.req.param('id');
    if (!UUID.test(id)) notFound('submission');
    const [row] = await db
      .select({ id: submissions.id, size: submissions.size, chunks: submissions.chunks })
      .from(submissions)
      .where(and(eq(submissions.id, id), inArray(submissions.status, [...EDITOR_STATUSES]), inDesks(c)));
    if (!row) notFound('submission');
    await record(c, 'download', id);
    const stream = toReadableStream(readCiphertext(db, row), (error) => log(`editor: ciphertext stream failed: ${errorName(error)}`));
    return c.body(stream, 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(row.size),
      'Content-Disposition': `attachment; filename="${id}.pgp"`,
    });
  });

  const sendBundle = async (c: Context<EditorEnv>, selection?: BundleSelection) => {
    let plan;
    try {
      plan = await planBundle(db, selection, c.get('desks'));
    } catch (error) {
      if (!(error instanceof BundleSelectionError)) throw error;
      const named = [...error.missing.submissions, ...error.missing.sources];
      return refuse(404, 'not_found', `No such submission or source (or still uploading): ${named.slice(0, 5).join(', ')}${named.length > 5 ? ` and ${named.length - 5} more` : ''}.`);
    }
    await record(c, 'bundle', String(plan.manifest.submissions.length));
    const stream = toReadableStream(bundleParts(db, plan), (error) => log(`editor: bundle stream failed: ${errorName(error)}`));
    return c.body(stream, 200, {
      'Content-Type': 'application/x-tar',
      'Content-Length': String(plan.length),
      'Content-Disposition': 'attachment; filename="bundle.tar"',
    });
  };

  app.get('/editor/v1/bundle', (c) => sendBundle(c));
  app.post('/editor/v1/bundle', jsonBody(), validJson(bundleSelection), (c) => sendBundle(c, c.req.valid('json')));

  app.post('/editor/v1/submissions/:id/ack', async (c) => {
    const id = c.req.param('id');
    if (!UUID.test(id)) notFound('submission');
    const updated = await db
      .update(submissions)
      .set({ status: 'downloaded', downloadedDay: today() })
      .where(and(eq(submissions.id, id), eq(submissions.status, 'received'), inDesks(c)))
      .returning({ id: submissions.id });
    if (updated.length === 0) {
      // Acknowledging twice is harmless (a retried pull): answer the same, change nothing.
      const [already] = await db
        .select({ id: submissions.id })
        .from(submissions)
        .where(and(eq(submissions.id, id), eq(submissions.status, 'downloaded'), inDesks(c)));
      if (!already) notFound('submission');
    }
    await record(c, 'ack', id);
    return c.json({ id, status: 'downloaded' as const });
  });

  app.delete('/editor/v1/submissions/:id', async (c) => {
    const id = c.req.param('id');
    if (!UUID.test(id)) notFound('submission');
    const deleted = await db
      .delete(submissions)
      .where(and(eq(submissions.id, id), inArray(submissions.status, [...EDITOR_STATUSES]), inDesks(c)))
      .returning({ id: submissions.id });
    if (deleted.length === 0) notFound('submission');
    await record(c, 'delete_submission', id);
    return c.json({ deleted: true as const });
  });

  app.post('/editor/v1/sources/:handle/spam', async (c) => {
    const handle = c.req.param('handle');
    if (!isHandle(handle)) notFound('source');
    const marked = await setSpam(db, handle, true, c.get('desks'));
    if (!marked) notFound('source');
    await record(c, 'spam', handle);
    return c.json({ handle, spam: true as const, dropped: marked.dropped });
  });

  app.delete('/editor/v1/sources/:handle/spam', async (c) => {
    const handle = c.req.param('handle');
    if (!isHandle(handle)) notFound('source');
    if (!(await setSpam(db, handle, false, c.get('desks')))) notFound('source');
    await record(c, 'unspam', handle);
    return c.json({ handle, spam: false as const });
  });

  app.delete('/editor/v1/sources/:handle', async (c) => {
    const handle = c.req.param('handle');
    const scope = c.get('desks');
    if (scope === null) {
      const deleted = await db.delete(sources).where(eq(sources.handle, handle)).returning({ id: sources.id });
      if (deleted.length === 0) notFound('source');
    } else if (!(await deleteSourceAtDesks(db, handle, scope))) {
      notFound('source');
    }
    await record(c, 'delete_source', handle);
    return c.json({ deleted: true as const });
  });

  app.get('/editor/v1/sources/:handle/key', async (c) => {
    const handle = c.req.param('handle');
    const row = await visibleSource(c, handle);
    if (!row) notFound('source');
    await record(c, 'source_key', handle);
    return c.body(row.publicKey, 200, { 'Content-Type': 'application/pgp-keys' });
  });

  // At most MAX_REPLY_CHECKS replies are read and checked at once in this process (push sends
  // one at a time): a token holder's flood then holds at most that many bodies and signature
  // checks, and is told 503 busy before its body is read.
  let replyChecks = 0;
  app.post(
    '/editor/v1/sources/:handle/replies',
    async function replyGate(c, next) {
      if (replyChecks >= MAX_REPLY_CHECKS) refuse(503, 'busy', 'Too many replies are being checked at once; send this one again in a moment.');
      replyChecks++;
      try {
        await next();
      } finally {
        replyChecks--;
      }
    },
    async function rawReplyIsUnsigned(c, next) {
      // What an older sealdrop push (or curl --data-binary) sends: the message alone, no signature.
      const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type === 'application/octet-stream' || type === 'application/pgp-encrypted') refuse(422, 'unsigned_reply', UNSIGNED_MESSAGE);
      await next();
    },
    jsonBody({ maxBytes: REPLY_BODY_BYTES }),
    validJson(replyBody),
    async (c) => {
      const handle = c.req.param('handle');
      const body = c.req.valid('json');
      const source = await visibleSource(c, handle);
      if (!source) notFound('source');
      // Every refusal from here names a source that exists in the audit table.
      const refused = async (status: 400 | 413 | 422, code: string, message: string): Promise<never> => {
        await record(c, 'reply_refused', handle);
        return refuse(status, code, message);
      };
      if (body.signature === undefined) return refused(422, 'unsigned_reply', UNSIGNED_MESSAGE);
      const sent = fromCanonicalBase64(body.message);
      const signature = fromCanonicalBase64(body.signature);
      if (!sent || !signature) return refused(400, 'bad_request', 'Invalid request: message and signature must be canonical base64.');
      if (sent.byteLength > MAX_REPLY_BYTES) return refused(413, 'too_large', `A reply is at most ${MAX_REPLY_BYTES} bytes.`);
      let message: Uint8Array;
      try {
        message = await toBinaryMessage(sent);
      } catch (error) {
        if (error instanceof OpenPgpCheckError) {
          return refused(422, 'not_openpgp', `The reply is not a well-formed encrypted OpenPGP message: ${error.message}.`);
        }
        throw error;
      }
      const { recipientKeyIds } = await inspectMessage(message);
      const sourceKeyIds = await encryptionKeyIds(await readKey({ armoredKey: source.publicKey }), clock());
      if (!recipientKeyIds.some((keyId) => sourceKeyIds.includes(keyId))) {
        return refused(422, 'not_addressed_to_source', "The reply is not encrypted to this source's key.");
      }
      // the desk that writes: one of the token's, named or (left out) the one of them the reply is
      // addressed to; the reply must be addressed to its key and to no other desk's, and signed by it
      const scope = c.get('desks');
      const mine = desks.filter((desk) => scope === null || scope.includes(desk.id));
      const addressed = (desk: EditorDesk) => recipientKeyIds.some((keyId) => desk.key.encryptionKeyIds.includes(keyId));
      let desk: EditorDesk | undefined;
      if (body.desk !== undefined) {
        desk = mine.find((d) => d.id === body.desk);
        if (!desk) return refused(422, 'unknown_desk', `No such desk for this token: ${mine.map((d) => d.id).join(', ') || 'none configured'}.`);
      } else {
        const candidates = mine.filter(addressed);
        if (candidates.length > 1) return refused(422, 'unknown_desk', `Name the desk that writes (desk: ${candidates.map((d) => d.id).join(', ')}).`);
        desk = candidates[0] ?? (mine.length === 1 ? mine[0] : undefined);
        if (!desk) return refused(422, 'not_addressed_to_newsroom', "The reply is not encrypted to the key of any of this token's desks.");
      }
      if (!addressed(desk)) {
        return refused(422, 'not_addressed_to_newsroom', desks.length === 1
          ? 'The reply is not encrypted to the newsroom key as well (the newsroom could not read it back).'
          : `The reply is not encrypted to the key of desk ${desk.id} as well (the desk could not read it back).`);
      }
      // another desk through any of its keys, an expired or revoked subkey too (anyKeyIds)
      const others = desks.filter((other) => other.id !== desk.id && recipientKeyIds.some((keyId) => anyKeyIds(other.key.key).includes(keyId)));
      if (others.length > 0) {
        return refused(422, 'other_desk_recipient', `The reply is also encrypted to the key of another desk (${others.map((d) => d.id).join(', ')}): a reply is one desk's.`);
      }
      // Last, as the dearest step: one signature verification over at most MAX_REPLY_BYTES.
      try {
        await checkReplySignature(sent, signature, desk.key.key);
      } catch (error) {
        if (!(error instanceof OpenPgpCheckError)) throw error;
        const what = error.code === 'wrong_signer' && desks.length > 1
          ? `The signature is not by the key of desk ${desk.id}`
          : (SIGNATURE_REFUSALS[error.code] ?? 'The signature is refused');
        return refused(422, error.code, `${what}: ${error.message}.`);
      }
      // The same file pushed again (a push cut off before its answer, say) is the reply already
      // stored: its id, 200, nothing stored twice (the unique index replies_once).
      const [stored] = await db
        .insert(replies)
        .values({
          sourceId: source.id,
          message,
          size: message.byteLength,
          desk: desk.id,
          createdDay: today(),
          // the day's next number: the order replies were stored in, no time (migration 0007)
          daySeq: sql`(select coalesce(max(d.day_seq), 0) + 1 from replies d where d.created_day = ${today()}::date)`,
        })
        .onConflictDoNothing()
        .returning({ id: replies.id });
      if (!stored) {
        const [existing] = await db
          .select({ id: replies.id })
          .from(replies)
          .where(and(eq(replies.sourceId, source.id), eq(replies.message, message)));
        if (!existing) throw new Error('the reply conflicted with no stored reply');
        await record(c, 'reply_again', `${handle}/${existing.id}`);
        return c.json({ id: existing.id }, 200);
      }
      await record(c, 'reply', `${handle}/${stored.id}`);
      return c.json({ id: stored.id }, 201);
    },
  );

  return app;
}

/**
 * Deletes what a token scoped to `desks` holds of the source `handle`: its submissions and the
 * replies of those desks; the source itself (keys and all) only when nothing of another desk
 * remains. False when the source is not within the desks (as if absent).
 */
async function deleteSourceAtDesks(db: Db, handle: string, desks: string[]): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [source] = await tx.select({ id: sources.id }).from(sources).where(and(eq(sources.handle, handle), sourceInDesks(desks)));
    if (!source) return false;
    await tx.delete(submissions).where(and(eq(submissions.sourceId, source.id), inArray(submissions.desk, desks)));
    await tx.delete(replies).where(and(eq(replies.sourceId, source.id), inArray(replies.desk, desks)));
    await tx.execute(sql`delete from sources where id = ${source.id}::uuid
      and not exists (select 1 from submissions s where s.source_id = ${source.id}::uuid)
      and not exists (select 1 from replies r where r.source_id = ${source.id}::uuid)`);
    return true;
  });
}

/**
 * The reply as checked binary: armor (strictly parsed by protocol) is removed, and the result must
 * be PKESK packets then one SEIPD packet. Throws OpenPgpCheckError otherwise.
 */
async function toBinaryMessage(body: Uint8Array): Promise<Uint8Array> {
  await inspectMessage(body, { armored: true });
  const head = new TextDecoder('latin1').decode(body.subarray(0, 64)).trimStart();
  if (!head.startsWith('-----BEGIN PGP')) return body;
  const { data } = await unarmor(new TextDecoder('utf-8', { fatal: true }).decode(body));
  const binary = data instanceof Uint8Array ? data : await collect(data as ReadableStream<Uint8Array>);
  await inspectMessage(binary);
  return binary;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) parts.push(part);
  return Buffer.concat(parts);
}
