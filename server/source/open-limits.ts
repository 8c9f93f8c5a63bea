/**
 * @module server/source/open-limits — what an open may reserve: bytes per source per day, bytes
 * held over all sources, and the room left in the database and on its disk (OPERATIONS.md "Under
 * attack"). Refusals touch nothing already stored: a full server stops taking new uploads and keeps
 * every received tip, and uploads already open go on.
 *
 * The quotas are decided with the upload's creation: one statement, a function that takes one
 * advisory lock (0x5ea1d20a; the migrations use 0x5ea1d209) and then reads with fresh snapshots, so
 * opens (on every process) are decided one at a time and two at once cannot both fit in the room
 * left for one. The storage figures are read at most every STORAGE_REFRESH_MS per process (a
 * directory walk in PostgreSQL, a statfs here), before the dearer steps of an open.
 *
 * Claims (migrations/0010_claims.sql). A reservation that has shown no byte is only a claim, and a
 * claim can be displaced: when an open would be refused because the small pool, its new-source
 * share or a bound on large unsent reservations is full, it first takes the room of the claims in
 * that same pool or bound that are older than claimGraceSeconds (counted in whole minutes:
 * claimGraceTicks) and have no chunk stored and fewer
 * than CLAIM_SHOWN_BYTES counted arriving (the chunk gate reports a body's first
 * CLAIM_SHOWN_BYTES at once: server/source/chunk-gate.ts), oldest first, as many as needed, or
 * none when they are not enough. They are deleted as a stale upload is; their chunks then get 404
 * unknown_upload. Received tips and uploads with a chunk stored are never displaced. Without it,
 * reservations that send nothing held a pool for the lease (ten minutes) and then were opened
 * again: ten 17-bit proofs of work a minute kept every honest file out. Now holding a reservation
 * past the grace costs its first bytes, and its time after the lease UPLOAD_PACE bytes a second
 * (server/source/stale-uploads.ts). A displaced claim's unsent bytes count toward its returning
 * source's day, as a swept upload's do (migrations/0015_swept_unsent.sql).
 *
 * Behind the pace (migrations/0012_behind_the_pace.sql; paceSlackTicks below): past the grace, a
 * reservation is also displaceable while it has shown less than CLAIM_SHOWN_BYTES plus uploadPace
 * for every minute of its age beyond the grace and half the lease, so 64 KiB shown and then nothing
 * holds a full pool 6-7 minutes, not the lease. Each claim displaced and each refusal of a full
 * pool counts toward the adaptive price as an open (server/source/uploads.ts, pow-load.ts).
 * The pace is the one the sweep asks of the reservation (migrations/0014_size_pace.sql): UPLOAD_PACE,
 * or for a large one the bytes a minute that finish it before the day's purge, whichever is more;
 * so a 2 GiB reservation trickling at 2 185 B/s is displaceable from its eighth minute.
 *
 * Probes (migrations/0016_unsent_apart.sql, 0017_probe_all.sql; promoteProbe below): every upload
 * but a text tip, of a new or a returning source, counts as min(size, PROBE_HOLD) in every bound (and
 * in the storage watch's unsent sum) until its stored octets reach min(size, reserveProof); then the
 * rest of its size must fit as an open would, or it is deleted. No upload holds room it has not paid
 * for in bytes.
 */
import { statfs } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/open.ts';
import { DEFAULT_DESK_ID } from '../desks.ts';
import { refuse } from './errors.ts';
import { MIN_CHUNK_BYTES } from '../../protocol/limits.ts';
import { DEFAULT_LEASE_MINUTES, DEFAULT_STALE_HOURS, DEFAULT_UPLOAD_PACE, SWEEP_TICK_MS, tickOf } from './stale-uploads.ts';

