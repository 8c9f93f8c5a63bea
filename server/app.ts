/**
 * @module server/app — the source-facing Hono app (docs/INTERNALS.md "HTTP — source listener").
 * Routes are thin: validation here, the work in server/source/*.ts.
 */
import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Hono } from 'hono';
import { z } from 'zod';
import {
  CHUNK_BYTES,
  MAX_CHUNK_BYTES,
  MAX_CHUNKS,
  MAX_CIPHERTEXT_BYTES,
  MAX_FILE_NAME_BYTES,
  MAX_FILES,
  MAX_MESSAGE_BYTES,
  MAX_REPLY_BYTES,
  MIN_PADDED_BYTES,
  PARALLEL_CHUNKS,
  PROTOCOL_VERSION,
  SCRYPT_PARAMS,
} from '../protocol/limits.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Db } from './db/open.ts';
import type { Instance } from './instance.ts';
import { DEFAULT_INSTANCE_FILE, type InstanceFile } from './instance-file.ts';
import { INSTANCE_LOGO_PATH } from '../protocol/instance.ts';
import type { NewsroomKey } from './newsroom-key.ts';
import { singleDesk, type Desk } from './desks.ts';
import { handleErrors, handleNotFound } from './policies/errors.ts';
import { jsonBody, validJson } from './policies/json-body.ts';
import { DATABASE_DEADLINE_MS, databaseTooSlow, deadline, withDeadline } from './policies/deadline.ts';
import { type LogLine, requestLog } from './policies/request-log.ts';
import { securityHeaders } from './policies/security-headers.ts';
import { staticPages } from './policies/static-pages.ts';
import { RefusalError, refuse } from './source/errors.ts';
import { deleteReply, lookupSource } from './source/lookup.ts';
import { createStorageWatch, DEFAULT_OPEN_LIMITS, type OpenLimits, type StorageWatch } from './source/open-limits.ts';
import { issuePow, powPrice } from './source/pow.ts';
import { createPowLoad, type PowLoad } from './source/pow-load.ts';
import { type ChunkGate, type ChunkGateOptions, createChunkGate, DEFAULT_CHUNK_SPILL_BYTES, SPILL_CHUNK_REQUESTS } from './source/chunk-gate.ts';
import { markUploadFlowing, noteFlowStored } from './source/stale-uploads.ts';
import { checkKeysHere, type KeyCheck } from './source/key-check-pool.ts';
import { KeyCheckTokens } from './source/key-check-tokens.ts';
import { type ChunkQuery, isCompleting, openUpload, prepareChunk, putChunk, type UploadDeps, uploadStatus } from './source/uploads.ts';

/**
 * The desks (server/desks.ts), or the one newsroom key of an install without desks (the desk
 * `newsroom`, as loadDesks makes it): what most tests pass.
 */
export type DeskDeps = { desks: Desk[]; newsroomKey?: undefined } | { newsroomKey: NewsroomKey; desks?: undefined };

/** The desks a DeskDeps names: at least one. */
export function desksOf(deps: DeskDeps): Desk[] {
  const desks = deps.desks ?? singleDesk(deps.newsroomKey);
  if (desks.length === 0) throw new TypeError('expected at least one desk, got none');
  return desks;
}

export type AppDeps = DeskDeps & AppParts;

