/**
 * @module cli/envelope-stream — protocol's envelope rules (protocol/envelope.ts, parseEnvelope) applied
 * to a stream, writing the entries into a staging folder as they arrive. Memory stays bounded: only
 * headers, manifest.json (≤ MAX_MANIFEST_BYTES), message.txt (≤ MAX_MESSAGE_BYTES) and answers.txt
 * (≤ MAX_ANSWERS_BYTES) are held.
 *
 * parseEnvelope takes the whole envelope as one Uint8Array, which a 2 GiB submission cannot be; this
 * is the same grammar, byte for byte: canonical ustar headers (equal to protocol's writeHeader),
 * entries in manifest order, sizes agreeing with the manifest, answers.txt equal to the rendering
 * of the manifest's answers, zero block padding, the end marker,
 * then only zeros up to paddedLength(archive length). The differential test in
 * envelope-stream.test.ts feeds both parsers the same inputs.
 */

import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
// Straight from the modules, not protocol/index.ts: the barrel loads the codename word lists and
// more that `sealdrop decrypt` never uses (a tenth of its start-up).
import {
  checkAnswersText, checkEntryHeader, checkEntrySize, envelopeEntry, envelopeLength, parseManifest, safeFileName, type EnvelopeEntry, type Manifest,
} from '../protocol/envelope.ts';
import { EnvelopeError } from '../protocol/errors.ts';
import { MAX_ENVELOPE_BYTES } from '../protocol/limits.ts';
// The ustar primitives are protocol-internal; sharing them keeps one definition of a canonical header.
import { BLOCK, isZero, roundUp } from '../protocol/_tar.ts';