export interface OpenLimits {
  quotaSourcePerDay: number;
  quotaTotal: number;
  /** unset: no limit on the database's size */
  storageMaxDatabase?: number | undefined;
  storageFreeFloor: number;
  /** unset: the free space is not watched */
  storagePath?: string | undefined;
  /** opens of at most this many bytes are small (text tips, small files): they only need to fit */
  reserveSmallMax: number;
  /** bytes of the free room a larger open must leave for small opens */
  reserveSmallShare: number;
  /** the fraction of the free room that unsent reservations may hold once a larger open is made */
  reserveUnsentShare: number;
  /** the same for the unsent reservations of new sources (no received submission yet) */
  reserveNewSourceShare: number;
  /** a reservation that has shown no byte this many seconds after its open is only a claim ("Claims") */
  claimGraceSeconds: number;
  /** UPLOAD_PACE (bytes a second): past the grace and half the lease, a reservation behind it (or behind its size's pace) is displaceable ("Claims") */
  uploadPace: number;
  /** UPLOAD_LEASE_MINUTES: half of it is the slack of that pace */
  uploadLeaseMinutes: number;
  /** UPLOAD_STALE_HOURS: with the lease and the pace, when the sweep takes an upload (a 429 source_busy tells it, server/source/busy-uploads.ts) */
  uploadStaleHours: number;
  /** RESERVE_PROOF: the bytes an upload (but a text tip) must store, at most its size, before its size counts in the bounds ("Probes") */
  reserveProof: number;
  /**
   * What a probe holds of the bounds until promoted, at most its size; PROBE_HOLD when unset. No
   * operator's variable: tests set it to a size to see the bounds as opens made them before 0017.
   */
  probeHold?: number | undefined;
}

/** server/config.ts's defaults, without a watched folder (tests and the bench). */
export const DEFAULT_OPEN_LIMITS: OpenLimits = {
  quotaSourcePerDay: 4 * 1024 ** 3,
  quotaTotal: 64 * 1024 ** 3,
  storageMaxDatabase: undefined,
  storageFreeFloor: 4 * 1024 ** 3,
  storagePath: undefined,
  reserveSmallMax: 4 * 1024 ** 2,
  reserveSmallShare: 2 * 1024 ** 3,
  reserveUnsentShare: 0.5,
  reserveNewSourceShare: 0.2,
  claimGraceSeconds: 60,
  uploadPace: DEFAULT_UPLOAD_PACE,
  uploadLeaseMinutes: DEFAULT_LEASE_MINUTES,
  uploadStaleHours: DEFAULT_STALE_HOURS,
  reserveProof: 8 * 1024 ** 2,
};

/**
 * server/config.ts's default CLAIM_GRACE_SECONDS. The page opens an upload only once its first
 * chunk is ready (encrypted whole up to WHOLE_TIP_BYTES; the streamed path encrypts its first
 * chunk while the proof of work is solved: client/lib/send.ts) and sends it at once, two in
 * parallel. From the open's commit to the gate's first report: the answer's way back and the
 * chunk request's way out over a 400 ms-RTT Tor link, a new circuit stream included, 1-2 s; then
 * CLAIM_SHOWN_BYTES of body, 8 s at the slowest link these documents plan for (8 kB/s) and 33 s
 * at UPLOAD_PACE; then the report's database write. 60 s is twice the honest worst case at the
 * pace. Longer would let a zero-byte attacker open less often: counted in minutes, a claim is
 * displaced 61-120 s after its open, so holding a hundred reservations while sending nothing takes
 * an open of each every two minutes (about 51 a minute).
 */
export const DEFAULT_CLAIM_GRACE_SECONDS = 60;

/**
 * A reservation has shown itself once a chunk of it is stored or the chunk gate has counted this
 * many bytes of it arriving (or its whole size, when smaller): one minimum chunk. A byte or two
 * would not do: an attacker sending one byte per reservation would hold the pool for the lease.
 */
export const CLAIM_SHOWN_BYTES = MIN_CHUNK_BYTES;

/**
 * What a probe (every upload but a text tip, until its stored bytes reach RESERVE_PROOF) holds of
 * every bound: what a claim must show anyway, so an open alone buys no more room than a minute's
 * grace of 64 KiB (migrations/0017_probe_all.sql).
 */
export const PROBE_HOLD = CLAIM_SHOWN_BYTES;
export const probeHoldOf = (limits: Pick<OpenLimits, 'probeHold'>): number => limits.probeHold ?? PROBE_HOLD;

