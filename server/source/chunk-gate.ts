/**
 * @module server/source/chunk-gate — which chunk requests this process takes, and how much of
 * their bodies it holds in memory at once.
 *
 * A chunk request holds its body in memory (up to MAX_CHUNK_BYTES) until its row is committed;
 * over Tor the body alone can take minutes to arrive. v1 admitted a request by the length it
 * announced and held that much from the first byte: eight sockets that announced a chunk and then
 * sent nothing held the whole budget, and every upload on the server was refused until Node's
 * request timeout (5 minutes) let them go (the issue-8 attacker's "slowloris", 8 sockets).
 *
 * So the gate counts what a body has actually sent, not what it announced:
 * - A request takes a place (at most `maxRequests` in the process, `perUploadRequests` per upload)
 *   but no memory. A place costs a socket, not bytes, so the places are many.
 * - Bytes are counted as they arrive, and held as the pieces they came in: the body is never
 *   copied into one buffer (node-postgres's insert sends the pieces as they are,
 *   server/db/pg-chunks.ts). The process holds at most `maxBytes` (plus `smallReserveBytes` kept for bodies of at most
 *   SMALL_BODY_BYTES: every text tip is one, so files never crowd out text), one upload at most
 *   `perUploadBytes`; a body that would pass a limit is refused there (503 `busy` / 429
 *   `too_many_chunks`), and the page sends it again after a back-off. One body is always let in.
 * - A body that sends nothing for `idleMs` is cut (408 `chunk_stalled`) and gives back its place
 *   and bytes. When a place or bytes are wanted and none are free, the slowest body whose rate
 *   over its last `graceMs` to 2 × `graceMs` is under `slowBytesPerSecond` (or that is silent for
 *   `graceMs`) is cut to make room (503 `busy`: the page retries it). A recent rate, not one since
 *   the start: the issue-8 attacker sent 4 MiB less 40 bytes at once and then a byte every 8 s,
 *   which a lifetime average took an hour to call slow.
 * - The rate a body must keep grows with the bytes it holds, once it is old: under contention a
 *   body that has been sending for more than `holdSeconds` is cut when its recent rate is under
 *   max(`slowBytesPerSecond`, its bytes held / `holdSeconds`). With a rate floor alone, holding
 *   memory cost the same 1 KiB/s per body whatever the body held: 16 bodies that sent half a
 *   chunk at once and then trickled 1.3 kB/s each held all 32 MiB for 21 kB/s in all, and every
 *   honest file chunk got 503 busy (issue 9). A body younger than `holdSeconds` is cut only by
 *   the floor or by silence, as before issue 9: a due that applied from the first byte (gate9's
 *   rule, a hold of PARALLEL_CHUNKS × MAX_CHUNK_BYTES / 8 000 ≈ 1 049 s) cut an honest source on
 *   the slowest link whose two bodies varied 3.6-4.4 kB/s at 75-91 % of every chunk beside a
 *   busy server, since near a full chunk her due equalled her average rate: 0 chunks stored in
 *   40 minutes (issue 9's attacker, "slow link cut"). `holdSeconds` (default DEFAULT_HOLD_SECONDS
 *   = PARALLEL_CHUNKS × MAX_CHUNK_BYTES / 6 000 ≈ 1 398 s) leaves a margin for a link that
 *   varies: the page's two bodies at 3 kB/s each (6 kB/s, three quarters of the 8 kB/s slowest
 *   link these documents plan for) finish a full chunk within it, so no honest body at 3 kB/s or
 *   more is ever cut by the hold rule. An attacker's body must then re-send what it holds at
 *   least every `holdSeconds`: a body past it must keep bytes held / `holdSeconds` a second, and
 *   a finite body (at most MAX_CHUNK_BYTES) ends. So holding the whole process budget
 *   (`maxBytes`) still costs about `maxBytes` / `holdSeconds` a second, whatever the split into
 *   bodies: ≈ 24 kB/s at the defaults (32 kB/s with gate9's 1 049 s, ≈ 15.6 kB/s under the
 *   floor alone, where 16 bodies need not renew). Places still cost at least 1 KiB/s each (256
 *   places: 256 KiB/s). Of the bodies below their due, the one furthest below it (bytes a
 *   second) is cut first.
 * - Every `flowMarkMs` (a minute) a body reports the bytes it received since its last report
 *   (`onFlowing`), and a body that ends without being stored (cut, or its connection lost)
 *   reports the rest: the app adds them to the time its upload has paid for (server/source/stale-uploads.ts),
 *   so a slow link whose first chunks take longer than the lease keeps its upload, and a trickle
 *   buys what its bytes buy, no more.
 * - The first report comes at once, not after a minute: as soon as a body has brought
 *   `firstFlowBytes` (64 KiB, or its whole length when shorter). Until then its upload may be only
 *   a claim, and a full pool's open may take its room (server/source/open-limits.ts, "Claims"); an
 *   honest page that has started its first chunk shows it within seconds.
 * - With `spill` (CHUNK_SPILL_DIR, the Compose stack's default) the bodies arrive on disk
 *   instead, an unnamed file each (server/source/spill-file.ts), and every rule above counts
 *   those bytes against `spill.maxBytes` (CHUNK_SPILL, 2 GiB) and the disk's free space, with
 *   SPILL_CHUNK_REQUESTS places; memory (`maxBytes`) holds only whole bodies read back to be
 *   stored, in turn. In memory, holding the whole budget cost about 25 kB/s (issue 9); on disk,
 *   about CHUNK_SPILL / holdSeconds ≈ 1.5 MB/s, or the 1 024 places at the rate floor ≈ 1 MB/s.
 * Counted per process, in memory: several processes each hold their own.
 *
 * Why pieces and not one buffer: v1 copied each whole body into a fresh 4 MiB buffer, then into
 * spare buffers the gate lent; either way a chunk was held twice over (its pieces, garbage until
 * V8 collected them, beside the copy), and eight lent buffers stayed in memory for good. Held as
 * pieces, a chunk's bytes are in memory once (server RSS, `npm run bench -- source-api`, upload
 * sections). A request calls `release` only once nothing (no database write in flight) still
 * reads its pieces.
 */
