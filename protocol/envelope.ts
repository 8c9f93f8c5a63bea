/**
 * @module protocol/envelope — the plaintext of a submission: a ustar archive of manifest.json,
 * message.txt, answers.txt (when the source answered questions) and files/<name>, then zeros up to
 * the PADMÉ length. One canonical form per content
 * (PROTOCOL.md, "Envelope"); the parser rejects every other byte sequence.
 */
import { BLOCK, checksum, FIELDS, isZero, octalField, roundUp, stringField, writeHeader, type Field } from './_tar.ts';
import { checkAnswers, renderAnswers, type Answer } from './answers.ts';
import { utf8Decode, utf8Encode } from './encoding.ts';
import { EnvelopeError } from './errors.ts';
import { fileNameKey, safeFileName } from './file-name.ts';
import { MAX_ANSWERS_BYTES, MAX_ENVELOPE_BYTES, MAX_FILES, MAX_MANIFEST_BYTES, MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './limits.ts';
import { paddedLength } from './padme.ts';

export { fileNameKey, safeFileName } from './file-name.ts';
export { ANSWER_ID, checkAnswers, NO_ANSWER, normalizeAnswerText, renderAnswers, type Answer } from './answers.ts';

export type ManifestFile = { name: string; path: string; type: string; size: number; stripped: boolean };
/**
 * `sourceKeyFingerprint`: the primary key fingerprint (lower-case hex, v4 40 / v6 64 digits) of the
 * source's reply key, as the page that made the tip holds it. Absent in envelopes of older pages.
 * The offline machine pins the source's key by it (PROTOCOL.md, "Envelope").
 * `answers`: the source's answers to the instance's questions, never empty when present (an
 * envelope without answers has no such key); answers.txt renders them (PROTOCOL.md, "Answers").
 */
export type Manifest = {
  version: number; language: string; message: { bytes: number }; files: ManifestFile[]; answers?: Answer[]; sourceKeyFingerprint?: string;
};
export type EnvelopeInput = {
  language: string;
  message: string;
  files: { name: string; type: string; bytes: Uint8Array; stripped: boolean }[];
  /** an empty list is no answers: the envelope is the one built without */
  answers?: Answer[];
  sourceKeyFingerprint?: string;
};
export type Envelope = {
  manifest: Manifest;
  message: string;
  files: { name: string; type: string; size: number; stripped: boolean; bytes: Uint8Array }[];
};

/** The manifest's `language`: a BCP 47 tag of this shape and at most MAX_LANGUAGE_CHARS characters. */
export const LANGUAGE_TAG = /^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;
export const MAX_LANGUAGE_CHARS = 35;
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$/;
const UNKNOWN_TYPE = 'application/octet-stream';
/** A primary key fingerprint as the manifest holds it: lower-case hex, v4 (40 digits) or v6 (64). */
export const KEY_FINGERPRINT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

const fail = (code: string, message: string): never => {
  throw new EnvelopeError(code, message);
};

/** True for a string that the manifest accepts as its `language`. */
export function isLanguageTag(value: unknown): value is string {
  return typeof value === 'string' && LANGUAGE_TAG.test(value) && value.length <= MAX_LANGUAGE_CHARS;
}

/**
 * Fixed key order, no white space: the only manifest text a parser accepts. `answers`, if any and
 * not empty, comes after `files`; `sourceKeyFingerprint`, if any, comes last.
 */
export function serializeManifest(m: Manifest): string {
  return JSON.stringify({
    version: m.version,
    language: m.language,
    message: { bytes: m.message.bytes },
    files: m.files.map((f) => ({ name: f.name, path: f.path, type: f.type, size: f.size, stripped: f.stripped })),
    ...(Array.isArray(m.answers) && m.answers.length > 0 ? { answers: m.answers.map((a) => ({ id: a.id, label: a.label, value: a.value })) } : {}),
    ...(m.sourceKeyFingerprint === undefined ? {} : { sourceKeyFingerprint: m.sourceKeyFingerprint }),
  });
}

/** Browser File.type as the manifest records it: lower case, or application/octet-stream. */
export function normalizeMediaType(type: string): string {
  const t = String(type ?? '').trim().toLowerCase();
  return MEDIA_TYPE.test(t) ? t : UNKNOWN_TYPE;
}

/** A file of the envelope by its size: its bytes come later, in order (envelopeStream). */
export type PlannedFile = { name: string; type: string; size: number; stripped: boolean };
export type EnvelopePlan = {
  manifest: Manifest;
  /** manifest.json, message.txt and answers.txt (none without answers), as they go into the archive */
  manifestBytes: Uint8Array;
  messageBytes: Uint8Array;
  answersBytes?: Uint8Array;
  /** the padded length: the envelope's exact size */
  length: number;
};

/**
 * Everything about an envelope but the files' bytes: the manifest (safe, unique names) and the
 * padded length, from the files' sizes alone. Throws EnvelopeError as buildEnvelope does.
 */
export function planEnvelope(
  { language, message, files, answers, sourceKeyFingerprint }:
  { language: string; message: string; files: PlannedFile[]; answers?: Answer[]; sourceKeyFingerprint?: string },
): EnvelopePlan {
  if (sourceKeyFingerprint !== undefined && (typeof sourceKeyFingerprint !== 'string' || !KEY_FINGERPRINT.test(sourceKeyFingerprint))) {
    fail('bad_fingerprint', `expected the source key's fingerprint as 40 or 64 lower-case hex digits, got ${typeof sourceKeyFingerprint === 'string' ? `${sourceKeyFingerprint.length} characters` : typeof sourceKeyFingerprint}`);
  }
  if (!isLanguageTag(language)) {
    fail('bad_language', `expected a BCP 47 language tag such as "ko" or "zh-Hans", got ${JSON.stringify(language)}`);
  }
  if (typeof message !== 'string') fail('bad_message', `expected the message as a string, got ${typeof message}`);
  const text = utf8Encode(message);
  if (text.length > MAX_MESSAGE_BYTES) fail('message_too_large', `expected a message of at most ${MAX_MESSAGE_BYTES} UTF-8 bytes, got ${text.length}`);
  if (!Array.isArray(files) || files.length > MAX_FILES) fail('too_many_files', `expected at most ${MAX_FILES} files, got ${files?.length}`);
  const checkedAnswers = answers === undefined ? [] : checkAnswers(answers);

  const taken = new Set<string>();
  const manifest: Manifest = { version: PROTOCOL_VERSION, language, message: { bytes: text.length }, files: [] };
  for (const f of files) {
    if (!Number.isSafeInteger(f.size) || f.size < 0) fail('bad_file', `expected a file size in bytes, got ${f.size}`);
    if (typeof f.stripped !== 'boolean') fail('bad_file', `expected "stripped" to be a boolean, got ${typeof f.stripped}`);
    const name = safeFileName(f.name, taken);
    manifest.files.push({ name, path: `files/${name}`, type: normalizeMediaType(f.type), size: f.size, stripped: f.stripped });
  }
  if (checkedAnswers.length > 0) manifest.answers = checkedAnswers;
  if (sourceKeyFingerprint !== undefined) manifest.sourceKeyFingerprint = sourceKeyFingerprint;
  const manifestBytes = utf8Encode(serializeManifest(manifest));
  if (manifestBytes.length > MAX_MANIFEST_BYTES) {
    // only answers can take a manifest this far: 64 files of the longest names fit several times over
    fail('answers_too_large', `expected a manifest.json of at most ${MAX_MANIFEST_BYTES} bytes, got ${manifestBytes.length} with these answers`);
  }
  const length = envelopeLength(manifest, manifestBytes.length);
  if (length > MAX_ENVELOPE_BYTES) fail('too_large', `expected a padded envelope of at most ${MAX_ENVELOPE_BYTES} bytes, got ${length}`);
  return {
    manifest, manifestBytes, messageBytes: text, length,
    ...(manifest.answers ? { answersBytes: utf8Encode(renderAnswers(manifest.answers)) } : {}),
  };
}

export async function buildEnvelope({ language, message, files, answers, sourceKeyFingerprint }: EnvelopeInput): Promise<Uint8Array> {
  for (const f of files ?? []) {
    if (!(f.bytes instanceof Uint8Array)) fail('bad_file', `expected file bytes as Uint8Array, got ${typeof f.bytes}`);
  }
  const plan = planEnvelope({
    language,
    message,
    files: Array.isArray(files) ? files.map((f) => ({ ...f, size: f.bytes.length })) : files,
    ...(answers === undefined ? {} : { answers }),
    ...(sourceKeyFingerprint === undefined ? {} : { sourceKeyFingerprint }),
  });
  const out = new Uint8Array(plan.length); // zero-filled: block padding, end marker and PADMÉ padding
  let o = 0;
  for (const e of entriesOf(plan, (i) => files[i]!.bytes)) {
    out.set(writeHeader(e.name, e.prefix, e.size), o);
    out.set(e.data, o + BLOCK);
    o += BLOCK + roundUp(e.size);
  }
  return out;
}

function entriesOf<T>(plan: EnvelopePlan, data: (file: number) => T) {
  return [
    { name: 'manifest.json', prefix: '', size: plan.manifestBytes.length, data: plan.manifestBytes as Uint8Array | T },
    { name: 'message.txt', prefix: '', size: plan.messageBytes.length, data: plan.messageBytes as Uint8Array | T },
    ...(plan.answersBytes ? [{ name: 'answers.txt', prefix: '', size: plan.answersBytes.length, data: plan.answersBytes as Uint8Array | T }] : []),
    ...plan.manifest.files.map((f, i) => ({ name: f.name, prefix: 'files', size: f.size, data: data(i) as Uint8Array | T })),
  ];
}

/** The bytes of one file, in order, in pieces of any size. */
export type FileBytes = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * The envelope of `plan` as a stream, in pieces of exactly `pieceBytes` (the last shorter: the
 * streamed encryption's framing rests on it, protocol/encrypt-stream). `files(i)` gives the bytes
 * of the plan's file i when its turn comes, so only one piece is held at a time; a file that
 * gives other than its planned size fails the stream (EnvelopeError `file_changed`).
 */
export function envelopeStream(plan: EnvelopePlan, files: (file: number) => FileBytes, pieceBytes: number): ReadableStream<Uint8Array> {
  async function* pieces(): AsyncGenerator<Uint8Array> {
    let piece = new Uint8Array(pieceBytes);
    let used = 0;
    let written = 0;
    // copies `bytes` (or `zeros` zero bytes) into pieces, handing each full one out
    async function* put(bytes: Uint8Array | undefined, zeros = 0): AsyncGenerator<Uint8Array> {
      let left = bytes ? bytes.length : zeros;
      let from = 0;
      while (left > 0) {
        const n = Math.min(left, pieceBytes - used);
        if (bytes) piece.set(bytes.subarray(from, from + n), used); // a new piece is zero-filled
        used += n;
        from += n;
        left -= n;
        written += n;
        if (used === pieceBytes) {
          yield piece;
          piece = new Uint8Array(pieceBytes);
          used = 0;
        }
      }
    }
    for (const e of entriesOf(plan, files)) {
      yield* put(writeHeader(e.name, e.prefix, e.size));
      let got = 0;
      for await (const part of e.data instanceof Uint8Array ? [e.data] : e.data) {
        if (!(part instanceof Uint8Array)) fail('bad_file', `expected file bytes as Uint8Array, got ${typeof part}`);
        got += part.length;
        if (got > e.size) break;
        yield* put(part);
      }
      if (got !== e.size) {
        fail('file_changed', `expected ${e.name} to be ${e.size} bytes as when it was chosen, got ${got > e.size ? 'more' : got}`);
      }
      yield* put(undefined, roundUp(e.size) - e.size);
    }
    // the end marker and the PADMÉ padding
    yield* put(undefined, plan.length - written);
    if (used > 0) yield piece.subarray(0, used);
  }
  const it = pieces();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await it.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        await it.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

const TYPEFLAGS: Record<string, string> = {
  '1': 'a hard link', '2': 'a symbolic link', '3': 'a character device', '4': 'a block device',
  '5': 'a directory', '6': 'a FIFO', '7': 'a contiguous file', x: 'a pax header', g: 'a pax global header',
  L: 'a GNU long name', K: 'a GNU long link name', '\0': 'an old-style (V7) entry',
};

function checkHeaderShape(header: Uint8Array, at: number): void {
  const stored = String.fromCharCode(...header.subarray(148, 156));
  const expected = checksum(header).toString(8).padStart(6, '0') + '\0 ';
  if (stored !== expected) fail('bad_checksum', `expected header checksum ${JSON.stringify(expected)} at offset ${at}, got ${JSON.stringify(stored)}`);
  const flag = String.fromCharCode(header[156]!);
  if (flag !== '0') fail('not_regular_file', `expected a regular file (typeflag "0") at offset ${at}, got ${TYPEFLAGS[flag] ?? `typeflag ${JSON.stringify(flag)}`}`);
}

function headerPath(header: Uint8Array, at: number): string {
  let name = '';
  let prefix = '';
  try {
    name = utf8Decode(stringField(header, 'name'));
    prefix = utf8Decode(stringField(header, 'prefix'));
  } catch {
    fail('bad_name', `expected a UTF-8 entry name at offset ${at}`);
  }
  const path = prefix === '' ? name : `${prefix}/${name}`;
  const parts = path.split('/');
  if (path.startsWith('/') || path.includes('\\') || parts.some((p) => p === '..' || p === '.' || p === '')) {
    fail('unsafe_path', `expected a relative path without "..", "." or empty parts at offset ${at}, got ${JSON.stringify(path)}`);
  }
  return path;
}

function firstDifferentField(a: Uint8Array, b: Uint8Array): Field {
  for (const [f, [offset, length]] of Object.entries(FIELDS) as [Field, readonly [number, number]][]) {
    for (let i = offset; i < offset + length; i++) if (a[i] !== b[i]) return f;
  }
  return 'pad';
}

/**
 * Reads manifest.json as parseEnvelope does: UTF-8 JSON in the canonical form (serializeManifest),
 * this protocol version, a language tag, counts, media types, safe, unique file names whose
 * paths are `files/<name>`, if present answers as checkAnswers wants them, and, if present, the
 * source key's fingerprint in lower-case hex. Throws EnvelopeError otherwise. For parsers that read an envelope
 * in pieces (the CLI's streaming writer).
 */
export function parseManifest(bytes: Uint8Array): Manifest {
  let text = '';
  let m: any; // JSON of unknown shape, checked field by field below
  try {
    text = utf8Decode(bytes);
    m = JSON.parse(text);
  } catch (e) {
    fail('bad_manifest', `expected manifest.json to be UTF-8 JSON, got: ${(e as Error).message}`);
  }
  const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail('bad_manifest', 'expected manifest.json to hold an object');
  if (m.version !== PROTOCOL_VERSION) fail('unsupported_version', `expected manifest version ${PROTOCOL_VERSION}, got ${JSON.stringify(m.version)}`);
  if (!isLanguageTag(m.language)) {
    fail('bad_manifest', `expected a BCP 47 language, got ${JSON.stringify(String(m.language).slice(0, 40))}`);
  }
  if (typeof m.message !== 'object' || m.message === null || !isCount(m.message.bytes)) fail('bad_manifest', 'expected message.bytes to be a byte count');
  if (!Array.isArray(m.files)) fail('bad_manifest', 'expected files to be an array');
  if (m.files.length > MAX_FILES) fail('too_many_files', `expected at most ${MAX_FILES} files, got ${m.files.length}`);
  for (const [i, f] of (m.files as any[]).entries()) {
    const ok = typeof f === 'object' && f !== null && typeof f.name === 'string' && typeof f.path === 'string' &&
      typeof f.type === 'string' && MEDIA_TYPE.test(f.type) && isCount(f.size) && typeof f.stripped === 'boolean';
    if (!ok) fail('bad_manifest', `expected files[${i}] = { name, path, type (media type), size, stripped }`);
  }
  // checkAnswers names what is wrong (bad_answer, duplicate_answer, …); an empty list is not the
  // canonical form of "no answers" (no key), which the check against serializeManifest refuses
  if ('answers' in m) checkAnswers(m.answers);
  if ('sourceKeyFingerprint' in m && (typeof m.sourceKeyFingerprint !== 'string' || !KEY_FINGERPRINT.test(m.sourceKeyFingerprint))) {
    fail('bad_manifest', 'expected sourceKeyFingerprint to be 40 or 64 lower-case hex digits');
  }
  if (serializeManifest(m) !== text) fail('non_canonical_manifest', 'expected the canonical manifest form (fixed key order, no white space, no other keys)');
  const manifest = m as Manifest;
  const keys = new Set<string>();
  for (const f of manifest.files) {
    if (safeFileName(f.name, new Set()) !== f.name) fail('unsafe_name', `expected a safe file name, got ${JSON.stringify(f.name.slice(0, 80))}${f.name.length > 80 ? '…' : ''}`);
    if (f.path !== `files/${f.name}`) fail('manifest_mismatch', `expected path "files/${f.name}", got ${JSON.stringify(f.path.slice(0, 120))}`);
    const key = fileNameKey(f.name);
    if (keys.has(key)) fail('duplicate_name', `expected unique file names (ignoring case), got ${JSON.stringify(f.name)} twice`);
    keys.add(key);
  }
  return manifest;
}

/** answers.txt of the envelope with this manifest, undefined for an envelope without answers. */
export function answersText(manifest: Manifest): Uint8Array | undefined {
  return manifest.answers && manifest.answers.length > 0 ? utf8Encode(renderAnswers(manifest.answers)) : undefined;
}

/** The padded length of the canonical envelope with this manifest (manifest.json `manifestBytes` long). */
export function envelopeLength(manifest: Manifest, manifestBytes: number): number {
  let tar = BLOCK + roundUp(manifestBytes) + BLOCK + roundUp(manifest.message.bytes);
  const answers = answersText(manifest);
  if (answers) tar += BLOCK + roundUp(answers.length);
  for (const f of manifest.files) tar += BLOCK + roundUp(f.size);
  return paddedLength(tar + 2 * BLOCK);
}

/** What entry `index` of the canonical envelope is: manifest.json, message.txt, answers.txt or file `file`. */
export type EnvelopeEntry = { path: string; role: 'manifest' | 'message' | 'answers' } | { path: string; role: 'file'; file: number };

/**
 * Entry `index` of the canonical envelope with this manifest (undefined until it is parsed: only
 * entry 0 is known then), or undefined where the end marker comes.
 */
export function envelopeEntry(manifest: Manifest | undefined, index: number): EnvelopeEntry | undefined {
  if (index === 0) return { path: 'manifest.json', role: 'manifest' };
  if (index === 1) return { path: 'message.txt', role: 'message' };
  if (!manifest) throw new RangeError(`expected the manifest before entry ${index}`);
  const answers = manifest.answers && manifest.answers.length > 0 ? 1 : 0;
  if (answers && index === 2) return { path: 'answers.txt', role: 'answers' };
  const file = index - 2 - answers;
  return file < manifest.files.length ? { path: manifest.files[file]!.path, role: 'file', file } : undefined;
}

/**
 * Checks the 512-byte `header` of entry `index` (envelopeEntry: 0 = manifest.json, 1 =
 * message.txt, then answers.txt if the manifest holds answers, then the manifest's files) found at
 * byte offset `at`, as parseEnvelope does: the end marker only after
 * every entry the manifest names; otherwise a regular file with the right checksum, the expected
 * path, a size within its limit (files: at most `maxFileBytes`), and a header equal to the
 * canonical one. Returns undefined for the end marker. `manifest` is undefined until parsed.
 * Sizes against the manifest are the caller's to check (parseEnvelope and the CLI check them at
 * different moments).
 */
export function checkEntryHeader(
  header: Uint8Array, index: number, manifest: Manifest | undefined, at: number, maxFileBytes: number,
): { path: string; size: number } | undefined {
  const i = index;
  const entry = envelopeEntry(manifest, i);
  const hasAnswers = manifest?.answers !== undefined && manifest.answers.length > 0;
  if (isZero(header)) {
    if (entry?.role === 'manifest' || entry?.role === 'message' || entry?.role === 'answers') {
      fail('missing_entry', `expected ${entry.path} at offset ${at}, got the end marker`);
    }
    if (entry) fail('manifest_mismatch', `expected ${2 + (hasAnswers ? 1 : 0) + manifest!.files.length} entries as the manifest says, got ${i}`);
    return undefined;
  }
  if (!entry) {
    const stray = !hasAnswers && String.fromCharCode(...stringField(header, 'name')) === 'answers.txt' && stringField(header, 'prefix').length === 0;
    fail('unexpected_entry', `expected the end marker after ${i} entries at offset ${at}, got ${stray ? '"answers.txt" while the manifest holds no answers' : 'another entry'}`);
  }
  checkHeaderShape(header, at);
  const path = headerPath(header, at);
  const expected = entry!.path;
  if (path !== expected) {
    if (path === 'answers.txt' && manifest && !hasAnswers) {
      fail('unexpected_entry', `expected entry ${i} to be ${JSON.stringify(expected)}, got "answers.txt" while the manifest holds no answers`);
    }
    const known = path === 'manifest.json' || path === 'message.txt' || (path === 'answers.txt' && hasAnswers) || manifest?.files.some((f) => f.path === path);
    fail(known ? 'wrong_order' : 'unexpected_entry', `expected entry ${i} to be ${JSON.stringify(expected)}, got ${JSON.stringify(path)}`);
  }
  const size = octalField(header, 'size');
  if (size === undefined) return fail('non_canonical_header', `expected an 11-digit octal size at offset ${at}`);
  const role = entry!.role;
  const max = role === 'manifest' ? MAX_MANIFEST_BYTES : role === 'message' ? MAX_MESSAGE_BYTES : role === 'answers' ? MAX_ANSWERS_BYTES : maxFileBytes;
  if (size > max) fail('too_large', `expected ${path} of at most ${max} bytes, got ${size}`);
  const [name, prefix] = role === 'file' ? [path.slice('files/'.length), 'files'] : [path, ''];
  const canonical = writeHeader(name, prefix, size);
  for (let j = 0; j < BLOCK; j++) {
    if (canonical[j] !== header[j]) fail('non_canonical_header', `expected the canonical header for ${JSON.stringify(path)} at offset ${at}, field "${firstDifferentField(canonical, header)}" differs`);
  }
  return { path, size };
}

/** Parses a padded envelope; throws EnvelopeError on anything but the canonical form. */
export async function parseEnvelope(bytes: Uint8Array): Promise<Envelope> {
  if (!(bytes instanceof Uint8Array)) return fail('not_bytes', `expected Uint8Array, got ${typeof bytes}`);
  if (bytes.length > MAX_ENVELOPE_BYTES) fail('too_large', `expected at most ${MAX_ENVELOPE_BYTES} bytes, got ${bytes.length}`);
  let manifest: Manifest | undefined;
  const entries: { path: string; data: Uint8Array }[] = [];
  const fileData: Uint8Array[] = [];
  let o = 0;
  for (let i = 0; ; i++) {
    if (o + BLOCK > bytes.length) fail('truncated', `expected a header or end marker at offset ${o}, got the end of the data`);
    const entry = checkEntryHeader(bytes.subarray(o, o + BLOCK), i, manifest, o, bytes.length);
    if (!entry) break;
    const { path, size } = entry;
    const start = o + BLOCK;
    const end = start + roundUp(size);
    if (end > bytes.length) fail('truncated', `expected ${size} bytes of ${path} at offset ${start}, got ${bytes.length - start}`);
    if (!isZero(bytes.subarray(start + size, end))) fail('non_zero_padding', `expected zeros after ${path} up to the block boundary`);
    const data = bytes.subarray(start, start + size);
    o = end;
    const role = envelopeEntry(manifest, i)!;
    if (role.role === 'manifest') {
      manifest = parseManifest(data);
    } else if (role.role === 'message') {
      checkEntrySize(manifest!, role, size);
    } else if (role.role === 'answers') {
      checkEntrySize(manifest!, role, size);
      checkAnswersText(manifest!, data);
    } else {
      checkEntrySize(manifest!, role, size);
      fileData.push(data);
    }
    entries.push({ path, data });
  }
  // `o` is at the first zero block of the end marker.
  if (o + 2 * BLOCK > bytes.length) fail('truncated', 'expected two zero blocks at the end of the archive, got the end of the data');
  const tarLength = o + 2 * BLOCK;
  if (bytes.length !== paddedLength(tarLength)) {
    fail('bad_padded_length', `expected ${paddedLength(tarLength)} bytes for a ${tarLength}-byte archive, got ${bytes.length}`);
  }
  if (!isZero(bytes.subarray(o))) fail('non_zero_padding', 'expected only zeros after the last entry');
  let message = '';
  try {
    message = utf8Decode(entries[1]!.data);
  } catch {
    fail('bad_message', 'expected message.txt to be valid UTF-8');
  }
  const m = manifest!;
  return {
    manifest: m,
    message,
    files: m.files.map((f, k) => ({ name: f.name, type: f.type, size: f.size, stripped: f.stripped, bytes: fileData[k]! })),
  };
}

/**
 * The size of message.txt, answers.txt or a file (entry `entry`, from envelopeEntry) against the
 * manifest, before its bytes are read; throws EnvelopeError `manifest_mismatch` (`answers_mismatch`
 * for answers.txt, whose bytes checkAnswersText then checks).
 */
export function checkEntrySize(manifest: Manifest, entry: EnvelopeEntry, size: number): void {
  if (entry.role === 'answers') {
    const expected = answersText(manifest)?.length ?? 0;
    if (size !== expected) fail('answers_mismatch', `expected answers.txt of ${expected} bytes, the rendering of the manifest's answers, got ${size}`);
    return;
  }
  const expected = entry.role === 'message' ? manifest.message.bytes : entry.role === 'file' ? manifest.files[entry.file]!.size : undefined;
  if (expected !== undefined && size !== expected) {
    fail('manifest_mismatch', `expected ${entry.path} of ${expected} bytes as the manifest says, got ${size}`);
  }
}

/** answers.txt must be the rendering of the manifest's answers, byte for byte; throws EnvelopeError `answers_mismatch`. */
export function checkAnswersText(manifest: Manifest, data: Uint8Array): void {
  const expected = answersText(manifest);
  if (!expected) return fail('answers_mismatch', 'expected no answers.txt, as the manifest holds no answers');
  let same = expected.length === data.length;
  for (let k = 0; same && k < data.length; k++) same = expected[k] === data[k];
  if (!same) fail('answers_mismatch', `expected answers.txt to be the rendering of the manifest's answers (${expected.length} bytes, PROTOCOL.md "Answers"), got ${data.length} bytes that differ`);
}