/**
 * The grace in whole minutes (the sweep's ticks; no finer time of an upload is stored, DESIGN.md
 * promise 2): a claim is displaced once the open's minute is more than this many minutes past its
 * own, so at least the grace after its open and at most a minute more.
 */
export const claimGraceTicks = (graceSeconds: number): number => Math.max(1, Math.ceil(graceSeconds / 60));

/**
 * Behind the pace (migrations/0012_behind_the_pace.sql): past the grace, a reservation is also
 * displaceable while it has shown fewer than CLAIM_SHOWN_BYTES + pace x (its age - the grace - the
 * slack) bytes, ages in whole minutes. The slack is half the lease, rounded up: it covers the chunk
 * gate's once-a-minute reports, a chunk's time on the wire and the minutes' rounding, so an upload
 * keeping up with UPLOAD_PACE (what the sweep already asks of it) is never displaced, and one that
 * showed its first bytes and stopped is after the grace and the slack (at defaults 6-7 minutes
 * after its open, instead of living the lease and its bytes' time: about 10.5).
 */
export const paceSlackTicks = (leaseMinutes: number): number => Math.max(0, Math.ceil(leaseMinutes / 2));
export const pacePerTick = (pace: number): number => Math.max(1, Math.round((pace * SWEEP_TICK_MS) / 1000));

export const STORAGE_REFRESH_MS = 15_000;

/**
 * A text tip: an open of one chunk of at most this many bytes (what the page sends for a message
 * without files; POW_FREE_BYTES). It is decided by the bytes stored only (received tips, chunks
 * arrived, its size): no reservation of anyone else's can refuse a message.
 */
export const TEXT_TIP_MAX_BYTES = 1024 * 1024;
export const isTextTip = (size: number, chunks: number): boolean => chunks === 1 && size <= TEXT_TIP_MAX_BYTES;
/** What an open of `size` bytes in `chunks` holds of the bounds: a text tip its size, a probe min(size, the hold) */
export const heldAtOpen = (limits: Pick<OpenLimits, 'probeHold'>, size: number, chunks: number): number =>
  isTextTip(size, chunks) ? size : Math.min(size, probeHoldOf(limits));

export const STORAGE_FULL_MESSAGE = 'The server cannot take new uploads now: its storage is nearly full. Received tips are kept.';

const mebibytes = (bytes: number): string => {
  const mib = bytes / 1024 ** 2;
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
};

/** 429 source_unsent (migrations/0016_unsent_apart.sql): true whatever the source sent. */
export const sourceUnsentMessage = (smallMax: number): string =>
  'Uploads from this codename that stopped before finishing today add up to the most the tip line keeps open for one codename in a day; ' +
  `a message or files of up to ${mebibytes(smallMax)} still go through now, larger files again after midnight (UTC).`;

export const SOURCE_QUOTA_MESSAGE = 'This codename has sent as much as one source may send in a day; try again tomorrow (UTC).';

/** 429 source_busy (migrations/0021_source_busy.sql): this codename's own uploads in progress hold its day. */
export const sourceBusyMessage = (seconds: number): string =>
  `Other uploads of this codename are still in progress and hold its bytes of the day. If they stopped, the server lets them go in about ${Math.ceil(seconds / 60)} minutes; try again then. One that is still sending pushes that time on.`;

export const RESERVATIONS_FULL_MESSAGE =
  'Too many uploads are waiting for their bytes now; try again in a few minutes. A message without files (one chunk of at most 1 MiB) is still taken.';

export interface StorageWatch {
  /**
   * Refuses (507 storage_full) an open holding `size` bytes (heldAtOpen) that the database or its disk has no room
   * for beside the reservations' unsent bytes; returns the bytes they can still take beyond what is
   * stored (the free room reserveUpload decides in), or undefined when the storage is not watched.
   */
  check(size: number, now: Date, textTip?: boolean): Promise<number | undefined>;
  /** the same room, refusing nothing (a probe's promotion decides in it: promoteProbe) */
  room(now: Date): Promise<number | undefined>;
  /** an open holding `size` bytes (heldAtOpen) was made here since the last reading */
  noteOpened(size: number): void;
}