import type { Readable } from 'node:stream';
import { MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, PARALLEL_CHUNKS } from '../../protocol/limits.ts';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { declaredLength } from '../policies/read-body.ts';
import { RefusalError } from './errors.ts';
import { freeBytesOf, openSpillFile, type SpillFile } from './spill-file.ts';

export interface ChunkGateOptions {
  /** body bytes held at once by the process (default 32 MiB: 8 full chunks) */
  maxBytes?: number;
  /** body bytes of one upload held at once (default 16 MiB: twice what the page keeps in flight) */
  perUploadBytes?: number;
  /** bytes beyond maxBytes for bodies of at most SMALL_BODY_BYTES (default 4 MiB) */
  smallReserveBytes?: number;
  /** chunk requests taken at once by the process (default 256) */
  maxRequests?: number;
  /** chunk requests of one upload taken at once (default 32: the page keeps 2 in flight; retries, re-sends of the last chunk) */
  perUploadRequests?: number;
  /** a body silent this long is cut (default 30 s) */
  idleMs?: number;
  /** under contention, a body slower than this over its last graceMs-2×graceMs... (default 1024 bytes/s) */
  slowBytesPerSecond?: number;
  /** ...once it has been sending this long, is cut to make room (default 10 s) */
  graceMs?: number;
  /**
   * ...and so is a body sending for longer than holdSeconds that is slower than its bytes held /
   * holdSeconds: holding bytes costs bytes a second in proportion (default DEFAULT_HOLD_SECONDS
   * ≈ 1 398 s, a full chunk at 3 kB/s, one of the page's two bodies on a 6 kB/s link; Infinity:
   * the rate floor alone, as before issue 9)
   */
  holdSeconds?: number;
  /** how often a body reports the bytes it received to its upload (default 60 s) */
  flowMarkMs?: number;
  /** a body reports at once when it has received this many bytes (or its whole length, if shorter): default MIN_CHUNK_BYTES */
  firstFlowBytes?: number;
  /** the time in ms (tests) */
  now?: () => number;
  /**
   * Where arriving bodies wait instead of memory (server/source/spill-file.ts: an unnamed file
   * each, in `dir`), and the bytes they may hold there at once: the budget that `maxBytes` is
   * without it (every rule above applies to it, the small reserve on top). `maxBytes` then
   * bounds only the bodies read back whole to be stored, which wait their turn for it (one is
   * always let in).
   * The budget is also held to the disk: to the bytes held plus half of what the folder's file
   * system has free above `floorBytes` (default 0), read at most once a second (`freeBytes`,
   * default statfs of `dir`; tests pass their own) and again whenever a write fails, so a disk
   * fuller than the budget makes room as a full budget does (slow bodies cut) instead of failing
   * every body. Half: two processes on one file system that read the same free space between
   * them take at most all of it, never past the floor (each taking all of it, two took 71 % of
   * the floor, helper-81); one alone comes to the floor over a few readings.
   */
  spill?: { dir: string; maxBytes: number; floorBytes?: number; freeBytes?: () => number };
}

