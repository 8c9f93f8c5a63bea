/**
 * @module server/source/spill-file — a chunk body's bytes on disk while they arrive, in a file
 * that has no name.
 *
 * Held in memory, arriving bodies made RAM the price of stalling uploads: about 25 kB/s per
 * process trickled into bodies kept the default 32 MiB gate full (issue 9). On disk the same hold
 * costs what the disk budget asks (server/source/chunk-gate.ts, `spill`).
 *
 * Each body gets its own unnamed file (Linux `O_TMPFILE`): no directory entry is made or removed,
 * so the folder's times and listing never change with uploads (what a seizer reads off the file
 * system: docs/OPERATIONS.md "What a seized server reveals"), and the file is gone when it is
 * closed, also when the process dies. Its bytes are the page's ciphertext, the same bytes the
 * database stores; the blocks it used are freed, not overwritten. A file system without unnamed
 * files (not Linux, or one that refuses them) is refused at start (`checkSpillDir`) rather than
 * falling back to named files, whose creation and removal would stamp the folder with the time of
 * every chunk.
 */
import { constants, promises as fs, readFileSync, realpathSync, statfsSync } from 'node:fs';

/** Linux's O_TMPFILE (with O_DIRECTORY, as open(2) defines it); Node does not export it. */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

export interface SpillFile {
  /** appends a piece (all of it) */
  write(piece: Uint8Array): Promise<void>;
  /** bytes written so far */
  readonly length: number;
  /** the whole file in one buffer of its own (safe to detach), exactly `length` bytes */
  readAll(): Promise<Uint8Array>;
  /** closes it: its bytes are gone with it; idempotent */
  close(): Promise<void>;
}

export async function openSpillFile(dir: string): Promise<SpillFile> {
  const handle = await fs.open(dir, O_TMPFILE | constants.O_RDWR, 0o600);
  let length = 0;
  let closed: Promise<void> | undefined;
  return {
    get length() {
      return length;
    },
    async write(piece) {
      for (let done = 0; done < piece.length; ) {
        const { bytesWritten } = await handle.write(piece, done, piece.length - done, length + done);
        if (bytesWritten <= 0) throw new Error('spill file: nothing written');
        done += bytesWritten;
      }
      length += piece.length;
    },
    async readAll() {
      // a buffer of its own (not from Node's small-buffer pool): the caller may detach it
      const buffer = new Uint8Array(new ArrayBuffer(length));
      for (let done = 0; done < length; ) {
        const { bytesRead } = await handle.read(buffer, done, length - done, done);
        if (bytesRead <= 0) throw new Error('spill file: shorter than written');
        done += bytesRead;
      }
      return buffer;
    },
    close() {
      closed ??= handle.close().catch(() => {});
      return closed;
    },
  };
}

/**
 * Bytes free to this process on the file system of `dir` (statfs), read at once: the chunk gate
 * decides synchronously (the storage watch's own reading, server/source/open-limits.ts, is the
 * same statfs, awaited on an open's path).
 */
export function freeBytesOf(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

/** statfs's f_type of the file systems that are memory: tmpfs (TMPFS_MAGIC), ramfs (RAMFS_MAGIC) */
const MEMORY_FILE_SYSTEMS = new Set([0x01021994, 0x858458f6]);
/** overlayfs (OVERLAYFS_SUPER_MAGIC): new files go to its upper layer, which may be memory */
const OVERLAY = 0x794c7630;

/**
 * Whether `dir` is on a file system held in memory (tmpfs, ramfs, or an overlay whose upper layer
 * is one: a live system such as Tails; helper-83 found that overlay undetected): bodies written
 * there take RAM outside CHUNK_MEMORY's bound, and in a container count against its memory limit,
 * which the file system's size does not show (tmpfs reports half the host's memory). `unknown`: an
 * overlay whose upper layer this process cannot see (a container's root, on the host's disk as a
 * rule).
 */
export function isInMemory(dir: string, mountinfo = '/proc/self/mountinfo'): boolean | 'unknown' {
  const type = Number(statfsSync(dir).type);
  if (MEMORY_FILE_SYSTEMS.has(type)) return true;
  if (type !== OVERLAY) return false;
  const upper = overlayUpperDir(realpathSync(dir), readFileSync(mountinfo, 'utf8'));
  // a relative upper path was the mounter's working folder's, not ours (helper-84)
  if (upper === undefined || !upper.startsWith('/')) return 'unknown';
  try {
    return MEMORY_FILE_SYSTEMS.has(Number(statfsSync(upper).type));
  } catch {
    return 'unknown';
  }
}

/** The upper layer of the overlay mount holding `path` (the longest mount point above it), from mountinfo's lines. */
export function overlayUpperDir(path: string, mountinfo: string): string | undefined {
  // mountinfo(5): ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPEROPTIONS; octal escapes
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  let best: { point: string; upper: string | undefined } | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const point = unescape(left.split(' ')[4] ?? '');
    const within = point === '/' || path === point || path.startsWith(`${point}/`);
    // the longest mount point above it; of one point mounted again, the last (on top)
    if (!within || (best && best.point.length > point.length)) continue;
    const [type, , superOptions = ''] = right.split(' ');
    const upper = type === 'overlay' ? /(?:^|,)upperdir=((?:\\,|[^,])*)/.exec(superOptions)?.[1] : undefined;
    best = { point, upper: upper === undefined ? undefined : unescape(upper.replace(/\\,/g, ',')) };
  }
  return best?.upper;
}

/** CHUNK_SPILL_DIR cannot be used: the message says why (names the folder, nothing else). */
export class SpillDirError extends Error {
  override name = 'SpillDirError';
}

/**
 * Checks at start that `dir` takes unnamed files that read back what was written; else throws
 * SpillDirError, its message naming the folder as `name` and `dir`.
 */
export async function checkSpillDir(dir: string, name = 'CHUNK_SPILL_DIR'): Promise<void> {
  let file: SpillFile;
  try {
    file = await openSpillFile(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' || code === 'ENOTDIR' ? 'is not a folder'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'is not writable by this process'
      : code === 'EISDIR' || code === 'EOPNOTSUPP' || code === 'EINVAL' ? "is on a file system without unnamed files (Linux O_TMPFILE: ext4, xfs, btrfs, tmpfs have them)"
      : `cannot be used (${code ?? 'unknown error'})`;
    throw new SpillDirError(`${name} ${dir} ${why}`);
  }
  try {
    const probe = new Uint8Array([0x53, 0x44]);
    await file.write(probe);
    const back = await file.readAll();
    if (back.length !== 2 || back[0] !== 0x53 || back[1] !== 0x44) throw new SpillDirError(`${name} ${dir} does not read back what was written`);
  } finally {
    await file.close();
  }
}
