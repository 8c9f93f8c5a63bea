/** @module server/db/schema — every table Sealdrop stores (docs/INTERNALS.md "Database"). */
// Privacy rules this schema holds to (DESIGN.md, promise 2): days only (`date`, never a time of
// day), no column for an address, agent, referrer or exact time, and the source's lookup id only
// as a hash. test/privacy-scan.test.ts and server/db/migrations.test.ts check it on a real database.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  date,
  index,
  uniqueIndex,
  integer,
  pgTable,
  primaryKey,
  text,
  uuid,
} from 'drizzle-orm/pg-core';

/** `bytea` as Uint8Array on both drivers (postgres.js gives a Buffer, PGlite a Uint8Array). */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType() {
    return 'bytea';
  },
  fromDriver(value) {
    return value instanceof Uint8Array ? value : new Uint8Array(value as ArrayLike<number>);
  },
});

/** A calendar day in UTC as 'YYYY-MM-DD'. */
const day = (name: string) => date(name, { mode: 'string' });

export const SUBMISSION_STATUSES = ['uploading', 'received', 'downloaded'] as const;
export type SubmissionStatus = (typeof SUBMISSION_STATUSES)[number];

export const instance = pgTable(
  'instance',
  {
    id: integer('id').primaryKey(),
    instanceSalt: text('instance_salt').notNull(),
    serverSecret: bytea('server_secret').notNull(),
    createdDay: day('created_day').notNull(),
  },
  (t) => [
    check('instance_single_row', sql`${t.id} = 1`),
    check('instance_secret_length', sql`octet_length(${t.serverSecret}) = 32`),
  ],
);

export const sources = pgTable('sources', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** hex SHA-256 of the lookup id (protocol `hashLookupId`); the lookup id itself is never stored. */
  lookupHash: text('lookup_hash').notNull().unique(),
  /** random two-word name shown to editors, unrelated to anything the source knows */
  handle: text('handle').notNull().unique(),
  publicKey: text('public_key').notNull(),
  lockedPrivateKey: text('locked_private_key').notNull(),
  createdDay: day('created_day').notNull(),
  /**
   * marked spam by an editor: no new upload may name this source (a trigger, migrations/0003_spam.sql).
   * A flag, not a day: nothing here says when an editor acted.
   */
  spam: boolean('spam').notNull().default(false),
});

export const submissions = pgTable(
  'submissions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** null while a new source's first upload is in progress (the source row is made at completion) */
    sourceId: uuid('source_id').references(() => sources.id, { onDelete: 'cascade' }),
    status: text('status', { enum: SUBMISSION_STATUSES }).notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    chunkSize: integer('chunk_size').notNull(),
    chunks: integer('chunks').notNull(),
    /**
     * hex SHA-256 of the whole ciphertext: announced when the upload is opened, or, for a
     * streaming page, '' until its last chunk brings the SHA-256 of the chunks' digests (kept as
     * 'digests:<hex>') and then the one the completion computed (server/source/uploads.ts,
     * DIGESTS_WITH_LAST_CHUNK); a received submission always has the whole ciphertext's
     */
    sha256: text('sha256').notNull(),
    pendingLookupHash: text('pending_lookup_hash'),
    pendingPublicKey: text('pending_public_key'),
    pendingLockedPrivateKey: text('pending_locked_private_key'),
    createdDay: day('created_day').notNull(),
    receivedDay: day('received_day'),
    /**
     * Arrival order within `received_day`: 1, 2, 3 … as completions come (migration 0007); null
     * while uploading. An order, never a time; the forget pass renumbers each day densely, so a
     * deleted submission leaves no gap (docs/OPERATIONS.md, "What a seized server reveals").
     */
    daySeq: integer('day_seq'),
    downloadedDay: day('downloaded_day'),
    /**
     * the desk the source chose (server/desks.ts): the ciphertext is addressed to its key, and only
     * its editors see it; `newsroom`, the one desk of an install without desks, for older rows
     */
    desk: text('desk').notNull().default('newsroom'),
    /**
     * an upload (any but a text tip) whose stored octets have not yet reached min(size, RESERVE_PROOF):
     * it counts as min(size, PROBE_HOLD) in the bounds until promoted
     * (migrations/0016_unsent_apart.sql, 0017_probe_all.sql, server/source/open-limits.ts)
     */
    probe: boolean('probe').notNull().default(false),
  },
  (t) => [
    check('submissions_status', sql`${t.status} in ('uploading', 'received', 'downloaded')`),
    check('submissions_probe', sql`not ${t.probe} or ${t.status} = 'uploading'`),
    check(
      'submissions_owner',
      sql`(${t.sourceId} is not null) or (${t.status} = 'uploading' and ${t.pendingLookupHash} is not null)`,
    ),
    check('submissions_desk', sql`${t.desk} ~ '^[a-z0-9][a-z0-9-]{0,31}$'`),
    index('submissions_source_idx').on(t.sourceId),
    index('submissions_status_day_idx').on(t.status, t.createdDay),
  ],
);