export const DEFAULT_CHUNK_GATE_BYTES = 32 * 1024 * 1024;
export const DEFAULT_PER_UPLOAD_BYTES = 2 * PARALLEL_CHUNKS * MAX_CHUNK_BYTES;
/** Bytes beyond `maxBytes` that only bodies of at most SMALL_BODY_BYTES may use. */
export const DEFAULT_SMALL_RESERVE_BYTES = 4 * 1024 * 1024;
/** A body this long or shorter (every text tip) may use the small reserve. */
export const SMALL_BODY_BYTES = 256 * 1024;
export const DEFAULT_CHUNK_REQUESTS = 256;
/** How often (ms) the spill folder's free space is read, at most (and after each failed write). */
export const SPILL_DISK_READ_MS = 1000;
/** Bytes arriving bodies may hold on disk at once when spilling (CHUNK_SPILL's default). */
export const DEFAULT_CHUNK_SPILL_BYTES = 2 * 1024 * 1024 * 1024;
/**
 * Chunk requests taken at once when bodies arrive on disk: a place then costs a socket and a file
 * descriptor, not memory, and holding every place still costs the rate floor each (1 KiB/s):
 * about 1 MiB/s for all of them, against 256 KiB/s for DEFAULT_CHUNK_REQUESTS.
 */
export const SPILL_CHUNK_REQUESTS = 1024;
export const DEFAULT_PER_UPLOAD_REQUESTS = 32;
export const DEFAULT_CHUNK_IDLE_MS = 30_000;
export const DEFAULT_SLOW_BYTES_PER_SECOND = 1024;
export const DEFAULT_SLOW_GRACE_MS = 10_000;
/** The slowest link these documents plan for (bytes a second): DEFAULT_UPLOAD_PACE × 4 (server/source/stale-uploads.ts). */
export const SLOWEST_LINK_BYTES_PER_SECOND = 8000;
/**
 * The link, with a margin, within which the page's PARALLEL_CHUNKS bodies at once always finish a
 * full chunk before the hold rule can reach them: three quarters of the slowest link (3 kB/s a body).
 */
export const HOLD_LINK_BYTES_PER_SECOND = (SLOWEST_LINK_BYTES_PER_SECOND * 3) / 4;
/**
 * Under contention a body sending for longer than DEFAULT_HOLD_SECONDS must bring its bytes held /
 * DEFAULT_HOLD_SECONDS a second: a full chunk's time on HOLD_LINK_BYTES_PER_SECOND, which carries
 * the page's PARALLEL_CHUNKS bodies at once (≈ 1 398 s: 3 000 B/s for a full chunk, ≈ 24 kB/s for
 * the whole default budget).
 */
export const DEFAULT_HOLD_SECONDS = (PARALLEL_CHUNKS * MAX_CHUNK_BYTES) / HOLD_LINK_BYTES_PER_SECOND;
/**
 * A body reports the bytes it received every DEFAULT_FLOW_MARK_MS: one database write a minute per
 * body in flight (at most DEFAULT_CHUNK_REQUESTS per process), and a 4 MiB chunk over an 8 kB/s
 * link has paid for most of its time before it is stored.
 */
export const DEFAULT_FLOW_MARK_MS = 60_000;


