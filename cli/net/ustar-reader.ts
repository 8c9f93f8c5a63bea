/**
 * @module a strict streaming reader for the bundle's ustar stream (what server/editor/ustar.ts
 * writes): regular files with plain names, checksums verified, bodies handed out piece by piece so
 * that no file is ever held whole in memory.
 */

const BLOCK = 512;

export class UstarReadError extends Error {
  override name = 'UstarReadError';
}

export interface UstarEntry {
  name: string;
  size: number;
}

/** Pulls bytes from an async iterable, with exact and bounded reads. */
class ByteQueue {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.pending.byteLength === 0 && !this.ended) {
      const { value, done } = await this.iterator.next();
      if (done) this.ended = true;
      else this.pending = value;
    }
    return this.pending.byteLength > 0;
  }

  /** Up to `max` bytes (at least one), or undefined at the end of the stream. */
  async readSome(max: number): Promise<Uint8Array | undefined> {
    if (!(await this.fill())) return undefined;
    const piece = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(piece.byteLength);
    return piece;
  }

  /** Exactly `n` bytes, or undefined when the stream ends first (a truncated archive). */
  async readExactly(n: number): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const piece = await this.readSome(n - filled);
      if (!piece) return undefined;
      out.set(piece, filled);
      filled += piece.byteLength;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

function field(block: Uint8Array, offset: number, length: number): string {
  const bytes = block.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return new TextDecoder('latin1').decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function octal(block: Uint8Array, offset: number, length: number, what: string): number {
  const text = field(block, offset, length).trim();
  if (!/^[0-7]{1,11}$/.test(text)) throw new UstarReadError(`the tar header's ${what} field is not an octal number`);
  return parseInt(text, 8);
}

function parseHeader(block: Uint8Array): UstarEntry {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (octal(block, 148, 8, 'checksum') !== sum) throw new UstarReadError('a tar header checksum does not match');
  if (field(block, 257, 6) !== 'ustar' || field(block, 263, 2) !== '00') {
    throw new UstarReadError('expected a ustar header (magic "ustar", version "00")');
  }
  const type = block[156];
  if (type !== 0x30 && type !== 0) {
    throw new UstarReadError(`expected only regular files in the bundle, got tar entry type ${JSON.stringify(String.fromCharCode(type ?? 0))}`);
  }
  if (field(block, 345, 155) !== '') throw new UstarReadError('expected no tar name prefix in the bundle');
  const name = field(block, 0, 100);
  return { name, size: octal(block, 124, 12, 'size') };
}

/**
 * Walks the archive: for each entry `onEntry(entry, body)` is called, where `body` yields the
 * entry's bytes in pieces and must be consumed completely before returning. Rejects a truncated
 * archive (no end marker), anything but regular files, and non-zero bytes after the end marker.
 */
export async function readUstar(
  source: AsyncIterable<Uint8Array>,
  onEntry: (entry: UstarEntry, body: AsyncIterable<Uint8Array>) => Promise<void>,
): Promise<void> {
  const queue = new ByteQueue(source);
  try {
    for (;;) {
      const block = await queue.readExactly(BLOCK);
      if (!block) throw new UstarReadError('the bundle ends in the middle (no end-of-archive marker): the download was cut short');
      if (block.every((byte) => byte === 0)) {
        const second = await queue.readExactly(BLOCK);
        if (!second || !second.every((byte) => byte === 0)) throw new UstarReadError('the bundle has a damaged end-of-archive marker');
        for (let rest = await queue.readSome(65536); rest; rest = await queue.readSome(65536)) {
          if (!rest.every((byte) => byte === 0)) throw new UstarReadError('the bundle has data after its end-of-archive marker');
        }
        return;
      }
      const entry = parseHeader(block);
      let remaining = entry.size;
      let consumed = false;
      const body = (async function* (): AsyncGenerator<Uint8Array> {
        while (remaining > 0) {
          const piece = await queue.readSome(Math.min(remaining, 1 << 20));
          if (!piece) throw new UstarReadError(`the bundle ends in the middle of ${entry.name}: the download was cut short`);
          remaining -= piece.byteLength;
          yield piece;
        }
        consumed = true;
      })();
      await onEntry(entry, body);
      if (!consumed) {
        // The callback refused the entry by throwing; an entry that was skipped silently is a bug.
        throw new UstarReadError(`the bundle entry ${entry.name} was not read to its end`);
      }
      const pad = (BLOCK - (entry.size % BLOCK)) % BLOCK;
      if (pad > 0 && !(await queue.readExactly(pad))) {
        throw new UstarReadError(`the bundle ends in the middle of ${entry.name}'s padding: the download was cut short`);
      }
    }
  } finally {
    await queue.close();
  }
}