const freeBytesOf = async (path: string): Promise<number> => {
  const s = await statfs(path);
  return s.bavail * s.bsize;
};

export function createStorageWatch(options: {
  db: Db;
  limits: OpenLimits;
  refreshMs?: number;
  /** the free bytes of the file system holding `path` (tests replace it) */
  freeBytes?: (path: string) => Promise<number>;
  /**
   * With the chunk bodies spilled onto the watched file system (the trial mode's DATA_DIR): the
   * bytes they hold there now. Counted as free, read at each decision and never above what they
   * held at the disk's reading: not counted, trickled bodies took the disk under the floor and
   * every open, text tips too, got 507 storage_full (helper-83); counted at the reading for its
   * 15 s, bodies stored meanwhile were still counted free, and sixteen probes' bodies finished at
   * once were all stored, the disk 39.9 MiB under half the floor (helper-84). A body stops counting
   * when it is read back to be stored; bodies grown since the reading took no free space the
   * reading saw.
   */
  spilledBytes?: () => number;
}): StorageWatch {
  const { db, limits, refreshMs = STORAGE_REFRESH_MS, freeBytes = freeBytesOf, spilledBytes = () => 0 } = options;
  const watchesDatabase = limits.storageMaxDatabase !== undefined;
  // room: the database's and the disk's without the spilled bodies; disk: the disk's alone, and
  // the bodies' bytes then (undefined when the disk is not watched)
  let reading: { at: number; room: number; unsent: number; disk?: { room: number; spilled: number } } | undefined;
  let openedSince = 0;
  let refreshing: Promise<void> | undefined;

  async function refresh(now: Date): Promise<void> {
    // the chunks already received are in the database's size (and on its disk): only what the
    // uploads in progress have not sent yet is still to come (a probe's: its hold, "Probes"), less the
    // octets their chunk rows hold (not chunk size x chunks: a short last chunk is not a whole one)
    const [row] = rowsOf<{ database: number; unsent: number }>(
      await db.execute(sql`
        select ${watchesDatabase ? sql`pg_database_size(current_database())` : sql`0`}::bigint as database,
          (select coalesce(sum(greatest(0, sealdrop_held(s.size, s.probe, ${probeHoldOf(limits)}::bigint)
              - (select coalesce(sum(octet_length(c.data)), 0) from chunks c where c.submission_id = s.id)::bigint)), 0)
           from submissions s where s.status = 'uploading')::bigint as unsent`),
    );
    let room = Number.MAX_SAFE_INTEGER;
    if (limits.storageMaxDatabase !== undefined) room = Math.min(room, limits.storageMaxDatabase - Number(row?.database));
    let disk: { room: number; spilled: number } | undefined;
    if (limits.storagePath) {
      const free = await freeBytes(limits.storagePath);
      disk = { room: free - limits.storageFreeFloor, spilled: spilledBytes() };
    }
    reading = { at: now.getTime(), room, unsent: Number(row?.unsent), ...(disk ? { disk } : {}) };
    openedSince = 0;
  }

  async function read(now: Date): Promise<{ room: number; unsent: number } | undefined> {
    if (!watchesDatabase && !limits.storagePath) return undefined;
    if (!reading || now.getTime() - reading.at >= refreshMs || now.getTime() < reading.at) {
      refreshing ??= refresh(now).finally(() => (refreshing = undefined));
      await refreshing;
    }
    const { room, unsent, disk } = reading!;
    // the bodies still on the disk of those it held at the reading count free
    return { room: disk ? Math.min(room, disk.room + Math.min(disk.spilled, spilledBytes())) : room, unsent };
  }

  return {
    async check(size, now, textTip = false) {
      const r = await read(now);
      if (!r) return undefined;
      // an early refusal before the dearer steps; reserveUpload decides again with fresh sums
      if ((textTip ? 0 : r.unsent + openedSince) + size > r.room) refuse(507, 'storage_full', STORAGE_FULL_MESSAGE);
      return r.room;
    },
    async room(now) {
      return (await read(now))?.room;
    },
    noteOpened(size) {
      openedSince += size;
    },
  };
}