export interface ChunkTicket {
  /**
   * Reads the body, which must be exactly the admitted length, counting its bytes as they come;
   * answers it as the pieces it came in (in order; their lengths add up to the admitted length).
   * Refusals (RefusalError): 413 chunk_too_large, 400 wrong_chunk_size, 400 body_aborted (the
   * client went away), 408 chunk_stalled, 503 busy, 429 too_many_chunks.
   * `incoming`: the Node request `request` was made from (node-server's `c.env.incoming`), read
   * instead of `request.body` when given: the web stream over it (Node's `Readable.toWeb`)
   * copies every piece into a new Uint8Array, so each body byte was allocated twice, and the
   * first copy was garbage at once (server RSS in `npm run bench -- source-api`, upload sections).
   */
  read(request: Request, incoming?: Readable): Promise<Uint8Array[]>;
  /** gives the place and bytes back; idempotent; only once nothing reads the body */
  release(): void;
  /**
   * Frees the memory of the pieces read from a Node request at once (detaches their buffers:
   * they read as empty afterwards), rather than when V8 next collects them: dead chunk pieces
   * piled up to 60-100 MiB between collections under uploads (server RSS, `npm run bench --
   * source-api`). Only after the database has answered the write of these very bytes (their
   * write is then no longer in flight on any socket), never on a failed one. Needs
   * ArrayBuffer.prototype.transfer (Node 22; on Node 20 only with --harmony-rab-gsab-transfer):
   * without it, does nothing. Pieces from `request.body` are not touched (their buffers may be
   * the caller's).
   */
  discard(): void;
}

export interface ChunkGate {
  /**
   * Takes a chunk request of `length` bytes for upload `id`, or throws the refusal (nothing read,
   * nothing held). `onFlowing(bytes)` is called at most once per flowMarkMs with the bytes of the
   * body received since its last call, and once more with the rest when the body is cut or its
   * connection lost (not when it has the wrong length): the app counts them for the upload's time.
   */
  enter(id: string, length: number, onFlowing?: (bytes: number) => void): ChunkTicket;
  /**
   * Places and bytes of arriving bodies held now (on disk when spilling), the most ever held,
   * and, when spilling, the bytes of bodies read back into memory to be stored (tests, the bench).
   */
  held(): { bytes: number; chunks: number; peakBytes: number; memoryBytes: number; peakMemoryBytes: number };
  /**
   * Bytes of upload `id`'s bodies still being read that arrived since their last report: what
   * `onFlowing` will still report for them if they are cut now (a 429 source_busy's time counts
   * them, server/source/busy-uploads.ts).
   */
  unreported(id: string): number;
  /** the folder arriving bodies are written to (options.spill.dir), undefined in memory */
  readonly spillDir: string | undefined;
  /** stops the idle timers (tests; a server's gate lives as long as the process) */
  close(): void;
}

interface Upload {
  bytes: number;
  requests: number;
}

interface Entry {
  id: string;
  upload: Upload;
  /** the body's length, as admitted */
  length: number;
  /** bytes counted for it now (arriving: in memory, or on disk when spilling) */
  bytes: number;
  /** bytes of the memory budget it holds, read back from its spill file */
  memory: number;
  /** bytes of body received */
  received: number;
  /** when its body began to be read (ms), and its last byte came */
  start: number;
  last: number;
  /** two marks (time, bytes received) at least graceMs apart: the rate is measured since the older */
  markT: number;
  markReceived: number;
  prevT: number;
  prevReceived: number;
  /** since when, and from how many bytes received, the next report to the upload counts */
  flowT: number;
  flowReceived: number;
  reading: boolean;
  cut?: RefusalError;
  onCut?: () => void;
  done: boolean;
}

const refusal = (status: ContentfulStatusCode, code: string, message: string) => new RefusalError(status, code, message);
const busy = () => refusal(503, 'busy', 'The server is receiving many files at once; send this part again in a moment.');
const tooManyOfThisUpload = () =>
  refusal(429, 'too_many_chunks', 'Too many parts of this upload are on their way at once; send this one again in a moment.');