export const chunks = pgTable(
  'chunks',
  {
    submissionId: uuid('submission_id')
      .notNull()
      .references(() => submissions.id, { onDelete: 'cascade' }),
    idx: integer('idx').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.submissionId, t.idx] })],
);

export const replies = pgTable(
  'replies',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    /** a binary OpenPGP message addressed to the source key and the newsroom key */
    message: bytea('message').notNull(),
    size: integer('size').notNull(),
    createdDay: day('created_day').notNull(),
    /** order within `created_day`, as `submissions.day_seq` (migration 0007) */
    daySeq: integer('day_seq'),
    /** the desk that wrote it: its key is a recipient and signed it (server/desks.ts, migration 0013) */
    desk: text('desk').notNull().default('newsroom'),
  },
  // One stored copy of a reply per source: pushing the same file again answers the stored id
  // (PROTOCOL.md, "Editor API"). An index on a hash of the ciphertext tells no more than the
  // ciphertext beside it (docs/OPERATIONS.md).
  (t) => [check('replies_desk', sql`${t.desk} ~ '^[a-z0-9][a-z0-9-]{0,31}$'`), index('replies_source_idx').on(t.sourceId), uniqueIndex('replies_once').on(t.sourceId, sql`sha256(${t.message})`)],
);

export const spentPow = pgTable(
  'spent_pow',
  {
    /** hex SHA-256 of the token's id field */
    idHash: text('id_hash').primaryKey(),
    /** the UTC day the token expires; the row may go once that day is over */
    expiresDay: day('expires_day').notNull(),
  },
  (t) => [index('spent_pow_expires_idx').on(t.expiresDay)],
);

/**
 * The adaptive proof-of-work price (server/source/pow-load.ts): opens per minute bucket, in units of
 * the unflooded price, written only in steps of a quarter of the threshold, so empty under ordinary
 * load; buckets that can no longer raise the price are deleted at every read.
 */
export const powLoad = pgTable('pow_load', {
  /** minutes since the epoch (UTC): the bucket's minute */
  bucket: integer('bucket').primaryKey(),
  work: bigint('work', { mode: 'number' }).notNull(),
});

/**
 * What the stale-upload sweep knows of each upload in progress (server/source/stale-uploads.ts):
 * the minute it was first seen, its chunk count and the minute that count (or a body arriving for
 * it) last moved, and the bytes of chunk bodies counted while they arrived and not stored yet. The
 * row goes with its upload, or at the next sweep once the upload is received.
 */
export const uploadProgress = pgTable('upload_progress', {
  submissionId: uuid('submission_id')
    .primaryKey()
    .references(() => submissions.id, { onDelete: 'cascade' }),
  chunks: integer('chunks').notNull(),
  /** minutes since the epoch (UTC) of the last move (quarter hours before migration 0006) */
  tick: integer('tick').notNull(),
  /** minutes since the epoch (UTC) of the open (migration 0010, which writes the row at the open; before, the first sweep's) */
  firstTick: integer('first_tick').notNull(),
  /** bytes of bodies counted as they arrived, not stored yet */
  flowed: bigint('flowed', { mode: 'number' }).notNull().default(0),
});

/**
 * The bytes a returning source's reservations did not send before the sweep deleted them or an
 * open displaced them, for one day (migrations/0015_swept_unsent.sql): they count toward its
 * QUOTA_SOURCE_PER_DAY beyond the size of the open being decided (server/source/open-limits.ts).
 * One row per source that lost a reservation today, one sum, no time; the purge deletes it once
 * its day is over.
 */
export const sweptUnsent = pgTable(
  'swept_unsent',
  {
    sourceId: uuid('source_id')
      .primaryKey()
      .references(() => sources.id, { onDelete: 'cascade' }),
    day: day('day').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
  },
  (t) => [check('swept_unsent_bytes', sql`${t.bytes} > 0`)],
);

export const editorTokens = pgTable(
  'editor_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull().unique(),
    tokenHash: text('token_hash').notNull().unique(),
    createdDay: day('created_day').notNull(),
    revokedDay: day('revoked_day'),
    /** the desks this token sees (server/desks.ts); null: every desk (tokens made before desks, and `token add` without --desk) */
    desks: text('desks').array(),
  },
  // no empty list: a token sees every desk (null) or the ones named
  (t) => [check('editor_tokens_desks', sql`${t.desks} is null or cardinality(${t.desks}) > 0`)],
);

export const audit = pgTable('audit', {
  id: uuid('id').primaryKey().defaultRandom(),
  editor: text('editor').notNull(),
  action: text('action').notNull(),
  target: text('target'),
  day: day('day').notNull(),
});

/**
 * Flags for server/db/forget.ts, one row per flag while it is raised: `chunks_deleted` is raised
 * by a trigger whenever chunk rows are deleted (a custom migration), and lowered by the rewrite
 * that removes their bytes from the table files. No times, no ids.
 */
export const housekeeping = pgTable('housekeeping', {
  flag: text('flag').primaryKey(),
});