export interface Reservation {
  id: string;
  lookupHash: string;
  returning: boolean;
  pow: { idHash: string; expiresDay: string };
  size: number;
  chunkSize: number;
  chunks: number;
  sha256: string;
  sourceKeys?: { publicKey: string; lockedPrivateKey: string } | undefined;
  day: string;
  /** the desk the source chose (server/desks.ts); default `newsroom` */
  desk?: string;
  /** the open's time (the claims' grace is counted from it) */
  now: Date;
}

export type ReservationOutcome =
  | 'created'
  | 'unknown_codename'
  | 'codename_taken'
  | 'pow_spent'
  | 'source_quota'
  | 'source_busy'
  | 'source_unsent'
  | 'quota_full'
  | 'storage_full'
  | 'reservations_full';

const OUTCOMES = new Set<string>(['created', 'unknown_codename', 'codename_taken', 'pow_spent', 'source_quota', 'source_busy', 'source_unsent', 'quota_full', 'storage_full', 'reservations_full']);

/**
 * One decision, all or nothing: the codename is checked (known for a returning source, unknown for
 * a new one), the quotas, the bounds on unsent reservations, the token spent, and the upload made.
 * A refused open spends no token. The source's bytes of the day (source_quota) count every upload
 * it opened that day (in progress, received or downloaded; a new source's, by its pending lookup
 * hash, its uploads in progress): what it sent or is sending. Apart from them (source_unsent,
 * migrations/0016_unsent_apart.sql), an open larger than reserveSmallMax of a returning source is
 * refused when what its uploads deleted unfinished that day (swept or displaced) did not send,
 * beyond this open's size (a retry takes the room of what failed), passes quotaSourcePerDay: at the
 * defaults four tries of 2 GiB a day, and messages and small files always (0015 counted both in one
 * sum, and refused a source that had sent 2 KB as if she had sent her day). The total counts uploads in progress and tips not yet downloaded. An open larger
 * than reserveSmallMax must also leave reserveSmallShare of the free room to small opens and keep
 * the unsent bytes of all reservations (and of new sources' reservations) within their shares of it
 * (migrations/0006_reservations.sql, 0008_small_reservations.sql). A pool or bound that is full
 * first gives the open the room of its claims (below). In every bound but the source's own two, an
 * open other than a text tip counts as a probe, min(size, PROBE_HOLD) (promoteProbe: migrations/0017).
 * `storageRoom` is StorageWatch.check's answer. All are sums
 * over indexed rows, under the lock: the adaptive price keeps the opens that reach here to about
 * the flood threshold a minute.
 */
export async function reserveUpload(
  db: Db,
  limits: OpenLimits,
  r: Reservation,
  storageRoom: number | undefined = undefined,
): Promise<{ outcome: ReservationOutcome; displaced: number }> {
  // one statement (no transaction held by the client: a connection lost mid-way leaves nothing
  // waiting), the function of migrations/0012_behind_the_pace.sql (through 0013_desks.sql's, which
  // gives the upload its desk; its pace: 0014_size_pace.sql)
  const room = storageRoom === undefined ? null : Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(storageRoom)));
  const [outcome] = rowsOf<{ outcome: string; displaced: number }>(
    await db.execute(sql`
      select o_outcome as outcome, o_displaced as displaced
      from sealdrop_reserve_upload_to_desk(${r.desk ?? DEFAULT_DESK_ID}::text, ${r.id}::uuid, ${r.lookupHash}::text, ${r.returning}::boolean, ${r.pow.idHash}::text,
        ${r.pow.expiresDay}::date, ${r.size}::bigint, ${r.chunkSize}::int, ${r.chunks}::int, ${r.sha256}::text,
        ${r.sourceKeys?.publicKey ?? null}::text, ${r.sourceKeys?.lockedPrivateKey ?? null}::text, ${r.day}::date,
        ${limits.quotaSourcePerDay}::bigint, ${limits.quotaTotal}::bigint, ${room}::bigint, ${limits.reserveSmallMax}::bigint,
        ${limits.reserveSmallShare}::bigint, ${limits.reserveUnsentShare}::float8, ${limits.reserveNewSourceShare}::float8,
        ${TEXT_TIP_MAX_BYTES}::bigint, ${tickOf(r.now)}::int, ${claimGraceTicks(limits.claimGraceSeconds)}::int,
        ${CLAIM_SHOWN_BYTES}::bigint, ${pacePerTick(limits.uploadPace)}::bigint, ${paceSlackTicks(limits.uploadLeaseMinutes)}::int,
        ${probeHoldOf(limits)}::bigint)`),
  );
  if (!outcome || !OUTCOMES.has(outcome.outcome)) throw new Error(`sealdrop_reserve_upload answered ${outcome?.outcome}`);
  return { outcome: outcome.outcome as ReservationOutcome, displaced: Number(outcome.displaced ?? 0) };
}