export function createChunkGate(options: ChunkGateOptions = {}): ChunkGate {
  const maxBytes = options.maxBytes ?? DEFAULT_CHUNK_GATE_BYTES;
  const perUploadBytes = options.perUploadBytes ?? DEFAULT_PER_UPLOAD_BYTES;
  const smallReserveBytes = options.smallReserveBytes ?? DEFAULT_SMALL_RESERVE_BYTES;
  const maxRequests = options.maxRequests ?? DEFAULT_CHUNK_REQUESTS;
  const perUploadRequests = options.perUploadRequests ?? DEFAULT_PER_UPLOAD_REQUESTS;
  const idleMs = options.idleMs ?? DEFAULT_CHUNK_IDLE_MS;
  const slowBytesPerSecond = options.slowBytesPerSecond ?? DEFAULT_SLOW_BYTES_PER_SECOND;
  const graceMs = options.graceMs ?? DEFAULT_SLOW_GRACE_MS;
  const holdSeconds = options.holdSeconds ?? DEFAULT_HOLD_SECONDS;
  if (!(holdSeconds > 0)) throw new Error('chunk gate: holdSeconds must be a positive number of seconds (Infinity: no hold rule)');
  const flowMarkMs = options.flowMarkMs ?? DEFAULT_FLOW_MARK_MS;
  const firstFlowBytes = options.firstFlowBytes ?? MIN_CHUNK_BYTES;
  const now = options.now ?? (() => performance.now());
  const spill = options.spill;
  if (spill && !(spill.maxBytes > 0)) throw new Error('chunk gate: spill.maxBytes must be a positive number of bytes');
  // what arriving bodies may hold at once: memory, or the disk when spilling
  const arrivingBytes = spill ? spill.maxBytes : maxBytes;
  // spilling: the most the disk lets arriving bodies hold, as of its last reading (the bytes held
  // then and half of what was free above the floor): bodies counted since take from it, bodies
  // gone give back
  const spillFloor = spill?.floorBytes ?? 0;
  const spillFree = spill ? (spill.freeBytes ?? (() => freeBytesOf(spill.dir))) : undefined;
  let diskLimit = Infinity;
  let diskReadAt = -Infinity;
  const readDisk = (force: boolean) => {
    if (!spillFree) return;
    const t = Date.now();
    if (!force && t - diskReadAt < SPILL_DISK_READ_MS) return;
    diskReadAt = t;
    try {
      diskLimit = bytesHeld + Math.floor(Math.max(0, spillFree() - spillFloor) / 2);
    } catch {
      // unreadable now: the last reading stands (a write that fails is refused anyway)
    }
  };
  const entries = new Set<Entry>();
  const uploads = new Map<string, Upload>();
  let bytesHeld = 0;
  let peakBytes = 0;
  // spilling: the memory of bodies read back to be stored, in turn (FIFO), one always let in
  let memoryHeld = 0;
  let peakMemory = 0;
  const memoryWaiting: { entry: Entry; bytes: number; wake: () => void }[] = [];
  const grantMemory = (entry: Entry, bytes: number) => {
    entry.memory = bytes;
    memoryHeld += bytes;
    peakMemory = Math.max(peakMemory, memoryHeld);
  };
  const memoryFits = (bytes: number) => memoryHeld === 0 || memoryHeld + bytes <= maxBytes;
  const takeMemory = (entry: Entry, bytes: number): Promise<void> => {
    if (memoryWaiting.length === 0 && memoryFits(bytes)) {
      grantMemory(entry, bytes);
      return Promise.resolve();
    }
    return new Promise((wake) => memoryWaiting.push({ entry, bytes, wake }));
  };
  const giveMemory = (entry: Entry) => {
    const waiting = memoryWaiting.findIndex((w) => w.entry === entry);
    if (waiting >= 0) memoryWaiting.splice(waiting, 1)[0]!.wake();
    memoryHeld -= entry.memory;
    entry.memory = 0;
    while (memoryWaiting.length > 0 && memoryFits(memoryWaiting[0]!.bytes)) {
      const next = memoryWaiting.shift()!;
      grantMemory(next.entry, next.bytes);
      next.wake();
    }
  };

  const count = (entry: Entry, bytes: number) => {
    entry.bytes += bytes;
    entry.upload.bytes += bytes;
    bytesHeld += bytes;
    peakBytes = Math.max(peakBytes, bytesHeld);
  };
  /** gives back what an arriving body counts (its bytes on their way; not its place) */
  const uncount = (entry: Entry) => {
    bytesHeld -= entry.bytes;
    entry.upload.bytes -= entry.bytes;
    entry.bytes = 0;
  };
  const forget = (entry: Entry) => {
    if (entry.done) return;
    entry.done = true;
    entries.delete(entry);
    uncount(entry);
    giveMemory(entry);
    entry.upload.requests--;
    if (entry.upload.requests === 0) uploads.delete(entry.id);
  };
  const cut = (entry: Entry, reason: RefusalError) => {
    entry.cut = reason;
    forget(entry);
    entry.onCut?.();
  };

  /**
   * The body to cut to make room, if one is below its due (its recent rate under
   * slowBytesPerSecond, or under bytes held / holdSeconds once it has been sending for longer than
   * holdSeconds, or silent for graceMs): the one furthest
   * below it, in bytes a second (a silent one counts as sending nothing); `within`: of this upload only.
   */
  const slowest = (within?: Upload): Entry | undefined => {
    const t = now();
    let pick: Entry | undefined;
    let pickShortfall = 0;
    for (const entry of entries) {
      if (!entry.reading || entry.cut || (within && entry.upload !== within)) continue;
      if (t - entry.start < graceMs) continue;
      const silent = t - entry.last >= graceMs;
      const rate = silent ? 0 : ((entry.received - entry.prevReceived) * 1000) / Math.max(1, t - entry.prevT);
      // the hold rule only for a body older than holdSeconds: a younger one may be an honest slow link
      const old = t - entry.start > holdSeconds * 1000;
      const due = old ? Math.max(slowBytesPerSecond, entry.bytes / holdSeconds) : slowBytesPerSecond;
      if (rate >= due) continue;
      const shortfall = due - rate;
      if (!pick || shortfall > pickShortfall) {
        pick = entry;
        pickShortfall = shortfall;
      }
    }
    return pick;
  };

  /** Bytes the bodies on their way but `entry` still announce (their lengths less what they sent). */
  const announcedRest = (entry: Entry) => {
    let rest = 0;
    for (const other of entries) if (other !== entry && other.reading && !other.cut) rest += other.length - other.bytes;
    return rest;
  };

  /** Room for `bytes` more of `entry`'s body, cutting slow others if need be; throws when there is none. */
  const makeRoom = (entry: Entry, bytes: number, small: boolean) => {
    readDisk(false);
    // on disk the small reserve comes out of the disk's room, never on top of it (on top, small
    // bodies re-read each second took a disk 31.4 MiB below its 48 MiB floor, helper-82)
    const disk = small ? diskLimit : diskLimit - smallReserveBytes;
    const limit = Math.min(arrivingBytes + (small ? smallReserveBytes : 0), disk);
    for (;;) {
      const alone = bytesHeld === entry.bytes;
      const processFull = !alone && bytesHeld + bytes > limit;
      // spilling, a body's first bytes when the disk cannot take what the bodies on their way
      // announce and this one too: refused now, not megabytes later (a page's second chunk on a
      // disk with room for one was refused after 3.5 MiB, and on a slow link the page gave up)
      const diskShort = spill !== undefined && !alone && entry.bytes === 0 && bytesHeld + announcedRest(entry) + entry.length > disk;
      const uploadFull = entry.upload.bytes !== entry.bytes && entry.upload.bytes + bytes > perUploadBytes;
      if (!processFull && !diskShort && !uploadFull) return;
      const whole = processFull || diskShort;
      const victim = slowest(whole ? undefined : entry.upload);
      if (!victim || victim === entry) throw whole ? busy() : tooManyOfThisUpload();
      cut(victim, busy());
    }
  };

  return {
    enter(id, length, onFlowing) {
      let upload = uploads.get(id);
      if (upload && upload.requests >= perUploadRequests) {
        const victim = slowest(upload);
        if (!victim) throw tooManyOfThisUpload();
        cut(victim, busy());
      }
      if (entries.size >= maxRequests) {
        const victim = slowest();
        if (!victim) throw busy();
        cut(victim, busy());
      }
      upload = uploads.get(id) ?? { bytes: 0, requests: 0 };
      uploads.set(id, upload);
      upload.requests++;
      const t = now();
      const entry: Entry = {
        id, upload, length, bytes: 0, memory: 0, received: 0, start: t, last: t, markT: t, markReceived: 0, prevT: t, prevReceived: 0, flowT: t, flowReceived: 0,
        reading: false, done: false,
      };
      entries.add(entry);
      let released = false;
      let fromNode: Uint8Array[] | undefined;

      return {
        async read(request, incoming) {
          const tooLong = () => refusal(413, 'chunk_too_large', `This chunk must be exactly ${length} bytes.`);
          const tooShort = (got: number) => refusal(400, 'wrong_chunk_size', `This chunk must be exactly ${length} bytes. Got ${got}.`);
          const declared = declaredLength(request);
          if (declared !== undefined && declared > length) throw tooLong();
          if (declared !== undefined && declared < length) throw tooShort(declared);
          const reader = incoming ? nodeBodyReader(incoming) : request.body?.getReader();
          if (!reader) {
            if (length === 0) return [];
            throw tooShort(0);
          }
          entry.reading = true;
          entry.start = entry.last = entry.markT = entry.prevT = entry.flowT = now();
          let wake: (() => void) | undefined;
          const stopped = new Promise<void>((resolve) => (wake = resolve));
          entry.onCut = () => wake?.();
          let idle: ReturnType<typeof setTimeout> | undefined;
          const armIdle = () => {
            clearTimeout(idle);
            idle = setTimeout(() => cut(entry, refusal(408, 'chunk_stalled', `No part of this chunk arrived for ${Math.round(idleMs / 1000)} s; send it again.`)), idleMs);
          };
          const pieces: Uint8Array[] = [];
          let file: SpillFile | undefined;
          const onDisk = async (write: () => Promise<unknown>) => {
            // a full disk, too many files open: the page sends the chunk again after a back-off,
            // and the disk is read again at once, so the next bodies make room by the rules
            await write().catch(() => {
              readDisk(true);
              throw entry.cut ?? busy();
            });
          };
          let filled = 0;
          // the first report waits for this many bytes only, not for flowMarkMs
          const firstMark = Math.max(1, Math.min(length, firstFlowBytes));
          let shown = false;
          try {
            if (spill) await onDisk(async () => (file = await openSpillFile(spill.dir)));
            armIdle();
            for (;;) {
              const next = await Promise.race([reader.read(), stopped.then(() => undefined)]).catch(() => {
                throw refusal(400, 'body_aborted', 'The connection ended before the whole chunk arrived.');
              });
              if (entry.cut) throw entry.cut;
              if (!next || next.done) break;
              const piece = next.value;
              if (filled + piece.length > length) throw tooLong();
              const t = now();
              entry.last = t;
              if (t - entry.markT >= graceMs) {
                entry.prevT = entry.markT;
                entry.prevReceived = entry.markReceived;
                entry.markT = t;
                entry.markReceived = entry.received;
              }
              entry.received += piece.length;
              // (a body complete with this piece is about to be stored: its chunk shows it)
              if (t - entry.flowT >= flowMarkMs || (!shown && entry.received >= firstMark && entry.received < length)) {
                shown = true;
                onFlowing?.(entry.received - entry.flowReceived);
                entry.flowT = t;
                entry.flowReceived = entry.received;
              }
              armIdle();
              makeRoom(entry, piece.length, length <= SMALL_BODY_BYTES);
              count(entry, piece.length);
              if (file) await onDisk(() => file!.write(piece));
              else pieces.push(piece);
              filled += piece.length;
            }
            if (filled < length) throw tooShort(filled);
            if (file) {
              // whole: no longer cut for its pace; it waits its turn for memory, its disk bytes
              // counted until it has it and is read back
              entry.reading = false;
              clearTimeout(idle);
              await takeMemory(entry, length);
              const whole = await file.readAll().catch(() => {
                throw busy();
              });
              uncount(entry);
              // a buffer of our own: discard() may free it whatever the request was
              fromNode = [whole];
              return [whole];
            }
            if (incoming) fromNode = pieces;
          } catch (error) {
            // what arrived of a body cut on its way (or lost with its connection) still came; a
            // body of the wrong length is bad input, and its rest counts for nothing
            const wrongLength = error instanceof RefusalError && (error.code === 'chunk_too_large' || error.code === 'wrong_chunk_size');
            if (!wrongLength && entry.received > entry.flowReceived) onFlowing?.(entry.received - entry.flowReceived);
            entry.flowReceived = entry.received;
            await reader.cancel().catch(() => {});
            throw error;
          } finally {
            clearTimeout(idle);
            entry.reading = false;
            entry.onCut = undefined;
            await file?.close();
          }
          return pieces;
        },
        release() {
          if (released) return;
          released = true;
          forget(entry);
        },
        discard() {
          const pieces = fromNode;
          fromNode = undefined;
          if (pieces) for (const piece of pieces) freePiece(piece);
        },
      };
    },
    held: () => ({ bytes: bytesHeld, chunks: entries.size, peakBytes, memoryBytes: memoryHeld, peakMemoryBytes: peakMemory }),
    spillDir: spill?.dir,
    unreported(id) {
      let bytes = 0;
      for (const entry of entries) if (entry.id === id && entry.reading) bytes += entry.received - entry.flowReceived;
      return bytes;
    },
    close() {
      for (const entry of [...entries]) if (entry.reading) cut(entry, busy());
    },
  };
}