interface AppParts {
  db: Db;
  instance: Instance;
  /** the newsroom's instance file (server/instance-file.ts); default: none, today's pages */
  instanceFile?: InstanceFile;
  clock: Clock;
  config: Pick<Config, 'powDifficulty' | 'onionLocation' | 'logRequests'> &
    Partial<Pick<Config, 'powFloodOpensPerMinute' | 'powFloodMaxBits' | 'chunkMemory' | 'chunkSpillDir' | 'chunkSpill' | 'storageFreeFloor'>>;
  /** the quotas and storage limits of opens (server/source/open-limits.ts); default DEFAULT_OPEN_LIMITS */
  openLimits?: OpenLimits;
  /** the adaptive price's shared state; default from config (tests pass their own to share one clock) */
  powLoad?: PowLoad;
  /** the storage reading; default from openLimits */
  storage?: StorageWatch;
  /** where request-log lines and error notes go (one line each, no address, agent or time) */
  log: LogLine;
  /** the built pages; default client/dist */
  staticRoot?: string;
  /** how new sources' reply keys are checked; default on this thread (main.ts uses a worker pool) */
  keyCheck?: KeyCheck;
  /** the chunk bodies this process holds at once (server/source/chunk-gate.ts); default limits, config's chunkMemory, chunkSpillDir, chunkSpill */
  chunkGate?: ChunkGate;
  /** called when a completion check starts reading an upload back (tests and the bench count them) */
  onCompletionCheck?: () => void;
  /** how long a request may wait on the database before its 503 (default DATABASE_DEADLINE_MS) */
  databaseDeadlineMs?: number;
}

/** The completion check's own pace at worst, for its deadline: 2 GiB may take 9 minutes. */
const COMPLETION_BYTES_PER_SECOND = 4 * 1024 * 1024;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits');
const armoredKey = z.string().min(1).max(32 * 1024);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const openUploadBody = z.strictObject({
  pow: z.strictObject({ token: z.string().max(256), nonce: z.string().max(32) }),
  lookupId: hex64,
  sourceKeys: z.strictObject({ publicKey: armoredKey, lockedPrivateKey: armoredKey }).optional(),
  size: count,
  chunkSize: count,
  chunks: count,
  /** the whole ciphertext's SHA-256; a streaming page sends each chunk's with it instead (PROTOCOL.md, "Upload protocol") */
  sha256: hex64.optional(),
  /** the desk's id (server/desks.ts, GET /api/v1/config `desks`); may be left out when there is one */
  desk: z.string().max(64).optional(),
});
const powBody = z.strictObject({ size: z.number().int().min(0).max(MAX_CIPHERTEXT_BYTES).optional() });
const lookupBody = z.strictObject({ lookupId: hex64 });
const deleteReplyBody = z.strictObject({ lookupId: hex64, replyId: z.uuid() });

/**
 * The chunk gate's limits from the configuration: in memory, or arriving on disk (CHUNK_SPILL_DIR),
 * never taking the spill folder's file system below half of STORAGE_FREE_FLOOR (spillFloor).
 */
export function chunkGateOptions(config: Partial<Pick<Config, 'chunkMemory' | 'chunkSpillDir' | 'chunkSpill' | 'storageFreeFloor'>>): ChunkGateOptions {
  const options: ChunkGateOptions = config.chunkMemory === undefined ? {} : { maxBytes: config.chunkMemory };
  if (config.chunkSpillDir === undefined) return options;
  // a place costs a socket and a file, not memory, when bodies arrive on disk: more of them
  const spill = { dir: config.chunkSpillDir, maxBytes: config.chunkSpill ?? DEFAULT_CHUNK_SPILL_BYTES, floorBytes: spillFloor(config) };
  return { ...options, spill, maxRequests: SPILL_CHUNK_REQUESTS };
}

/** Whether folders `a` and `b` are on one file system (the same device); false when either is unset or unreadable. */
function sameFileSystem(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  try {
    return statSync(a).dev === statSync(b).dev;
  } catch {
    return false;
  }
}

/** What arriving bodies leave free on the spill folder's file system: half of STORAGE_FREE_FLOOR (the database may share it). */
export const spillFloor = (config: Partial<Pick<Config, 'storageFreeFloor'>>): number => Math.floor((config.storageFreeFloor ?? 0) / 2);