export type PromotionOutcome = 'promoted' | 'probe' | 'gone' | 'source_quota' | 'source_busy' | 'quota_full' | 'storage_full' | 'reservations_full';
const PROMOTION_OUTCOMES = new Set<string>(['promoted', 'probe', 'gone', 'source_quota', 'source_busy', 'quota_full', 'storage_full', 'reservations_full']);

/**
 * Probes (migrations/0016_unsent_apart.sql, 0017_probe_all.sql). Every upload but a text tip, of a
 * new or a returning source, of any size, is opened as a probe: in every bound of an open it counts
 * as min(size, PROBE_HOLD) instead of its size, until the stored octets of its chunks (with `pending`,
 * the body in hand of a one-chunk upload, stored with its completion) reach min(size, reserveProof)
 * (bytes, not chunks). Called after each chunk of a probe is stored, and before a one-chunk probe is
 * completed: then, under the open's lock, the rest of its size must fit every bound as an open would
 * now (with the open's displacement of claims; nothing left to come: promoted, a one-chunk body in
 * hand only if the total and the disk take it, as a text tip's); 'promoted' if so (also when it was before), 'probe' while it has stored less,
 * 'gone' when it is no longer in progress, else the open's refusal, and the upload was deleted.
 * Before 0016, fresh codenames' 2 GiB opens showing 64 KiB each held the new sources' room (12.8 GiB
 * at the defaults) for 1.1 kB/s; before 0017, returning codenames' 2 GiB opens the large room and
 * fresh codenames' 4 MiB opens the small pool, each for its 64 KiB a minute. Now each upload's room
 * beyond 64 KiB costs its proof's bytes stored before it counts. Its codename's day is checked again
 * with its whole size (a probe counts there at its hold until then, migrations/0019_probe_day.sql):
 * 'source_quota' deletes it as the other refusals do.
 */
export async function promoteProbe(
  db: Db,
  limits: OpenLimits,
  submissionId: string,
  day: string,
  now: Date,
  storageRoom: number | undefined = undefined,
  pending = 0,
): Promise<{ outcome: PromotionOutcome; displaced: number }> {
  const room = storageRoom === undefined ? null : Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(storageRoom)));
  const [row] = rowsOf<{ outcome: string; displaced: number }>(
    await db.execute(sql`
      select o_outcome as outcome, o_displaced as displaced
      from sealdrop_promote_probe(${submissionId}::uuid, ${day}::date, ${limits.quotaTotal}::bigint, ${room}::bigint,
        ${limits.reserveSmallMax}::bigint, ${limits.reserveSmallShare}::bigint, ${limits.reserveUnsentShare}::float8,
        ${limits.reserveNewSourceShare}::float8, ${limits.reserveProof}::bigint, ${probeHoldOf(limits)}::bigint,
        ${pending}::bigint, ${tickOf(now)}::int, ${claimGraceTicks(limits.claimGraceSeconds)}::int, ${CLAIM_SHOWN_BYTES}::bigint,
        ${pacePerTick(limits.uploadPace)}::bigint, ${paceSlackTicks(limits.uploadLeaseMinutes)}::int, ${limits.quotaSourcePerDay}::bigint)`),
  );
  if (!row || !PROMOTION_OUTCOMES.has(row.outcome)) throw new Error(`sealdrop_promote_probe answered ${row?.outcome}`);
  return { outcome: row.outcome as PromotionOutcome, displaced: Number(row.displaced ?? 0) };
}