const fail = (code: string, message: string): never => {
  throw new EnvelopeError(code, message);
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface EnvelopeResult {
  manifest: Manifest;
  messageBytes: number;
  /** Names the files were written under in `files/` (equal to the manifest's, which are safe). */
  savedNames: string[];
  /** Bytes of the padded envelope. */
  totalBytes: number;
}

type State =
  | { kind: 'header' }
  | { kind: 'buffered'; entry: EnvelopeEntry; path: string; size: number; remaining: number; parts: Uint8Array[] }
  | { kind: 'file'; path: string; size: number; remaining: number; handle: FileHandle }
  | { kind: 'block-padding'; path: string; remaining: number }
  | { kind: 'trailer' };

/**
 * Feed it the decrypted bytes with `write`, then call `end`. Any rule broken throws EnvelopeError;
 * the caller then calls `abort` and deletes the staging folder.
 */
export class EnvelopeStreamWriter {
  private readonly dir: string;
  private state: State = { kind: 'header' };
  private headerBuffer = new Uint8Array(BLOCK);
  private headerFill = 0;
  private entryIndex = 0;
  private offset = 0; // bytes consumed so far
  private entryOffset = 0; // offset of the current header
  private manifest: Manifest | undefined;
  private expectedTotal: number | undefined;
  private endMarkerAt: number | undefined;
  private messageBytes = 0;
  private readonly savedNames: string[] = [];
  private readonly taken = new Set<string>();
  private filesDirMade = false;
  private openHandle: FileHandle | undefined;
  private pendingWrite: Promise<void> | undefined;

  constructor(stagingDir: string) {
    this.dir = stagingDir;
  }

  /** Bytes consumed so far. */
  get bytesWritten(): number {
    return this.offset;
  }

  /**
   * The bytes of a file entry may still be going to disk when this resolves (one write in flight,
   * while the caller decrypts the next chunk): `chunk` must not change until the next `write`, or
   * `end`, has resolved. A write that failed throws from the next `write` or `end`.
   */
  async write(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const limit = this.expectedTotal ?? MAX_ENVELOPE_BYTES;
      if (this.offset >= limit) {
        fail('bad_padded_length', `expected ${limit} bytes of envelope${this.expectedTotal === undefined ? ' at most' : ' as its manifest implies'}, got more`);
      }
      const state = this.state;
      switch (state.kind) {
        case 'header': {
          const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
          this.headerBuffer.set(chunk.subarray(at, at + n), this.headerFill);
          this.headerFill += n;
          at += n;
          this.offset += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            await this.onHeader(this.headerBuffer);
          }
          break;
        }
        case 'buffered':
        case 'file': {
          const n = Math.min(state.remaining, chunk.length - at);
          const part = chunk.subarray(at, at + n);
          if (state.kind === 'buffered') state.parts.push(part.slice());
          else await this.queueWrite(state.handle, part);
          at += n;
          this.offset += n;
          state.remaining -= n;
          if (state.remaining === 0) await this.onEntryData(state);
          break;
        }
        case 'block-padding': {
          const n = Math.min(state.remaining, chunk.length - at);
          if (!isZero(chunk.subarray(at, at + n))) fail('non_zero_padding', `expected zeros after ${state.path} up to the block boundary`);
          at += n;
          this.offset += n;
          state.remaining -= n;
          if (state.remaining === 0) this.state = { kind: 'header' };
          break;
        }
        case 'trailer': {
          const limitLeft = limit - this.offset;
          const n = Math.min(limitLeft, chunk.length - at);
          if (!isZero(chunk.subarray(at, at + n))) fail('non_zero_padding', 'expected only zeros after the last entry');
          at += n;
          this.offset += n;
          break;
        }
      }
    }
  }

  /** Call when the stream ended: checks the end marker and the padded length. */
  async end(): Promise<EnvelopeResult> {
    const state = this.state;
    if (state.kind !== 'trailer') {
      const where = state.kind === 'header'
        ? `a header or end marker at offset ${this.offset - this.headerFill}`
        : state.kind === 'block-padding' ? `the zeros after ${state.path} up to the block boundary` : `the rest of ${state.path}`;
      fail('truncated', `expected ${where}, got the end of the data`);
    }
    const tarLength = this.endMarkerAt! + 2 * BLOCK;
    if (this.offset < tarLength) fail('truncated', 'expected two zero blocks at the end of the archive, got the end of the data');
    if (this.offset !== this.expectedTotal) {
      fail('bad_padded_length', `expected ${this.expectedTotal} bytes for a ${tarLength}-byte archive, got ${this.offset}`);
    }
    return { manifest: this.manifest!, messageBytes: this.messageBytes, savedNames: [...this.savedNames], totalBytes: this.offset };
  }

  /** Closes a file left open by a failure. Never throws. */
  async abort(): Promise<void> {
    await this.flushWrite().catch(() => undefined);
    const handle = this.openHandle;
    this.openHandle = undefined;
    if (handle) await handle.close().catch(() => undefined);
  }

  private async onHeader(header: Uint8Array): Promise<void> {
    const i = this.entryIndex;
    const at = this.offset - BLOCK;
    this.entryOffset = at;
    const manifest = this.manifest;
    const entry = checkEntryHeader(header, i, manifest, at, MAX_ENVELOPE_BYTES);
    if (!entry) {
      this.endMarkerAt = at;
      this.state = { kind: 'trailer' };
      return;
    }
    const { path, size } = entry;
    const role = envelopeEntry(manifest, i)!;
    if (role.role !== 'manifest') checkEntrySize(manifest!, role, size);
    this.entryIndex = i + 1;
    if (role.role === 'file') {
      const handle = await this.openEntryFile(manifest!.files[role.file]!.name);
      this.state = { kind: 'file', path, size, remaining: size, handle };
    } else {
      this.state = { kind: 'buffered', entry: role, path, size, remaining: size, parts: [] };
    }
    if (size === 0) await this.onEntryData(this.state as Extract<State, { kind: 'buffered' | 'file' }>);
  }

  private async onEntryData(state: Extract<State, { kind: 'buffered' | 'file' }>): Promise<void> {
    if (state.kind === 'buffered') {
      const data = concat(state.parts, state.size);
      if (state.entry.role === 'answers') {
        checkAnswersText(this.manifest!, data);
        await writeFile(join(this.dir, 'answers.txt'), data, { flag: 'wx', mode: 0o600 });
      } else if (state.entry.role === 'manifest') {
        this.manifest = parseManifest(data);
        // From here on the exact length is known: a stream that runs past it (a compression bomb,
        // trailing junk) is stopped at once instead of at the end.
        this.expectedTotal = envelopeLength(this.manifest, data.length);
        if (this.expectedTotal > MAX_ENVELOPE_BYTES) {
          fail('too_large', `expected a padded envelope of at most ${MAX_ENVELOPE_BYTES} bytes, the manifest implies ${this.expectedTotal}`);
        }
        await writeFile(join(this.dir, 'manifest.json'), data, { flag: 'wx', mode: 0o600 });
      } else {
        try {
          utf8.decode(data);
        } catch {
          fail('bad_message', 'expected message.txt to be valid UTF-8');
        }
        this.messageBytes = data.length;
        await writeFile(join(this.dir, 'message.txt'), data, { flag: 'wx', mode: 0o600 });
      }
    } else {
      await this.flushWrite();
      this.openHandle = undefined;
      await state.handle.close();
    }
    const padding = roundUp(state.size) - state.size;
    this.state = padding > 0 ? { kind: 'block-padding', path: state.path, remaining: padding } : { kind: 'header' };
  }

  /** Starts writing `bytes` once the previous write is done, without waiting for this one. */
  private async queueWrite(handle: FileHandle, bytes: Uint8Array): Promise<void> {
    await this.flushWrite();
    const writing = writeAll(handle, bytes);
    writing.catch(() => undefined); // awaited by the next flushWrite; never left to reject unheard
    this.pendingWrite = writing;
  }

  /** Waits for the write in flight; throws its error. */
  private async flushWrite(): Promise<void> {
    const writing = this.pendingWrite;
    this.pendingWrite = undefined;
    if (writing) await writing;
  }

  private async openEntryFile(name: string): Promise<FileHandle> {
    if (!this.filesDirMade) {
      await mkdir(join(this.dir, 'files'), { mode: 0o700 });
      this.filesDirMade = true;
    }
    // The manifest's names already passed safeFileName; sanitising again costs nothing and keeps
    // this writer safe on its own. 'wx' (O_EXCL | O_CREAT) never follows or replaces anything.
    const safe = safeFileName(name, this.taken);
    const handle = await open(join(this.dir, 'files', safe), 'wx', 0o600);
    this.openHandle = handle;
    this.savedNames.push(safe);
    return handle;
  }
}




function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let o = 0;
  while (o < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, o, bytes.length - o);
    o += bytesWritten;
  }
}