type Transferable = ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };

/** Detaches a piece's buffer (its memory freed now) when the piece is all of that buffer. */
function freePiece(piece: Uint8Array): void {
  const buffer = piece.buffer as Transferable;
  // a piece sharing its buffer with other bytes (Node's small-Buffer pool) is left to the GC
  if (typeof buffer.transfer !== 'function' || buffer instanceof SharedArrayBuffer) return;
  if (piece.byteOffset !== 0 || piece.byteLength !== buffer.byteLength || buffer.byteLength === 0) return;
  buffer.transfer(0);
}

/**
 * A reader over a Node request body, as `ReadableStream.getReader()` reads: each piece as Node's
 * HTTP parser made it (one Buffer of its own per piece, never joined nor copied), the stream
 * paused while a piece waits to be read (the socket is not read ahead: backpressure as before).
 * `read` rejects when the body ends before its end (the client went away); `cancel` stops
 * reading and leaves the rest of the body to whoever answers the request.
 */
export function nodeBodyReader(incoming: Readable): { read(): Promise<ReadableStreamReadResult<Uint8Array>>; cancel(): Promise<void> } {
  const pieces: Uint8Array[] = [];
  let ended = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (piece: Buffer) => {
    pieces.push(piece);
    incoming.pause();
    signal();
  };
  const onEnd = () => {
    ended = true;
    signal();
  };
  const onError = (error: Error) => {
    failed ??= error;
    signal();
  };
  // 'close' before 'end': the connection went away mid-body
  const onClose = () => {
    if (!ended) failed ??= new Error('the request body ended before its end');
    signal();
  };
  incoming.on('data', onData);
  incoming.once('end', onEnd);
  // stays on: an error after the body was read (the client went away) must not be unhandled
  incoming.on('error', onError);
  incoming.once('close', onClose);
  const detach = () => {
    incoming.off('data', onData);
    incoming.off('end', onEnd);
    incoming.off('close', onClose);
  };
  return {
    async read() {
      for (;;) {
        const piece = pieces.shift();
        if (piece) return { done: false, value: piece };
        if (failed) {
          detach();
          throw failed;
        }
        if (ended || incoming.readableEnded) {
          detach();
          return { done: true, value: undefined };
        }
        const woken = new Promise<void>((resolve) => (wake = resolve));
        incoming.resume();
        await woken;
      }
    },
    async cancel() {
      // left paused, unread: once the refusal is answered, node-server drains the rest of the
      // body (within its own limits) or closes the socket, as when the body was a web stream
      detach();
      pieces.length = 0;
      incoming.pause();
    },
  };
}