export function createApp(deps: AppDeps): Hono {
  const { db, instance, clock, config } = deps;
  const desks = desksOf(deps);
  // the first desk's key is the one older pages know (top-level newsroomKey and fingerprint)
  const newsroomKey = desks[0]!.key;
  const instanceFile = deps.instanceFile ?? DEFAULT_INSTANCE_FILE;
  const app = new Hono();
  app.onError(handleErrors(deps.log));
  app.notFound(handleNotFound);
  app.use(securityHeaders({ onionLocation: config.onionLocation }));
  if (config.logRequests) app.use(requestLog(deps.log));

  const keyCheckTokens = new KeyCheckTokens();
  const chunkGate = deps.chunkGate ?? createChunkGate(chunkGateOptions(config));
  const databaseDeadlineMs = deps.databaseDeadlineMs ?? DATABASE_DEADLINE_MS;
  const openLimits = deps.openLimits ?? DEFAULT_OPEN_LIMITS;
  const powLoad =
    deps.powLoad ??
    createPowLoad({ db, opensPerMinute: config.powFloodOpensPerMinute ?? 60, maxBits: config.powFloodMaxBits ?? 8 });
  // bodies spilled onto the disk the storage watch reads are not yet stored: it counts them free
  const spilledHere = sameFileSystem(chunkGate.spillDir, openLimits.storagePath);
  const storage = deps.storage ?? createStorageWatch({ db, limits: openLimits, ...(spilledHere ? { spilledBytes: () => chunkGate.held().bytes } : {}) });
  const uploadDeps = (): UploadDeps => ({
    db,
    serverSecret: instance.serverSecret,
    powDifficulty: config.powDifficulty,
    powLoad,
    openLimits,
    storage,
    desks,
    keyCheck: deps.keyCheck ?? checkKeysHere,
    keyCheckTokens,
    now: clock(),
    onCompletionCheck: deps.onCompletionCheck,
    unreportedFlow: (submissionId) => chunkGate.unreported(submissionId),
  });
  /** a challenge priced for an upload of `size` bytes (a text tip's without it) */
  const pow = async (size = 0) => {
    const now = clock();
    const { difficulty } = await powPrice(config.powDifficulty, powLoad, size, now);
    return issuePow(instance.serverSecret, difficulty, now);
  };

  app.get('/health', (c) => c.json({ ok: true }));
  // every API request but a chunk's (which has its own, after its body) answers within the deadline
  const apiDeadline = deadline(databaseDeadlineMs);
  app.use('/api/*', async (c, next) => (c.req.method === 'PUT' ? next() : apiDeadline(c, next)));

  app.get('/api/v1/config', async (c) =>
    c.json({
      version: PROTOCOL_VERSION,
      instanceSalt: instance.instanceSalt,
      scrypt: SCRYPT_PARAMS,
      newsroomKey: newsroomKey.armored,
      fingerprint: newsroomKey.fingerprint,
      desks: desks.map((desk) => ({ id: desk.id, newsroomKey: desk.key.armored, fingerprint: desk.key.fingerprint })),
      limits: {
        chunkBytes: CHUNK_BYTES,
        maxChunkBytes: MAX_CHUNK_BYTES,
        maxChunks: MAX_CHUNKS,
        maxCiphertextBytes: MAX_CIPHERTEXT_BYTES,
        maxMessageBytes: MAX_MESSAGE_BYTES,
        maxFiles: MAX_FILES,
        maxFileNameBytes: MAX_FILE_NAME_BYTES,
        minPaddedBytes: MIN_PADDED_BYTES,
        maxReplyBytes: MAX_REPLY_BYTES,
        parallelChunks: PARALLEL_CHUNKS,
      },
      pow: await pow(),
      instance: instanceFile.view,
    }),
  );

  app.post('/api/v1/pow', jsonBody(), validJson(powBody), async (c) => c.json(await pow(c.req.valid('json').size)));

  app.post('/api/v1/uploads', jsonBody(), validJson(openUploadBody), async (c) => {
    const result = await openUpload(uploadDeps(), c.req.valid('json'));
    return c.json(result, 201);
  });

  app.get('/api/v1/uploads/:uploadId', async (c) => c.json(await uploadStatus(db, c.req.param('uploadId'))));

  app.put('/api/v1/uploads/:uploadId/chunks/:index', async (c) => {
    const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/octet-stream') refuse(415, 'bad_content_type', 'Send chunks as application/octet-stream.');
    const indexText = c.req.param('index');
    if (!/^(0|[1-9][0-9]{0,9})$/.test(indexText)) refuse(400, 'bad_chunk_index', 'The chunk index must be a decimal number.');
    const index = Number(indexText);
    const query = chunkQuery(c.req.queries());
    const { row, length } = await withDeadline(prepareChunk(db, c.req.param('uploadId'), index), databaseDeadlineMs);
    // taken before a byte of the body is read; its bytes are counted as they come, and given back
    // once the chunk is committed (or refused, or cut: server/source/chunk-gate.ts)
    // the body's bytes pay for its upload's time as they arrive (server/source/stale-uploads.ts)
    let counted = 0;
    let marks: Promise<unknown> = Promise.resolve();
    const ticket = chunkGate.enter(row.id, length, (arrived) => {
      counted += arrived;
      marks = marks.then(() => markUploadFlowing(db, row.id, clock(), arrived)).catch(() => {});
    });
    let bytes: Uint8Array[];
    try {
      // on Node (node-server), the request it came from: read as it is, not through a copying web stream
      bytes = await ticket.read(c.req.raw, (c.env as { incoming?: Readable } | undefined)?.incoming);
    } catch (error) {
      ticket.release();
      throw error;
    }
    // the body stays counted until the write settles, even when the answer goes first (a deadline)
    // once the database has answered the write, nothing reads the pieces: their memory goes now
    const stored = () => {
      ticket.release();
      ticket.discard();
    };
    const work = putChunk(uploadDeps(), row, index, bytes, stored, query);
    work.then(ticket.release, ticket.release);
    // stored: the chunk's bytes count now, not the ones counted on their way
    if (counted > 0) work.then(() => marks.then(() => noteFlowStored(db, row.id, counted))).catch(() => {});
    // completion reads the whole upload back: its deadline grows with the upload's size
    const ms = databaseDeadlineMs + Math.ceil(row.size / COMPLETION_BYTES_PER_SECOND) * 1000;
    return c.json(await withDeadline(work, ms, () => (isCompleting(row.id) ? stillCompleting() : databaseTooSlow())));
  });

  app.post('/api/v1/source/lookup', jsonBody(), validJson(lookupBody), async (c) =>
    c.json(await lookupSource(db, c.req.valid('json').lookupId)),
  );

  app.post('/api/v1/source/replies/delete', jsonBody(), validJson(deleteReplyBody), async (c) => {
    const { lookupId, replyId } = c.req.valid('json');
    await deleteReply(db, lookupId, replyId);
    return c.json({ deleted: true });
  });

  app.all('/api/*', (c) => c.json({ error: 'not_found', message: 'No such API route.' }, 404));
  // the logo, read and checked at start (PNG, JPEG or WebP by its bytes); the security headers apply
  const logo = instanceFile.logo;
  if (logo) {
    app.get(INSTANCE_LOGO_PATH, (c) => {
      c.header('Content-Type', logo.type);
      c.header('Content-Length', String(logo.bytes.length));
      return c.body(logo.bytes as Uint8Array<ArrayBuffer>);
    });
  }
  app.use('/*', staticPages(deps.staticRoot));
  return app;
}

/**
 * A chunk URL's query: at most `sha256` (the chunk's own SHA-256) and `digests` (the SHA-256 of
 * all the chunks' digests, with the last chunk), once each, 64 lower-case hex digits; nothing else.
 */
function chunkQuery(queries: Record<string, string[]>): ChunkQuery {
  const out: ChunkQuery = {};
  for (const [name, values] of Object.entries(queries)) {
    if (name !== 'sha256' && name !== 'digests') refuse(400, 'bad_query', 'A chunk URL takes only sha256 and digests.');
    if (values.length !== 1 || !/^[0-9a-f]{64}$/.test(values[0]!)) {
      refuse(400, name === 'sha256' ? 'bad_sha256' : 'bad_digests', `${name} must be given once, as 64 lower-case hex digits.`);
    }
    out[name as keyof ChunkQuery] = values[0];
  }
  return out;
}

/** The upload is being checked (it may take minutes for 2 GiB): the page asks again later. */
const stillCompleting = () =>
  new RefusalError(503, 'completing', 'The whole upload is being checked; ask again in a moment.');
